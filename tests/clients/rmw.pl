#!/usr/bin/perl
# Read-modify-write workload through Perl DBI + DBD::SQLite, with the driver's defaults.
#
# Usage: rmw.pl DB N [HOLD_MS [WRITER_ID]]
#
# Runs N transactions of
#   BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
#   UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
# the way a typical Perl program writes them: BEGIN/COMMIT with $dbh->do (DBD::SQLite runs a
# do() without bind values through sqlite3_exec), the SELECT/UPDATE/INSERT as prepared
# statements with bind values. Nothing is tuned: DBD::SQLite opens with sqlite3_open and sets
# its own busy timeout (30000 ms); a plain deferred BEGIN is sent (not begin_work, which
# DBD::SQLite would already turn into BEGIN IMMEDIATE).
# A failed transaction is rolled back and counted; errors containing "database is locked" are
# counted separately. The only stdout line is `ok=N failed=M locked=L`.
use strict;
use warnings;
use DBI;
use Time::HiRes qw(usleep);

if (@ARGV < 2) {
    print STDERR "usage: rmw.pl DB N [HOLD_MS [WRITER_ID]]\n";
    exit 2;
}
my ($db, $n, $hold, $writer) = @ARGV;
$hold   //= 0;
$writer //= 0;

my $dbh = DBI->connect("dbi:SQLite:dbname=$db", "", "",
                       { RaiseError => 1, PrintError => 0, AutoCommit => 1 })
    or die "rmw.pl: connect $db: $DBI::errstr\n";

my ($ok, $failed, $locked) = (0, 0, 0);
for my $i (0 .. $n - 1) {
    my $done = eval {
        $dbh->do("BEGIN");
        my $sel = $dbh->prepare("SELECT v FROM counter WHERE id=1");
        $sel->execute;
        my ($v) = $sel->fetchrow_array;
        $sel->finish;
        die "no counter row\n" unless defined $v;
        usleep($hold * 1000) if $hold;
        my $upd = $dbh->prepare("UPDATE counter SET v=? WHERE id=1");
        $upd->execute($v + 1);
        my $ins = $dbh->prepare("INSERT INTO log(writer, i) VALUES(?, ?)");
        $ins->execute($writer, $i);
        $dbh->do("COMMIT");
        1;
    };
    if ($done) {
        $ok++;
        next;
    }
    my $err = $@ || "unknown error";
    $failed++;
    $locked++ if $err =~ /database is locked/;
    print STDERR "rmw.pl: transaction $i failed: $err" if $ENV{RMW_VERBOSE};
    # End the transaction the failure left open; "no transaction is active" means there was none.
    eval { $dbh->do("ROLLBACK"); 1 }
        or ($@ =~ /no transaction is active/)
        or print STDERR "rmw.pl: rollback failed: $@";
}
$dbh->disconnect;
print "ok=$ok failed=$failed locked=$locked\n";
exit 0;

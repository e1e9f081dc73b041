#!/usr/bin/tclsh
# Read-modify-write workload through Tcl's sqlite3 package, with its defaults.
#
# Usage: rmw.tcl DB N [HOLD_MS [WRITER_ID]]
#
# Runs N transactions of
#   BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
#   UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
# through `db eval` / `db onecolumn` (the package prepares with sqlite3_prepare_v3 and binds the
# Tcl variables $nv, $writer, $i). Nothing is tuned: no `db timeout` (so 0), a plain deferred
# BEGIN. A failed transaction is rolled back and counted; errors containing "database is locked"
# are counted separately. The only stdout line is `ok=N failed=M locked=L`.
package require sqlite3

if {[llength $argv] < 2} {
    puts stderr "usage: rmw.tcl DB N \[HOLD_MS \[WRITER_ID\]\]"
    exit 2
}
set path [lindex $argv 0]
set n [lindex $argv 1]
set hold [expr {[llength $argv] > 2 ? [lindex $argv 2] : 0}]
set writer [expr {[llength $argv] > 3 ? [lindex $argv 3] : 0}]

sqlite3 db $path
set ok 0
set failed 0
set locked 0
for {set i 0} {$i < $n} {incr i} {
    set rc [catch {
        db eval {BEGIN}
        set v [db onecolumn {SELECT v FROM counter WHERE id=1}]
        if {$v eq ""} { error "no counter row" }
        if {$hold > 0} { after $hold }
        set nv [expr {$v + 1}]
        db eval {UPDATE counter SET v=$nv WHERE id=1}
        db eval {INSERT INTO log(writer, i) VALUES($writer, $i)}
        db eval {COMMIT}
    } err]
    if {$rc == 0} {
        incr ok
        continue
    }
    incr failed
    if {[string match "*database is locked*" $err]} { incr locked }
    if {[info exists ::env(RMW_VERBOSE)]} { puts stderr "rmw.tcl: transaction $i failed: $err" }
    # End the transaction the failure left open (the package has no autocommit query in
    # 3.40): "no transaction is active" means there was none.
    if {[catch {db eval {ROLLBACK}} err2] && ![string match "*no transaction is active*" $err2]} {
        puts stderr "rmw.tcl: rollback failed: $err2"
    }
}
db close
puts "ok=$ok failed=$failed locked=$locked"

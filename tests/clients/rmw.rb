#!/usr/bin/ruby
# Read-modify-write workload through the Ruby sqlite3 gem, with its defaults.
#
# Usage: rmw.rb DB N [HOLD_MS [WRITER_ID]]
#
# Runs N transactions of
#   BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
#   UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
# with Database#execute / #get_first_value (each statement prepared with sqlite3_prepare_v2),
# bind values for the UPDATE and INSERT. Nothing is tuned: the gem sets no busy timeout (so 0)
# and the BEGIN is a plain deferred one, as Database#transaction would send by default.
# A failed transaction is rolled back and counted; errors containing "database is locked" are
# counted separately. The only stdout line is `ok=N failed=M locked=L`.
require "sqlite3"

if ARGV.length < 2
  warn "usage: rmw.rb DB N [HOLD_MS [WRITER_ID]]"
  exit 2
end
path = ARGV[0]
n = Integer(ARGV[1])
hold = ARGV.length > 2 ? Integer(ARGV[2]) : 0
writer = ARGV.length > 3 ? Integer(ARGV[3]) : 0

db = SQLite3::Database.new(path)
ok = failed = locked = 0
n.times do |i|
  begin
    db.execute("BEGIN")
    v = db.get_first_value("SELECT v FROM counter WHERE id=1")
    raise "no counter row" if v.nil?
    sleep(hold / 1000.0) if hold > 0
    db.execute("UPDATE counter SET v=? WHERE id=1", [v + 1])
    db.execute("INSERT INTO log(writer, i) VALUES(?, ?)", [writer, i])
    db.execute("COMMIT")
    ok += 1
  rescue SQLite3::Exception, RuntimeError => e
    failed += 1
    locked += 1 if e.message.include?("database is locked")
    warn "rmw.rb: transaction #{i} failed: #{e.class}: #{e.message}" if ENV["RMW_VERBOSE"]
    if db.transaction_active?
      begin
        db.execute("ROLLBACK")
      rescue SQLite3::Exception => e2
        warn "rmw.rb: rollback failed: #{e2.message}"
      end
    end
  end
end
db.close
puts "ok=#{ok} failed=#{failed} locked=#{locked}"

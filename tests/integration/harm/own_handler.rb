# A program with its own busy handler that answers "give up" at once: SQLite calls it once, and
# the statement fails. Prints how often it was called and how long the statement took.
require 'sqlite3'
db = SQLite3::Database.new(ARGV[0])
calls = 0
db.busy_handler { |_count| calls += 1; false }
t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
result = 'ok'
begin
  db.execute('INSERT INTO log(writer, i) VALUES (3, 0)')
rescue SQLite3::BusyException => e
  result = 'busy'
end
took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t
puts format('result=%s calls=%d took_s=%.3f', result, calls, took)

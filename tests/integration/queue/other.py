"""Single autocommit INSERTs (writer 2) for RUN_S seconds.
  argv: DB RUN_S
Prints `ok=N worst_s=S`.
"""
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
stop = time.monotonic() + float(sys.argv[2])
n = 0; worst = 0.0
while time.monotonic() < stop:
    t = time.monotonic()
    c.execute('INSERT INTO log(writer, i) VALUES(2, ?)', (n,))
    worst = max(worst, time.monotonic() - t); n += 1
print('ok=%d worst_s=%.3f' % (n, worst))

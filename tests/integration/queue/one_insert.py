"""One autocommit INSERT (writer 2) with a 0.1 s timeout of the program's own.
  argv: DB
Prints `result=ok` or `result=<error, spaces as _>` and `took_s=S`.
"""
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0.1)
t = time.monotonic()
try:
    con.execute('INSERT INTO log(writer, i) VALUES(2, 1)')
    print('result=ok')
except sqlite3.Error as e:
    print('result=%s' % str(e).replace(' ', '_'))
print('took_s=%.3f' % (time.monotonic() - t))
con.close()

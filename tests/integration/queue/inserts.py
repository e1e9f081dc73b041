"""N autocommit INSERTs (writer 3) with a 0.1 s timeout of the program's own.
  argv: DB N
Prints `started`, then `ok=N failed=M end=T worst=S`.
"""
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db, isolation_level=None, timeout=0.1)
print('started', flush=True)
ok = failed = 0
worst = 0.0
for i in range(n):
    t = time.monotonic()
    try:
        con.execute('INSERT INTO log(writer, i) VALUES(3, ?)', (i,))
        con.execute('UPDATE counter SET v=v+1 WHERE id=1')
        ok += 1
    except sqlite3.Error as e:
        failed += 1
        sys.stderr.write('C: %s\n' % e)
    worst = max(worst, time.monotonic() - t)
print('ok=%d failed=%d end=%.6f worst=%.3f' % (ok, failed, time.time(), worst))
con.close()

"""Hold the write lock (and, under lockfix, the queue's turn) until GO exists (20 s at most),
commit, then sleep SLEEP_S with the connection open and no transaction.
  argv: DB GO SLEEP_S
Prints `holding`, `idle=T` after the commit and `woke=T`.
"""
import os, sqlite3, sys, time
db, go, sleep_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
con = sqlite3.connect(db, isolation_level=None)
con.execute('BEGIN IMMEDIATE')
con.execute('INSERT INTO log(writer, i) VALUES(1, 1)')
con.execute('UPDATE counter SET v=v+1 WHERE id=1')
print('holding', flush=True)
end = time.monotonic() + 20
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.002)
con.execute('COMMIT')
print('idle=%.6f' % time.time(), flush=True)
time.sleep(sleep_s)
print('woke=%.6f' % time.time(), flush=True)
con.close()

"""A program without the shim: holds the write lock (BEGIN IMMEDIATE) for SECONDS, then rolls
back.
  argv: DB SECONDS
Prints `locked` once it holds the lock and `released=T`.
"""
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute('BEGIN IMMEDIATE')
con.execute('UPDATE counter SET v=v WHERE id=1')
print('locked', flush=True)
time.sleep(float(sys.argv[2]))
released = time.time()
con.execute('ROLLBACK')
print('released=%.6f' % released, flush=True)
con.close()

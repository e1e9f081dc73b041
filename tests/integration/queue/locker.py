"""A program without the shim: holds the write lock (BEGIN IMMEDIATE) until GO_FILE exists (at
most 60 s), then SECONDS more, then rolls back.
  argv: DB SECONDS GO_FILE
Prints `locked` once it holds the lock and `released=T`.
"""
import os, sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute('BEGIN IMMEDIATE')
con.execute('UPDATE counter SET v=v WHERE id=1')
print('locked', flush=True)
give_up = time.monotonic() + 60
while not os.path.exists(sys.argv[3]) and time.monotonic() < give_up:
    time.sleep(0.005)
time.sleep(float(sys.argv[2]))
released = time.time()
con.execute('ROLLBACK')
print('released=%.6f' % released, flush=True)
con.close()

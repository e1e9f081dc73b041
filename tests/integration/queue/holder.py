"""Hold the write lock (and, under lockfix, the queue's turn) for SECONDS, then commit.
  argv: DB SECONDS
Prints `holding` once it holds the lock and `committed` at the end.
"""
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute('BEGIN IMMEDIATE')
con.execute('INSERT INTO log(writer, i) VALUES(1, 1)')
con.execute('UPDATE counter SET v=v+1 WHERE id=1')
print('holding', flush=True)
time.sleep(float(sys.argv[2]))
con.execute('COMMIT')
print('committed', flush=True)
con.close()

"""Hold the write lock (and, under lockfix, the queue's turn) until FLAG exists or 40 s pass.
A third argument, EXCLUSIVE, takes SQLite's exclusive lock: in rollback-journal mode no other
connection can then even read the schema."""
import os
import sqlite3
import sys
import time

db, flag = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db, isolation_level=None)
con.execute("BEGIN EXCLUSIVE" if sys.argv[3:] == ["EXCLUSIVE"] else "BEGIN IMMEDIATE")
con.execute("UPDATE counter SET v = v + 1 WHERE id = 1")
print("holding", flush=True)
end = time.time() + 40
while not os.path.exists(flag) and time.time() < end:
    time.sleep(0.01)
con.execute("ROLLBACK")

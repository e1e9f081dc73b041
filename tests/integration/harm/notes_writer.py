"""One process of the FTS5 notes workload: N transactions, each reading before it writes.

usage: notes_writer.py DB N MODE
  MODE "explicit": BEGIN; SELECT; INSERT notes; INSERT into the FTS5 index; UPDATE stats; COMMIT
                  (isolation_level=None: the deferred transaction reads, then must upgrade)
  MODE "default":  the same statements with python's default transaction handling, which sends
                  BEGIN right before the first INSERT (the issue's report: this deadlocked)
Prints one line: ok=N failed=M locked=L
"""
import os
import sqlite3
import sys

db, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db, isolation_level=None if mode == "explicit" else "")
ok = failed = locked = 0
for i in range(n):
    body = "note %d of process %d about sqlite locking" % (i, os.getpid())
    try:
        if mode == "explicit":
            con.execute("BEGIN")
        con.execute("SELECT count(*) FROM notes").fetchone()
        cur = con.execute("INSERT INTO notes(body) VALUES (?)", (body,))
        con.execute("INSERT INTO search(rowid, body) VALUES (?, ?)", (cur.lastrowid, body))
        con.execute("UPDATE stats SET n = n + 1")
        con.commit() if mode != "explicit" else con.execute("COMMIT")
        ok += 1
    except sqlite3.OperationalError as e:
        failed += 1
        locked += "locked" in str(e)
        if con.in_transaction:
            con.execute("ROLLBACK")
print("ok=%d failed=%d locked=%d" % (ok, failed, locked))

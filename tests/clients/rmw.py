#!/usr/bin/env python3
"""Read-modify-write workload through Python's stdlib sqlite3, with its default settings.

Usage: rmw.py DB N [HOLD_MS [WRITER_ID [savepoint]]]

Runs N transactions of
    BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
    UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
exactly as an unmodified program would: no busy timeout is set (Python's own default applies),
a plain deferred BEGIN is used. isolation_level=None so that BEGIN/COMMIT are the ones written here.
With `savepoint`, the transaction is opened by `SAVEPOINT rmw` and ended by `RELEASE rmw`
(a savepoint outside BEGIN opens a deferred transaction too).
A failed transaction is rolled back and counted; the last stdout line is `ok=N failed=M locked=L`.
"""
import sqlite3
import sys
import time


def transaction(con, writer, i, hold_ms, savepoint=False):
    """The read-modify-write transaction (also bench/kill_writer.py's); raises on failure."""
    con.execute("SAVEPOINT rmw" if savepoint else "BEGIN")
    v = con.execute("SELECT v FROM counter WHERE id=1").fetchone()[0]
    if hold_ms:
        time.sleep(hold_ms / 1000.0)
    con.execute("UPDATE counter SET v=? WHERE id=1", (v + 1,))
    con.execute("INSERT INTO log(writer, i) VALUES(?, ?)", (writer, i))
    con.execute("RELEASE rmw" if savepoint else "COMMIT")


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: rmw.py DB N [HOLD_MS [WRITER_ID]]\n")
        return 2
    db, n = argv[1], int(argv[2])
    hold = int(argv[3]) if len(argv) > 3 else 0
    writer = int(argv[4]) if len(argv) > 4 else 0
    savepoint = len(argv) > 5 and argv[5] == "savepoint"

    ok = failed = locked = 0
    con = sqlite3.connect(db, isolation_level=None)
    for i in range(n):
        try:
            transaction(con, writer, i, hold, savepoint)
            ok += 1
        except sqlite3.Error as e:
            failed += 1
            if "database is locked" in str(e):
                locked += 1
            if con.in_transaction:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error as e2:
                    sys.stderr.write("rmw.py: rollback failed: %s\n" % e2)
    con.close()
    print("ok=%d failed=%d locked=%d" % (ok, failed, locked))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

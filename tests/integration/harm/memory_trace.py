"""What a program sees of its own statements on a private in-memory database.

Prints every statement SQLite traced, the busy timeout in force, and the data: lockfix must leave
all of it exactly as without lockfix (no rewrite, no timeout change)."""
import sqlite3

for name in (":memory:", ""):
    con = sqlite3.connect(name, isolation_level=None, timeout=0.1)
    con.set_trace_callback(lambda sql: print("trace:", sql))
    con.execute("CREATE TABLE t(x)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t VALUES (41)")
    con.execute("COMMIT")
    con.execute("BEGIN DEFERRED")
    print(con.execute("SELECT x + 1 FROM t").fetchone()[0])
    con.execute("COMMIT")
    con.set_trace_callback(None)
    print("busy_timeout", con.execute("PRAGMA busy_timeout").fetchone()[0])
    con.close()

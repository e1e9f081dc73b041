"""What a program sees of its own statements on a private in-memory database.

Prints every statement SQLite traced, the busy timeout in force, and the data: lockfix must leave
all of it exactly as without lockfix (no rewrite, no timeout change). Every way of naming such a
database: the plain names, the URI forms, and a shared-cache memory database (shared between this
process's connections only; they get SQLITE_LOCKED, not SQLITE_BUSY, which lockfix cannot help)."""
import sqlite3

PRIVATE = ((":memory:", False), ("", False), ("file::memory:", True),
           ("file:x?mode=memory", True))
SHARED = "file:shared?mode=memory&cache=shared"


def connect(name, uri):
    con = sqlite3.connect(name, isolation_level=None, timeout=0.1, uri=uri)
    con.set_trace_callback(lambda sql: print("trace:", name, sql))
    return con


def report(con, name):
    con.set_trace_callback(None)
    print(name, "busy_timeout", con.execute("PRAGMA busy_timeout").fetchone()[0])
    con.close()


def work(con):
    con.execute("CREATE TABLE t(x)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t VALUES (41)")
    con.execute("COMMIT")


for name, uri in PRIVATE:
    con = connect(name, uri)
    work(con)
    con.execute("BEGIN DEFERRED")
    print(con.execute("SELECT x + 1 FROM t").fetchone()[0])
    con.execute("COMMIT")
    report(con, name)

# The second connection sees the first one's table: the database really is shared.
first, second = connect(SHARED, True), connect(SHARED, True)
work(first)
second.execute("BEGIN DEFERRED")
print(second.execute("SELECT x + 1 FROM t").fetchone()[0])
second.execute("COMMIT")
report(second, SHARED)
report(first, SHARED)

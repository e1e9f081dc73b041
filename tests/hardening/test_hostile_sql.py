"""Hostile SQL: 1 MB statements, comments nested a hundred thousand deep (SQL comments do not
nest: the first */ ends them), unterminated strings, identifiers and comments, BEGIN buried in
all of these, through prepare (execute) and exec (executescript). The answer, error or rows, must
be the one SQLite gives without lockfix, in bounded time. (Invalid UTF-8 and UTF-16, which Python
cannot send, are checked by make fuzz's differential rewrite target and tests/unit.)"""
import time
import unittest

from common import Case

PROG = r'''
import sqlite3, sys
MB = 1 << 20
cases = [
    "BEGIN" + " " * MB + ";COMMIT",
    "BEGIN /*" + "x" * MB + "*/ ; COMMIT",
    "BEGIN -- " + "x" * MB + "\n; COMMIT",
    "SELECT '" + "a" * MB,
    "SELECT '" + "a" * MB + "'",
    'SELECT "' + "a" * MB,
    "BEGIN /* never closed" + " " * MB,
    "/*" * 100000 + " */ BEGIN; COMMIT",
    "/*" * 100000,
    "--" * 100000,
    "BEGIN " + "(" * 100000,
    "SELECT " + "(" * 1000 + "1" + ")" * 1000,
    "SELECT " + "+".join(["1"] * 50000),
    ";" * MB + "BEGIN; COMMIT",
    "BEGIN DEFERRED TRANSACTION " + "x" * MB + "; COMMIT",
    "PRAGMA busy_timeout = " + "9" * 100000,
    "PRAGMA busy_timeout = (" + "1" + ")" * 1000,
    "BEGIN; SELECT '\x00 after a NUL'; COMMIT",
    "SELECT 'unterminated \u00e9\u4e2d\U0001f600",
    "BEGIN\u00a0IMMEDIATE; COMMIT",
    "END " * 100000,
]
for i, sql in enumerate(cases):
    for how in ("execute", "executescript"):
        con = sqlite3.connect(sys.argv[1], isolation_level=None)
        try:
            cur = getattr(con, how)(sql)
            rows = cur.fetchall()
            out = "ok %r" % (rows[:1],)[:200]
        except Exception as e:
            out = "%s: %s" % (type(e).__name__, str(e)[:200])
        print(i, how, out, "in_txn=%s" % con.in_transaction)
        con.close()
'''


class HostileSQL(Case):
    def test_same_answers_as_sqlite(self):
        db = self.make_db()
        t0 = time.time()
        base = self.run_py(PROG, db, shim=False)
        t1 = time.time()
        # the busy-timeout floor off: it changes what PRAGMA busy_timeout answers, by design
        r = self.run_py(PROG, db, shim=True, env={"LOCKFIX_TIMEOUT_MS": "0"})
        t2 = time.time()
        self.assertEqual(base.returncode, 0, base.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), base.stdout.splitlines())
        self.assertGreaterEqual(len(r.stdout.splitlines()), 40)
        # bounded: no worse than ten times SQLite alone, plus start-up
        self.assertLess(t2 - t1, 10 * (t1 - t0) + 10, (t1 - t0, t2 - t1))
        self.assertEqual(self.counter(db), 0)


    def test_overflowing_busy_timeout_gets_the_floor(self):
        db = self.make_db()
        code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                "print(c.execute('PRAGMA busy_timeout = ' + '9' * 100000).fetchone()[0])")
        self.assertEqual(self.run_py(code, db, shim=False).stdout.strip(), "0")
        self.assertEqual(self.run_py(code, db, shim=True).stdout.strip(), "5000")


if __name__ == "__main__":
    unittest.main()

"""A bad setting is reported even when the first line a process logs is the "unreachable"
report (log.c and config.c call each other: the configuration's own warnings were once dropped
as a nested line). The program: SQLite linked in, stripped of its symbols (mk/static.mk's
rmw-stripped), which lockfix reports as unreachable when it starts."""
import os
import sqlite3
import unittest

from common import Case


class BadSettingIsReported(Case):
    def stripped(self):
        db = os.path.join(self.dir, "t.db")
        con = sqlite3.connect(db)  # rmw's tables (tests/clients/init-db.sh), no shim here
        con.executescript("CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY, v INTEGER);"
                          "INSERT OR IGNORE INTO counter VALUES (1, 0);"
                          "CREATE TABLE IF NOT EXISTS log(id INTEGER PRIMARY KEY, writer, i);")
        con.close()
        return [os.environ["LOCKFIX_TEST_STRIPPED_SQLITE"], db, "1"]

    def test_first_line_unreachable_still_warns(self):
        r = self.run_prog(self.stripped(), shim=True, env={"LOCKFIX_TIMEOUT_MS": "abc"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("unreachable object=", r.stderr)
        self.assertEqual(r.stderr.count('config LOCKFIX_TIMEOUT_MS="abc" is invalid'), 1,
                         r.stderr)

    def test_without_the_shim_nothing_is_said(self):
        r = self.run_prog(self.stripped(), shim=False, env={"LOCKFIX_TIMEOUT_MS": "abc"})
        self.assertEqual(r.returncode, 0)
        self.assertNotIn("lockfix", r.stderr)


if __name__ == "__main__":
    unittest.main()

"""Bad places: a log path in a missing directory or on a full device (/dev/full), a queue file
that cannot be created (a directory in its place), a queue file of the wrong size or with
garbage in it. Each time the program's answer is the same as without lockfix, it writes what it
should, and lockfix says at most one line about the place."""
import os
import unittest

from common import Case

PROG = r'''
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE IF NOT EXISTS t(a)")
c.execute("INSERT INTO t VALUES (1)")
c.commit()
print(c.execute("SELECT count(*) FROM t").fetchone()[0])
'''


class BadPlaces(Case):
    def check(self, db, env=None, place_words=()):
        base = self.run_py(PROG, db + ".control", shim=False)
        r = self.run_py(PROG, db, shim=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, base.stdout)
        for w in place_words:
            n = sum(1 for l in self.lockfix_lines(r.stderr) if w in l)
            self.assertLessEqual(n, 1, "more than one line about %s: %s" % (w, r.stderr))
        return r

    def test_log_in_a_missing_directory(self):
        r = self.check(self.path("a.db"), {"LOCKFIX_LOG": self.path("no/such/dir/log")},
                       ["cannot be opened"])
        self.assertEqual(sum("cannot be opened" in l for l in r.stderr.splitlines()), 1, r.stderr)

    def test_log_on_a_full_device(self):
        self.check(self.path("b.db"), {"LOCKFIX_LOG": "/dev/full"})

    def queue_off_once(self, r):
        n = sum(1 for l in self.lockfix_lines(r.stderr) if " queue-off " in l)
        self.assertEqual(n, 1, "expected one queue-off line: %s" % r.stderr)

    def test_queue_file_cannot_be_created(self):
        os.mkdir(self.path("c.db-lockfix"))
        self.queue_off_once(self.check(self.path("c.db"), place_words=["-lockfix"]))
        self.assertTrue(os.path.isdir(self.path("c.db-lockfix")))

    def test_queue_file_of_wrong_size_with_garbage(self):
        with open(self.path("d.db-lockfix"), "wb") as f:
            f.write(os.urandom(1000))
        self.queue_off_once(self.check(self.path("d.db"), place_words=["-lockfix"]))
        # and again, with it grown
        self.queue_off_once(self.check(self.path("d.db"), place_words=["-lockfix"]))

    def test_queue_file_of_right_size_with_garbage(self):
        with open(self.path("e.db-lockfix"), "wb") as f:
            f.write(os.urandom(64 + 1024 * 16))
        self.queue_off_once(self.check(self.path("e.db"), place_words=["-lockfix"]))

    def test_database_directory_not_writable(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the program as another user")
        db = self.path("f.db")
        self.run_py(PROG, db, shim=False)
        os.chmod(db, 0o666)
        os.chmod(self.dir, 0o755)  # root's: nobody may not create files next to the database
        def as_nobody():
            os.setgid(65534)
            os.setuid(65534)
        import subprocess
        from common import clean_env
        py = "/usr/bin/python3"  # the system's: another user may not run a private install
        if not os.access(py, os.X_OK):
            self.skipTest("no /usr/bin/python3")
        outs = []
        for shim in (False, True):
            r = subprocess.run([py, "-c", PROG, db], env=clean_env(shim), capture_output=True,
                               text=True, timeout=120, preexec_fn=as_nobody, cwd="/")
            outs.append((r.returncode, r.stdout, r.stderr.splitlines()[-1:] if r.returncode
                         else []))
        # the same answer (SQLite cannot create its journal there), with lockfix or without
        self.assertEqual(outs[0][:2], outs[1][:2], outs)
        self.assertEqual(outs[0][2], outs[1][2], outs)


if __name__ == "__main__":
    unittest.main()

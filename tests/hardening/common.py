"""Shared helpers of the hardening tests (tests/hardening/test_*.py, run by `make hardening-test`).

The make target passes LOCKFIX_TEST_SHIM (the shim under test, absolute) and
LOCKFIX_TEST_FIXTURES (the directory of the compiled helper programs). Every test gets its own
temporary directory; child programs run with a clean environment (no LD_PRELOAD, no LOCKFIX_*)
plus what the test adds, and always under a hang guard."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHIM = os.environ.get("LOCKFIX_TEST_SHIM") or os.path.join(ROOT, "build", "liblockfix.so")
FIXTURES = os.environ.get("LOCKFIX_TEST_FIXTURES") or os.path.join(ROOT, "build", "tests",
                                                                    "hardening")
PY = sys.executable
HANG_GUARD_S = 120  # not a timing assertion: a child that takes this long is hung


def fixture(name):
    return os.path.join(FIXTURES, name)


def clean_env(shim, extra=None):
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith("LOCKFIX_")}
    # make asan: the sanitizer runtime must come first in every process that may load the shim
    first = os.environ.get("LOCKFIX_TEST_PRELOAD_FIRST", "")
    preload = [p for p in (first, SHIM if shim else "") if p]
    if preload:
        env["LD_PRELOAD"] = " ".join(preload)
    env.update(extra or {})
    return env


class Case(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lockfix-hard.")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_prog(self, argv, shim=True, env=None, timeout=HANG_GUARD_S, **kw):
        return subprocess.run(argv, env=clean_env(shim, env), capture_output=True, text=True,
                              timeout=timeout, cwd=kw.pop("cwd", self.dir), **kw)

    def run_py(self, code, *args, shim=True, env=None, timeout=HANG_GUARD_S):
        return self.run_prog([PY, "-c", code] + [str(a) for a in args], shim=shim, env=env,
                             timeout=timeout)

    def spawn_py(self, code, *args, shim=True, env=None, **kw):
        return subprocess.Popen([PY, "-c", code] + [str(a) for a in args],
                                env=clean_env(shim, env), cwd=self.dir, text=True, **kw)

    def spawn_prog(self, argv, shim=True, env=None):
        return subprocess.Popen(argv, env=clean_env(shim, env), cwd=self.dir, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def make_db(self, name="t.db", wal=False):
        db = self.path(name)
        con = sqlite3.connect(db)
        if wal:
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY, v INTEGER)")
        con.execute("CREATE TABLE IF NOT EXISTS log(writer INTEGER, i INTEGER)")
        con.execute("INSERT OR IGNORE INTO counter VALUES(1, 0)")
        con.commit()
        con.close()
        return db

    def counter(self, db):
        con = sqlite3.connect(db)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            return con.execute("SELECT v FROM counter WHERE id=1").fetchone()[0]
        finally:
            con.close()

    def log_rows(self, db):
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT count(*) FROM log").fetchone()[0]
        finally:
            con.close()

    @staticmethod
    def result(out):
        """The `ok=N failed=M locked=L` line of a test program, as a dict."""
        lines = [l for l in out.splitlines() if l.startswith("ok=")]
        assert len(lines) == 1, "expected one result line, got: %r" % out
        return {k: int(v) for k, v in (f.split("=") for f in lines[0].split())}

    @staticmethod
    def lockfix_lines(stderr):
        return [l for l in stderr.splitlines() if l.startswith("lockfix[")]

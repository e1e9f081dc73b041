"""Set-uid: under AT_SECURE the shim ignores the environment (LOCKFIX_TIMEOUT_MS, LOCKFIX_LOG):
the defaults apply and the log file named by the caller is never opened with the program's
rights. The helper is a copy of tests/hardening/setuid_helper.c owned by `nobody`, mode 4755, run
by root; the same helper without the set-uid bit honours the variables (the control)."""
import os
import shutil
import unittest

from common import SHIM, Case, fixture

NOBODY = 65534


class SetUid(Case):
    def setUp(self):
        super().setUp()
        if os.environ.get("LOCKFIX_TEST_PRELOAD_FIRST"):
            self.skipTest("sanitizer run: a set-uid program ignores the sanitizer's options")
        if os.geteuid() != 0:
            self.skipTest("needs root to install a set-uid helper owned by nobody")
        os.chmod(self.dir, 0o777)
        self.helper = self.path("helper")
        shutil.copy(fixture("setuid_helper"), self.helper)
        self.log = self.path("lockfix.log")
        self.env = {"LOCKFIX_TIMEOUT_MS": "100", "LOCKFIX_LOG": self.log}
        # a copy `nobody` can read: a clone under /root (mode 0700, where root clones on a new
        # machine) is closed to the set-uid helper
        self.shim = self.path("liblockfix.so")
        shutil.copy(SHIM, self.shim)
        os.chmod(self.shim, 0o755)

    def run_helper(self, db):
        return self.run_prog([self.helper, self.shim, db], shim=False, env=self.env)

    def test_control_without_setuid_honours_the_environment(self):
        r = self.run_helper(self.path("a.db"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("secure=0", r.stdout)
        self.assertIn("busy_timeout=100", r.stdout)
        self.assertTrue(os.path.exists(self.log))

    def test_setuid_ignores_the_environment(self):
        os.chown(self.helper, NOBODY, NOBODY)
        os.chmod(self.helper, 0o4755)
        r = self.run_helper(self.path("b.db"))
        if "secure=0" in r.stdout:
            self.skipTest("the set-uid bit has no effect here (nosuid mount): %s" % r.stdout)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("secure=1 euid=%d" % NOBODY, r.stdout)
        self.assertIn("busy_timeout=5000", r.stdout)  # the default, not the caller's 100
        self.assertFalse(os.path.exists(self.log), "the log named by the caller was opened")
        self.assertNotIn("LOCKFIX_TIMEOUT_MS", r.stderr)


if __name__ == "__main__":
    unittest.main()

"""A bad setting is reported even when the first line a process logs is the exit-time
"unreachable" report (log.c and config.c call each other: the configuration's own warnings
were once dropped as a nested line). PHP is such a process: no SQLite call reaches the shim
(RTLD_DEEPBIND), and the shim says so at exit."""
import shutil
import unittest

from common import Case, fixture


class BadSettingIsReported(Case):
    def test_first_line_unreachable_still_warns(self):
        if shutil.which("php") is None:
            self.skipTest("no php (scripts/install-deps installs it)")
        r = self.run_prog(["php", "-r", "echo 1;"], shim=True, env={"LOCKFIX_TIMEOUT_MS": "abc"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("unreachable program=php", r.stderr)
        self.assertEqual(r.stderr.count('config LOCKFIX_TIMEOUT_MS="abc" is invalid'), 1,
                         r.stderr)

    def test_without_the_shim_nothing_is_said(self):
        r = self.run_prog([fixture("hidden-sqlite")], shim=False,
                          env={"LOCKFIX_TIMEOUT_MS": "abc"})
        self.assertEqual(r.returncode, 0)
        self.assertNotIn("lockfix", r.stderr)


if __name__ == "__main__":
    unittest.main()

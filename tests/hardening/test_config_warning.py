"""A bad setting is reported even when the first line a process logs is the exit-time
"unreachable" report (log.c and config.c call each other: the configuration's own warnings
were once dropped as a nested line)."""
import unittest

from common import Case, fixture


class BadSettingIsReported(Case):
    def test_first_line_unreachable_still_warns(self):
        r = self.run_prog([fixture("hidden-sqlite")], shim=True,
                          env={"LOCKFIX_TIMEOUT_MS": "abc"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("unreachable object=", r.stderr)
        self.assertEqual(r.stderr.count('config LOCKFIX_TIMEOUT_MS="abc" is invalid'), 1,
                         r.stderr)

    def test_without_the_shim_nothing_is_said(self):
        r = self.run_prog([fixture("hidden-sqlite")], shim=False,
                          env={"LOCKFIX_TIMEOUT_MS": "abc"})
        self.assertEqual(r.returncode, 0)
        self.assertNotIn("lockfix", r.stderr)


if __name__ == "__main__":
    unittest.main()

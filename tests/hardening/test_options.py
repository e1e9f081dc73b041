"""Every LOCKFIX_* variable of shim/options.h has a flag of the command (cmd/options.c) and is
unset by `lockfix env --unset`: the list is defined once, and these check its users keep up."""
import os
import re
import subprocess
import unittest

from common import ROOT, Case

CMD = os.environ.get("LOCKFIX_TEST_CMD") or os.path.join(ROOT, "build", "lockfix")


def option_vars():
    with open(os.path.join(ROOT, "shim", "options.h")) as f:
        return re.findall(r"^\s*X\((LOCKFIX_[A-Z_]+),", f.read(), re.M)


class OptionsOneList(Case):
    def test_every_variable_has_a_flag(self):
        names = option_vars()
        self.assertGreaterEqual(len(names), 16)
        r = subprocess.run([CMD, "help", "run"], capture_output=True, text=True, timeout=60)
        helptext = r.stdout + r.stderr
        for v in names:
            self.assertIn("(%s)" % v, helptext, "no lockfix flag sets %s" % v)

    def test_env_unset_lists_every_variable(self):
        r = subprocess.run([CMD, "env", "--unset"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        for v in option_vars():
            self.assertIn("unset %s\n" % v, r.stdout)


if __name__ == "__main__":
    unittest.main()

"""The install scripts' "is it installed?" (scripts/lib/packages.sh), against a fake dpkg.

dpkg-query prints one line per installed architecture. On a multiarch machine (tests/patch adds
arm64) a check that reads one bare `${Status}` saw two run together and called an installed
package missing, and one that accepted any installed line took a package present only for arm64
as installed. Every script that installs packages sources the same helper, so it is tested once
here, with dpkg and dpkg-query on PATH replaced by a script that answers from a table."""
import os
import subprocess
import unittest

from common import ROOT, Case

# package -> what `dpkg-query -W -f='${Architecture} ${Status}\n' PKG` prints
TABLE = {
    "both": "amd64 install ok installed\narm64 install ok installed\n",
    "native": "amd64 install ok installed\n",
    "foreign-only": "arm64 install ok installed\n",
    "arch-all": "all install ok installed\n",
    "removed": "amd64 deinstall ok config-files\n",
    "both:arm64": "arm64 install ok installed\n",
    "native:arm64": "",
}

FAKE = r"""#!/bin/sh
# dpkg --print-architecture, or dpkg-query -W -f=FORMAT PKG: from the table beside this script
case "$1" in --print-architecture) echo amd64; exit 0 ;; esac
for last; do :; done
f="$(dirname "$0")/table/$last"
[ -s "$f" ] || { echo "dpkg-query: no packages found matching $last" >&2; exit 1; }
cat "$f"
"""


class Packages(Case):
    def missing(self, *pkgs):
        bin_dir = self.path("bin")
        os.makedirs(os.path.join(bin_dir, "table"), exist_ok=True)
        for name in ("dpkg", "dpkg-query"):
            with open(os.path.join(bin_dir, name), "w") as f:
                f.write(FAKE)
            os.chmod(os.path.join(bin_dir, name), 0o755)
        for pkg, out in TABLE.items():
            with open(os.path.join(bin_dir, "table", pkg), "w") as f:
                f.write(out)
        lib = os.path.join(ROOT, "scripts", "lib", "packages.sh")
        env = dict(os.environ, PATH=bin_dir + ":/usr/bin:/bin")
        r = subprocess.run(["bash", "-c", '. "$0" && missing_packages "$@"', lib] + list(pkgs),
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def test_native_or_all_architecture_counts(self):
        self.assertEqual(self.missing("both", "native", "arch-all"), [])

    def test_foreign_only_removed_or_unknown_is_missing(self):
        self.assertEqual(self.missing("foreign-only", "removed", "nosuch"),
                         ["foreign-only", "removed", "nosuch"])

    def test_an_explicit_architecture_is_that_one(self):
        self.assertEqual(self.missing("both:arm64", "native:arm64"), ["native:arm64"])


if __name__ == "__main__":
    unittest.main()

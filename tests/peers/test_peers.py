#!/usr/bin/env python3
"""Checks of scripts/peers-test's own logic on canned runner output (no download, no SQLite):
that it reads every failure prove, run-tests.php and mocha report, that a test failing only under
lockfix fails the suite unless listed with a reason, and that the docs table must match the list.
Run by `make peers-selftest` (part of `make test`)."""

import os
import sys
import tempfile
import unittest
import importlib.util
from importlib.machinery import SourceFileLoader

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True  # scripts/peers-test has no .py name: no __pycache__ next to it
_loader = SourceFileLoader("peers_test", os.path.join(ROOT, "scripts", "peers-test"))
_spec = importlib.util.spec_from_loader("peers_test", _loader)
pt = importlib.util.module_from_spec(_spec)
_loader.exec_module(pt)

PROVE = """\
[10:57:12] t/a.t .. Failed 3/12 subtests
[10:57:12] t/c.t .. ok      289 ms ( 0.00 usr  0.00 sys +  0.05 cusr  0.01 csys =  0.06 CPU)

Test Summary Report
-------------------
t/a.t (Wstat: 768 (exited 3) Tests: 12 Failed: 3)
  Failed tests:  2, 5, 9-11
                 14
  Non-zero exit status: 3
t/b.t (Wstat: 65280 (exited 255) Tests: 1 Failed: 0)
  Non-zero exit status: 255
  Parse errors: Bad plan.  You planned 3 tests but ran 1.
Files=3, Tests=14,  2 wallclock secs ( 0.03 usr  0.01 sys +  0.11 cusr  0.02 csys =  0.17 CPU)
Result: FAIL
"""

PHP = """\
PASSED\t/w/ext/sqlite3/tests/bug45798.phpt
FAILED\t/w/ext/sqlite3/tests/sqlite3_38_backup.phpt
SKIPPED\t/w/ext/sqlite3/tests/sqlite3_34_load_extension.phpt
XFAILED\t# /w/ext/pdo_sqlite/tests/common.phpt: /w/ext/pdo/tests/pdo_022.phpt
BORKED\t# /w/ext/pdo_sqlite/tests/common.phpt: /w/ext/pdo/tests/pdo_001.phpt
"""

XUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Mocha Tests" tests="4" failures="1" errors="0" skipped="1">
<testcase classname="backup" name="copies source fully" time="0.04"/>
<testcase classname="backup" name="retry on a locked db" time="5.1"><failure message="SQLITE_READONLY: attempt to write a readonly database">Error: SQLITE_READONLY</failure></testcase>
<testcase classname="data types" name="should serialize float 1796210239867" time="0"/>
<testcase classname="extension" name="loads" time="0"><skipped/></testcase>
</testsuite>
"""


class Parsers(unittest.TestCase):
    def test_prove(self):
        total, failed, ms = pt.parse_prove(PROVE)
        self.assertEqual(total, 14)
        self.assertEqual(failed, {"t/a.t #2", "t/a.t #5", "t/a.t #9", "t/a.t #10", "t/a.t #11",
                                  "t/a.t #14", "t/a.t (non-zero exit status)",
                                  "t/b.t (non-zero exit status)", "t/b.t (parse errors)"})
        self.assertEqual(ms, {"t/c.t": 289})

    def test_php(self):
        r = pt.parse_php_results(PHP, "/w")
        self.assertEqual(r["ext/sqlite3/tests/sqlite3_38_backup.phpt"], "FAILED")
        self.assertEqual(r["ext/pdo/tests/pdo_001.phpt (via ext/pdo_sqlite/tests/common.phpt)"],
                         "BORKED")
        failed = {n for n, s in r.items() if s not in pt.PHP_OK}
        self.assertEqual(failed, {"ext/sqlite3/tests/sqlite3_38_backup.phpt",
                                  "ext/pdo/tests/pdo_001.phpt (via ext/pdo_sqlite/tests/common.phpt)"})

    def test_xunit(self):
        allr, failed, details = pt.parse_xunit(XUNIT)
        self.assertEqual(allr, {"backup > copies source fully", "backup > retry on a locked db",
                                "data types > should serialize float <n>"})
        self.assertEqual(failed, {"backup > retry on a locked db"})
        self.assertIn("SQLITE_READONLY", details["backup > retry on a locked db"])
        _, failed, _ = pt.parse_xunit("<testsuite")
        self.assertTrue(any("unreadable" in f for f in failed))


def run(failed, all_=None):
    return dict(failed=set(failed), all=None if all_ is None else set(all_))


class Compare(unittest.TestCase):
    def test_new_failure_fails_unless_listed(self):
        wo = run(["t/x.t #1"], ["a", "b", "c"])
        wi = run(["t/x.t #1", "t/y.t #3"], ["a", "b"])
        new, unexpected, accepted = pt.compare(wo, wi, [], "perl")
        self.assertEqual(new, ["c (did not run)", "t/y.t #3"])
        self.assertEqual(unexpected, new)
        listed = [("perl", "t/y.t #3", "reads back the busy timeout: the floor")]
        new, unexpected, accepted = pt.compare(wo, wi, listed, "perl")
        self.assertEqual(unexpected, ["c (did not run)"])
        self.assertEqual(accepted, ["t/y.t #3"])
        # A listed entry applies to its suite only (globs allowed).
        _, unexpected, _ = pt.compare(wo, wi, listed, "node")
        self.assertIn("t/y.t #3", unexpected)
        _, unexpected, _ = pt.compare(wo, wi, [("php-*", "t/y.t #3", "r")], "php-standin")
        self.assertNotIn("t/y.t #3", unexpected)

    def test_failures_without_lockfix_do_not_count(self):
        wo = run(["a"], ["a", "b"])
        wi = run(["a"], ["b"])
        self.assertEqual(pt.compare(wo, wi, [], "node"), ([], [], []))


class ExpectedList(unittest.TestCase):
    def test_file_parses_and_matches_docs(self):
        entries = pt.load_expected()
        self.assertEqual(pt.check_docs(entries), [])

    def test_docs_mismatch_is_reported(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write("<!-- peers-expected-differences -->\n| suite | test | reason |\n|---|---|---|\n"
                    "| node | `a > b` | r |\n<!-- /peers-expected-differences -->\n")
        saved = pt.DOCS_FILE
        try:
            pt.DOCS_FILE = f.name
            self.assertEqual(pt.check_docs([("node", "a > b", "r")]), [])
            problems = pt.check_docs([("perl", "t/x.t #1", "r")])
            self.assertEqual(len(problems), 2)
        finally:
            pt.DOCS_FILE = saved
            os.unlink(f.name)

    def test_bad_line_is_an_error(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# comment\nperl | t/x.t #1\n")
        saved = pt.EXPECTED_FILE
        try:
            pt.EXPECTED_FILE = f.name
            with self.assertRaises(pt.SetupError):
                pt.load_expected()
        finally:
            pt.EXPECTED_FILE = saved
            os.unlink(f.name)


class SourcesTwin(unittest.TestCase):
    def test_deb822(self):
        text = ("Types: deb\n# snapshot\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n"
                "Components: main\n\nTypes: deb\nURIs: https://deb.nodesource.com/node_20.x\n"
                "Suites: nodistro\n\nTypes: deb deb-src\nURIs: http://deb.debian.org/debian\n"
                "Suites: sid\n")
        self.assertEqual(pt.deb822_twins(text), [
            "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main"])

    def test_oneline(self):
        text = ("deb http://deb.debian.org/debian bookworm main\n"
                "deb http://security.debian.org/debian-security bookworm-security main\n"
                "deb-src http://security.debian.org/debian-security bookworm-security main\n"
                "deb https://packages.cloud.google.com/apt cloud-sdk main\n")
        self.assertEqual(pt.oneline_twins(text),
                         ["deb-src http://deb.debian.org/debian bookworm main"])


if __name__ == "__main__":
    unittest.main(verbosity=1)

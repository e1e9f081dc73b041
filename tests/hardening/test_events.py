"""Every event name the shim logs is one `lockfix stats` knows (shim/events.def.h is the list).

The names are taken from the shim's source: the first word of the format string of every lf_log()
and LOG_EVENT() call. Each is fed to `lockfix stats --json`, with and without a db= field, and
must not come back as an unknown event."""
import glob
import json
import os
import re
import subprocess
import unittest

from common import ROOT, Case

CMD = os.environ.get("LOCKFIX_TEST_CMD") or os.path.join(ROOT, "build", "lockfix")
# lf_log("name ...  or  LOG_EVENT(conn, LF_EV_X, "name ...
CALL = re.compile(r'\b(?:lf_log|LOG_EVENT)\s*\((?:[^;"]*?,)?\s*"([a-z][a-z0-9-]*)[ :"]', re.S)


def logged_names():
    names = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "shim", "*.c"))):
        if path.endswith("/log.c"):
            continue  # the logger itself
        with open(path) as f:
            text = f.read()
        for m in CALL.finditer(text):
            names.setdefault(m.group(1), os.path.relpath(path, ROOT))
    return names


class EventsStatsKnows(Case):
    def test_source_scan_finds_the_events(self):
        names = logged_names()
        # the scan itself must work: these are logged from three different files
        for n in ("retry", "gave-up", "queue-skipped", "wal-switched", "config", "unreachable"):
            self.assertIn(n, names)

    def test_stats_knows_every_logged_event(self):
        names = logged_names()
        lines = []
        for n in names:
            lines.append("lockfix[41]: %s db=/tmp/x.db k=v" % n)
            lines.append("lockfix[42]: %s k=v (text)" % n)
        r = subprocess.run([CMD, "stats", "--json"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        unknown = json.loads(r.stdout)["unknown_events"]
        self.assertEqual(unknown, {}, "logged by the shim (%s) but unknown to lockfix stats: "
                         "add them to shim/events.def.h"
                         % ", ".join("%s in %s" % (k, names.get(k)) for k in unknown))

    def test_stats_still_reports_an_unknown_event(self):
        r = subprocess.run([CMD, "stats", "--json"], input="lockfix[1]: no-such-event db=/x\n",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(json.loads(r.stdout)["unknown_events"], {"no-such-event": 1})


if __name__ == "__main__":
    unittest.main()

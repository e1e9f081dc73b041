#!/usr/bin/env python3
"""Check that a QUICK bench run produced well-formed output (for `make test`).

Usage: check-output.py DIR      (DIR = bench-results/quick)

Asserts structure, never timings: every (language, hold, configuration) has its serial row and
one row per writer count, every column parses, no cell reported a fault (a crashed or hung
writer, a lost update, a non-lock error, a failed integrity_check), the markdown table has the
rows, the charts are PNG files, and the overhead figures are there.
"""
import csv
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contention  # noqa: E402  (its CSV_FIELDS and QUICK matrix are what is checked)

NUMERIC = ["hold_ms", "writers", "seconds", "committed", "failed", "locked", "errors", "lost",
           "counter", "throughput", "serial_tps", "tput_ratio", "wait_p50_ms", "wait_p99_ms",
           "wait_max_ms", "mean_ms", "bound_ms", "p99_x_bound", "max_x_bound", "fail_max_ms",
           "min_commits", "max_commits", "makespan_s", "setup_s"]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    d = argv[1]
    errors = []

    def need(cond, msg):
        if not cond:
            errors.append(msg)

    path = os.path.join(d, "results.csv")
    need(os.path.exists(path), "missing %s" % path)
    rows = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            rd = csv.DictReader(f)
            need(rd.fieldnames == contention.CSV_FIELDS, "results.csv columns: %s" % rd.fieldnames)
            rows = list(rd)
    q = contention.QUICK
    langs, configs = contention.LANGS, contention.BASE_CONFIGS
    for r in rows:
        for k in NUMERIC:
            if r[k] != "":
                try:
                    float(r[k])
                except ValueError:
                    errors.append("%s=%r is not a number in %s" % (k, r[k], r))
        need(r["faults"] == "", "fault in %s %s hold %s W %s: %s" % (
            r["lang"], r["config"], r["hold_ms"], r["writers"], r["faults"]))
        need(r["lost"] in ("0", ""), "lost updates in %s" % r)
    for lang in langs:
        for hold in q["holds"]:
            for cfg in configs:
                mine = [r for r in rows if r["lang"] == lang and r["hold_ms"] == str(hold) and
                        r["config"] == cfg]
                serial = [r for r in mine if r["kind"] == "serial"]
                need(len(serial) == 1, "%s %s hold %d: %d serial rows" % (lang, cfg, hold,
                                                                          len(serial)))
                if serial:
                    need(int(serial[0]["committed"]) > 0, "serial %s %s hold %d committed "
                         "nothing" % (lang, cfg, hold))
                got = sorted(int(r["writers"]) for r in mine if r["kind"] == "cell")
                need(got == sorted(q["writers"]), "%s %s hold %d: writer counts %s" % (
                    lang, cfg, hold, got))
                for r in mine:
                    if r["kind"] == "cell":
                        need(r["bound_ms"] != "" and r["tput_ratio"] != "",
                             "cell without limits: %s" % r)

    md = os.path.join(d, "results.md")
    need(os.path.exists(md), "missing %s" % md)
    if os.path.exists(md):
        with open(md) as f:
            lines = [l for l in f if l.startswith("| ") and l[2:3].isdigit()]
        want = len(langs) * len(q["holds"]) * len(configs) * len(q["writers"])
        need(len(lines) == want, "results.md: %d table rows, want %d" % (len(lines), want))

    if shutil.which("gnuplot"):
        for png in ("throughput.png", "p99.png", "max.png", "failures.png", "summary.png"):
            p = os.path.join(d, png)
            ok = os.path.exists(p) and os.path.getsize(p) > 1000
            if ok:
                with open(p, "rb") as f:
                    ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
            need(ok, "%s missing or not a PNG" % p)

    ov = os.path.join(d, "overhead.csv")
    need(os.path.exists(ov), "missing %s" % ov)
    if os.path.exists(ov):
        with open(ov, newline="") as f:
            orows = {r["kind"]: r for r in csv.DictReader(f)}
        for kind in ("select", "insert", "autocommit", "open-first", "open-steady",
                     "open-convert"):
            need(kind in orows, "overhead.csv: no %s row" % kind)
            if kind in orows:
                try:
                    need(float(orows[kind]["ratio"]) > 0, "overhead %s: ratio" % kind)
                    if shutil.which("valgrind") and not kind.startswith("open"):
                        need(float(orows[kind]["ir_ratio"]) > 0, "overhead %s: ir" % kind)
                except ValueError as e:
                    errors.append("overhead %s: %s" % (kind, e))
    need(os.path.exists(os.path.join(d, "overhead.md")), "missing overhead.md")

    if errors:
        for e in errors:
            sys.stderr.write("bench-quick: %s\n" % e)
        sys.stderr.write("bench-quick: FAILED (%d problems) in %s\n" % (len(errors), d))
        return 1
    print("bench-quick: ok: %d contention rows, overhead figures and charts in %s"
          % (len(rows), d))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

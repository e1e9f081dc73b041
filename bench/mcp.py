#!/usr/bin/env python3
"""The headline scenario: N MCP notes servers on one SQLite file, driven like a desktop client.

    bench/mcp.py --out bench-results [--servers "20 50 100"] [--modes "none textbook lockfix"]
                 [--calls-per-server 10] [--lockfix build/lockfix] [--dir /dev/shm]
    bench/mcp.py --smoke [--lockfix build/lockfix]       the `make test` check, < 30 s

For each number of servers and each mode — the servers as written (`none`), with the in-app
textbook fix (`textbook`: WAL + BEGIN IMMEDIATE + 5 s timeout, the server's --textbook flag), and
through the `lockfix` command in their mcpServers config (`lockfix`) — one burst of
examples/mcp_client.py: every server gets its calls at once. Writes mcp.md, mcp.json and mcp.png
(failed calls, p99 latency of write_note, throughput) into --out.

--smoke: 4 servers, two of which set no busy timeout at all, a few calls each: without lockfix
some call must fail (else the check proves nothing), with lockfix none may; every stdout line
must be JSON-RPC and every successful write must be in the database, in both runs. The lockfix
run is docs/recipes.md's second command: `examples/mcp_client.py --config servers.json`, the
servers started from the file written for it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))
import mcp_client  # noqa: E402

COLORS = {"none": "#d62728", "textbook": "#1f77b4", "lockfix": "#2ca02c"}
WORK_MS = 50


def log(msg):
    print("bench/mcp: " + msg, file=sys.stderr, flush=True)


def run_config_file(path, db, calls, seed, label):
    """docs/recipes.md's "runs a config", for real: examples/mcp_client.py --config FILE, as a
    command, the servers started from the file it reads. Returns its JSON summary; it prints its
    own report."""
    out = os.path.join(os.path.dirname(path), "result.json")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "mcp_client.py"),
                        "--config", path, "--db", db, "--calls-per-server", str(calls),
                        "--seed", str(seed), "--json", out, "--label", label])
    if not os.path.exists(out):
        return {"start_problems": ["examples/mcp_client.py --config %s exited %d with no results"
                                   % (path, p.returncode)]}
    with open(out) as f:
        return json.load(f)


def cell(n, mode, calls, lockfix, base, short_every=4, short_ms=1000, work_ms=WORK_MS,
         via_config_file=None):
    """One burst in a fresh directory; returns the client's summary. With via_config_file (a
    label), the servers are started by the client command from the servers.json written here."""
    d = tempfile.mkdtemp(prefix="mcp-%d-%s." % (n, mode), dir=base)
    db = os.path.join(d, "notes.db")
    lf_log = os.path.join(d, "lockfix.log")
    config = mcp_client.make_config(n, db, mode, lockfix, lf_log, work_ms, short_every, short_ms)
    path = os.path.join(d, "servers.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    t0 = time.monotonic()
    if via_config_file:
        r = run_config_file(path, db, calls, n, via_config_file)
    else:
        r = mcp_client.run(config, d, calls, seed=n, db=db)
    r["wall_s"] = round(time.monotonic() - t0, 1)
    r["mode"], r["n"] = mode, n
    if mode == "lockfix":  # the servers really ran through lockfix
        with open(lf_log) if os.path.exists(lf_log) else open(os.devnull) as f:
            r["lockfix_acted"] = any(" wal-switched " in line for line in f)
    bad = (r.get("start_problems") or r["non_jsonrpc_lines"] or not r["database"]["ok"]
           or (mode == "lockfix" and r["failed"]))
    if bad:
        r["kept"] = d  # keep the evidence
    else:
        shutil.rmtree(d, ignore_errors=True)
    return r


def smoke(lockfix, base):
    problems = []
    for mode in ("none", "lockfix"):
        # The lockfix pass runs the recipe's config file through the client's --config.
        label = "%s (smoke)" % mode
        r = cell(4, mode, 12, lockfix, base, short_every=2, short_ms=0, work_ms=20,
                 via_config_file=label if mode == "lockfix" else None)
        if mode != "lockfix":
            mcp_client.print_report(label, r)
        if r.get("start_problems"):
            problems.append("%s: %s" % (mode, r["start_problems"]))
            continue
        if r["non_jsonrpc_lines"]:
            problems.append("%s: %d stdout lines not JSON-RPC" % (mode, r["non_jsonrpc_lines"]))
        if not r["database"]["ok"]:
            problems.append("%s: database check failed: %s" % (mode, r["database"]))
        if mode == "none" and r["locked"] == 0:
            problems.append("none: no call failed without lockfix: the check shows nothing")
        if mode == "lockfix" and r["failed"]:
            problems.append("lockfix: %d calls failed" % r["failed"])
        if mode == "lockfix" and not r.get("lockfix_acted"):
            problems.append("lockfix: no wal-switched line: the servers did not run through it")
        if r.get("kept"):
            problems.append("%s: files kept in %s" % (mode, r["kept"]))
    if problems:
        print("mcp-smoke: FAILED\n  " + "\n  ".join(problems))
        return 1
    print("mcp-smoke: ok (failures without lockfix, none with it, stdout all JSON-RPC)")
    return 0


def writes_per_s(r):
    """Successful write_note and edit_note calls per second of the burst: a failed call returns
    without doing its work, so calls/s alone would reward failing."""
    return r["ok_writes"] / r["seconds"] if r["seconds"] else 0.0


def write_md(path, results, args, seconds):
    lines = ["# MCP notes servers on one database", "",
             "Command: `%s`; %d calls per server, %d ms of work inside each write "
             "transaction, every 4th server sets a 1 s busy timeout of its own (not in "
             "`textbook`, which sets 5 s everywhere). %.0f s in all." % (
                 os.environ.get("BENCH_COMMAND", "bench/mcp.py"), args.calls_per_server,
                 WORK_MS, seconds), "",
             "| servers | mode | calls | failed | \"locked\" | write_note median ms | "
             "write_note p99 ms | edit_note p99 ms | read_note p99 ms | calls/s | "
             "successful writes/s | non-JSON lines | db check |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.get("start_problems"):
            lines.append("| %d | %s | servers did not start: %s |" % (
                r["n"], r["mode"], r["start_problems"][0]))
            continue
        t = r["tools"]
        lines.append("| %d | %s | %d | %d | %d | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %d | %s |"
                     % (r["n"], r["mode"], r["calls"], r["failed"], r["locked"],
            t["write_note"]["median_ms"], t["write_note"]["p99_ms"], t["edit_note"]["p99_ms"],
            t["read_note"]["p99_ms"], r["calls_per_s"], writes_per_s(r), r["non_jsonrpc_lines"],
            "ok" if r["database"]["ok"] else "**%s**" % r["database"]))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def chart(png, results, args):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no chart")
        return False
    data = os.path.join(os.path.dirname(png), "chart-data")
    os.makedirs(data, exist_ok=True)
    for mode in args.modes:
        with open(os.path.join(data, "mcp-%s.dat" % mode), "w") as f:
            f.write("# servers failed_pct write_p99_ms ok_writes_per_s\n")
            for r in results:
                if r["mode"] == mode and not r.get("start_problems"):
                    f.write("%d %.2f %.1f %.2f\n" % (
                        r["n"], 100.0 * r["failed"] / max(1, r["calls"]),
                        r["tools"]["write_note"]["p99_ms"], writes_per_s(r)))
    ns = args.servers
    W, H, legend = 1290, 440, 60
    g = ['set terminal pngcairo size %d,%d font "sans,10" noenhanced' % (W, H),
         'set output "%s"' % png, "set multiplot", "set grid lc rgb '#dddddd'", "unset key",
         "set xtics (%s)" % ", ".join('"%d" %d' % (n, n) for n in ns),
         "set xrange [%g:%g]" % (min(ns) * 0.8, max(ns) * 1.1),
         'set xlabel "MCP servers on one database" offset 0,0.6',
         "set lmargin 10", "set rmargin 2", "set tmargin 3", "set bmargin 3",
         'set label 99 "MCP notes servers (Python, FTS5, ~50 ms of work per write '
         'transaction), one burst of calls" at screen 0.5, screen 0.965 center font ",13"']
    panels = [
        ("failed calls, % (database is locked)", 2, "unset logscale y; set yrange [0:*]; "
         'set format y "%.0f"; set ylabel "%" offset 0.5,0'),
        ("p99 latency of write_note (s)", "($3/1000)", "unset logscale y; set yrange [0:*]; "
         'set format y "%g"; set ylabel "s" offset 0.5,0'),
        ("throughput: successful writes/s", 4, "unset logscale y; set yrange [0:*]; "
         'set format y "%.0f"; set ylabel "writes/s" offset 0.5,0'),
    ]
    for i, (title, col, setup) in enumerate(panels):
        g.append("set origin %.4f, %.4f" % (i / 3.0, legend / H))
        g.append("set size %.4f, %.4f" % (1 / 3.0, (H - legend - 10) / H))
        g.append('set title "%s"' % title)
        g.append(setup)
        g.append("plot " + ", ".join(
            "'%s/mcp-%s.dat' using 1:%s with linespoints lw 2.5 pt 7 ps 1.2 lc rgb '%s'"
            % (data, m, col, COLORS.get(m, "#9467bd")) for m in args.modes))
        if i == 0:
            g.append("unset label 99")
    g += ["set origin 0,0", "set size 1, %.4f" % (legend / H), "unset title", "unset border",
          "unset xtics", "unset ytics", "unset xlabel", "unset ylabel", "unset grid",
          "set xrange [0:1]", "set yrange [0:1]",
          "set key center center horizontal Left reverse width 3 font \",11\"",
          "set lmargin 0", "set rmargin 0", "set tmargin 0", "set bmargin 0",
          "plot " + ", ".join("NaN with linespoints lw 2.5 pt 7 lc rgb '%s' title '%s'" % (
              COLORS.get(m, "#9467bd"), {"none": "servers as written",
                                         "textbook": "in-app textbook fix",
                                         "lockfix": "lockfix (in the mcpServers config)"}[m])
              for m in args.modes),
          "unset multiplot"]
    script = os.path.join(data, "mcp.gp")
    with open(script, "w") as f:
        f.write("\n".join(g) + "\n")
    p = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if p.returncode != 0:
        log("gnuplot failed: " + p.stderr.strip()[:400])
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--servers", default="20 50 100")
    ap.add_argument("--modes", default="none textbook lockfix")
    ap.add_argument("--calls-per-server", type=int, default=10)
    ap.add_argument("--lockfix", default=os.path.join(ROOT, "build", "lockfix"))
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--replot", action="store_true",
                    help="redraw mcp.md and mcp.png from --out's mcp.json")
    args = ap.parse_args()
    lockfix = os.path.abspath(args.lockfix)
    if args.smoke:
        sys.exit(smoke(lockfix, args.dir))
    args.servers = [int(x) for x in args.servers.split()]
    args.modes = args.modes.split()
    os.makedirs(args.out, exist_ok=True)
    if args.replot:
        with open(os.path.join(args.out, "mcp.json")) as f:
            results = json.load(f)
        args.servers = sorted({r["n"] for r in results})
        write_md(os.path.join(args.out, "mcp.md"), results, args,
                 sum(r.get("wall_s", 0) for r in results))
        sys.exit(0 if chart(os.path.join(args.out, "mcp.png"), results, args) else 1)
    results, t0 = [], time.monotonic()
    for n in args.servers:
        for mode in args.modes:
            r = cell(n, mode, args.calls_per_server, lockfix, args.dir)
            results.append(r)
            if r.get("start_problems"):
                log("%d servers, %s: did not start: %s" % (n, mode, r["start_problems"][0]))
            else:
                log("%3d servers, %-8s: %4d calls, %3d failed, write_note p99 %6.0f ms, "
                    "%5.1f calls/s (%.0f s)%s" % (
                        n, mode, r["calls"], r["failed"], r["tools"]["write_note"]["p99_ms"],
                        r["calls_per_s"], r["wall_s"],
                        ", kept " + r["kept"] if r.get("kept") else ""))
    seconds = time.monotonic() - t0
    with open(os.path.join(args.out, "mcp.json"), "w") as f:
        json.dump(results, f, indent=2)
    write_md(os.path.join(args.out, "mcp.md"), results, args, seconds)
    chart(os.path.join(args.out, "mcp.png"), results, args)
    faults = [r for r in results if r.get("kept")]
    log("results in %s/mcp.md, mcp.json, mcp.png (%.0f s)" % (args.out, seconds))
    sys.exit(1 if faults else 0)


if __name__ == "__main__":
    main()

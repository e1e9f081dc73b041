#!/usr/bin/env python3
"""Overhead benchmark driver: what the shim costs when nobody contends.

Runs build/bench/overhead (bench/overhead.c) with and without LD_PRELOAD and writes
OUT/overhead.csv and OUT/overhead.md:
  instructions  callgrind (valgrind --tool=callgrind --toggle-collect=measure) counts the
                instructions of the measured loop (bind, step, reset per statement); the count is
                the same run after run, unlike time on a shared machine. Ratio = with / without.
  wall clock    PAIRS interleaved pairs of runs (without-with, then with-without, ...), each of
                STEPS steps; the ratio of each pair, and the median of those ratios.
  open          sqlite3_open_v2 + first statement (schema load) + close: the first in a fresh
                process (includes the shim's one-time set-up), the median of the next ones, and the
                first open of a rollback-journal file (which the shim switches to WAL).
  memory        VmRSS at the end of the select run, with minus without (median over the runs).
Python standard library only.
"""
import argparse
import csv
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import contention  # noqa: E402  (shim_identity: which shim a figure was measured with)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("select", "insert", "autocommit")
LABEL = {"select": "indexed SELECT, 1 row",
         "insert": "single-row INSERT in an open transaction",
         "autocommit": "single-row INSERT, autocommit (one write transaction each)"}


def log(msg):
    sys.stderr.write("overhead: %s\n" % msg)
    sys.stderr.flush()


def env_for(args, shim):
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if shim:
        env["LD_PRELOAD"] = args.shim
        env.setdefault("LOCKFIX_LOG", "off")
    return env


def fresh(path):
    for s in ("", "-journal", "-wal", "-shm", "-lockfix"):
        try:
            os.unlink(path + s)
        except FileNotFoundError:
            pass


def db_for(args, kind, shim):
    """select reads one prepared file (made once); the inserting kinds start from a new one."""
    if kind == "select":
        return os.path.join(args.work, "select.db")
    path = os.path.join(args.work, "%s-%s.db" % (kind, "shim" if shim else "plain"))
    fresh(path)
    return path


def run(args, argv, shim, check=True):
    p = subprocess.run(argv, env=env_for(args, shim), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit("overhead: %s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                          p.stderr.strip()[:500]))
    return p


def parse_kv(text):
    line = [l for l in text.splitlines() if l.startswith("mode=")][-1]
    return {k: (float(v) if re.fullmatch(r"-?[\d.]+", v) else v)
            for k, v in (w.split("=", 1) for w in line.split())}


def callgrind(args, kind, shim):
    out = os.path.join(args.work, "callgrind.%s.%s" % (kind, "shim" if shim else "plain"))
    n = args.cg_steps if kind != "autocommit" else max(args.cg_steps // 4, 100)
    argv = ["valgrind", "--tool=callgrind", "--toggle-collect=measure",
            "--callgrind-out-file=" + out, args.prog, kind, db_for(args, kind, shim), str(n)]
    run(args, argv, shim)
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1]) / n
    raise SystemExit("overhead: no summary in %s" % out)


def callgrind_open(args, db, shim, n):
    """Instructions of n opens (open + first statement + close) in one process."""
    out = os.path.join(args.work, "callgrind.open%d.%s" % (n, "shim" if shim else "plain"))
    run(args, ["valgrind", "--tool=callgrind", "--toggle-collect=measure_open",
               "--callgrind-out-file=" + out, args.prog, "open", db, str(n)], shim)
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit("overhead: no summary in %s" % out)


def wall(args, kind):
    steps = args.steps if kind != "autocommit" else args.ac_steps
    ratios, plain, shimmed, rss = [], [], [], []
    for i in range(args.pairs):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {}
        for shim in order:
            kv = parse_kv(run(args, [args.prog, kind, db_for(args, kind, shim), str(steps)],
                              shim).stdout)
            got[shim] = kv
        ratios.append(got[True]["ns_per_step"] / got[False]["ns_per_step"])
        plain.append(got[False]["ns_per_step"])
        shimmed.append(got[True]["ns_per_step"])
        rss.append(got[True]["rss_kb"] - got[False]["rss_kb"])
    return dict(steps=steps, pairs=args.pairs, ratio=statistics.median(ratios),
                ratio_min=min(ratios), ratio_max=max(ratios),
                ns_plain=statistics.median(plain), ns_shim=statistics.median(shimmed),
                ratio_best=min(shimmed) / min(plain),
                rss_delta_kb=statistics.median(rss))


def open_cost(args):
    """Open figures, each the median over interleaved processes."""
    res = {}
    wal_db = os.path.join(args.work, "open-wal.db")
    fresh(wal_db)
    con = sqlite3.connect(wal_db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t(a)")
    con.close()
    first = {False: [], True: []}
    steady = {False: [], True: []}
    rss = {False: [], True: []}
    convert = {False: [], True: []}
    for i in range(args.open_runs):
        for shim in ((False, True) if i % 2 == 0 else (True, False)):
            kv = parse_kv(run(args, [args.prog, "open", wal_db, str(args.open_steps)], shim).stdout)
            first[shim].append(kv["first_us"])
            steady[shim].append(kv["median_us"])
            rss[shim].append(kv["rss_kb"])
            # A rollback-journal file: without the shim it stays so, with it the open switches it.
            del_db = os.path.join(args.work, "open-delete.db")
            fresh(del_db)
            con = sqlite3.connect(del_db)
            con.execute("CREATE TABLE t(a)")
            con.close()
            kv = parse_kv(run(args, [args.prog, "open", del_db, "1"], shim).stdout)
            convert[shim].append(kv["first_us"])
    med = statistics.median
    for name, d in (("first", first), ("steady", steady), ("convert", convert)):
        res[name] = (med(d[False]), med(d[True]))
    res["rss"] = (med(rss[False]), med(rss[True]))
    if args.use_cg:
        # The first open of a process, and each later one (difference of 1 and 1+K opens).
        k = 20
        for shim in (False, True):
            one = callgrind_open(args, wal_db, shim, 1)
            more = callgrind_open(args, wal_db, shim, 1 + k)
            res.setdefault("ir_first", []).append(one)
            res.setdefault("ir_steady", []).append((more - one) / k)
    return res


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results"))
    ap.add_argument("--dir", default=None, help="where the databases live (default: /dev/shm)")
    ap.add_argument("--shim", default=os.path.join(ROOT, "build", "liblockfix.so"))
    ap.add_argument("--prog", default=os.path.join(ROOT, "build", "bench", "overhead"))
    ap.add_argument("--steps", type=int, default=1000000, help="steps per wall-clock run")
    ap.add_argument("--ac-steps", type=int, default=200000,
                    help="steps per autocommit wall-clock run (each is a transaction)")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--cg-steps", type=int, default=20000)
    ap.add_argument("--open-runs", type=int, default=21)
    ap.add_argument("--open-steps", type=int, default=200)
    ap.add_argument("--no-callgrind", action="store_true")
    args = ap.parse_args(argv[1:])
    if args.quick:
        args.steps, args.ac_steps, args.pairs = 20000, 2000, 1
        args.cg_steps, args.open_runs, args.open_steps = 2000, 1, 20
    args.shim = os.path.abspath(args.shim)
    for p in (args.shim, args.prog):
        if not os.path.exists(p):
            raise SystemExit("overhead: %s not built" % p)
    # tmpfs by default, as for the contention bench: the disk's fsync latency is not the shim's.
    base = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else args.out)
    args.work = os.path.join(base, "lockfix-overhead-%d-%d" % (os.getuid(), os.getpid()))
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    os.makedirs(args.out, exist_ok=True)
    use_cg = args.use_cg = bool(not args.no_callgrind and shutil.which("valgrind"))
    if not use_cg:
        log("valgrind not found or disabled: no instruction counts")

    t0 = time.monotonic()
    try:
        rows, oc = measure_all(args, use_cg)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    elapsed = time.monotonic() - t0
    write_outputs(args, argv, rows, oc, elapsed)
    log("done in %.0f s: %s/overhead.md, overhead.csv" % (elapsed, args.out))
    return 0


def measure_all(args, use_cg):
    # The select file is made once, without the shim, so both sides read the same bytes.
    run(args, [args.prog, "select", db_for(args, "select", False), "1"], False)
    rows = []
    for kind in KINDS:
        r = dict(kind=kind)
        if use_cg:
            r["ir_plain"] = callgrind(args, kind, False)
            r["ir_shim"] = callgrind(args, kind, True)
            r["ir_ratio"] = r["ir_shim"] / r["ir_plain"]
            r["ir_extra"] = r["ir_shim"] - r["ir_plain"]
        r.update(wall(args, kind))
        rows.append(r)
        log("%-10s Ir/step %s -> %s (x%s), wall x%.3f (%.0f -> %.0f ns)" % (
            kind, fmt(r.get("ir_plain"), 0), fmt(r.get("ir_shim"), 0), fmt(r.get("ir_ratio"), 4),
            r["ratio"], r["ns_plain"], r["ns_shim"]))
    return rows, open_cost(args)


def write_outputs(args, argv, rows, oc, elapsed):
    fields = ["kind", "ir_plain", "ir_shim", "ir_extra", "ir_ratio", "steps", "pairs", "ns_plain",
              "ns_shim", "ratio", "ratio_min", "ratio_max", "ratio_best", "rss_delta_kb"]
    with open(os.path.join(args.out, "overhead.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 4) if isinstance(v, float) else v)
                        for k, v in r.items()})
        for name in ("first", "steady", "convert"):
            row = dict(kind="open-" + name, ns_plain=round(oc[name][0] * 1000),
                       ns_shim=round(oc[name][1] * 1000),
                       ratio=round(oc[name][1] / oc[name][0], 3), pairs=args.open_runs)
            if "ir_" + name in oc:
                a, b = oc["ir_" + name]
                row.update(ir_plain=round(a), ir_shim=round(b), ir_extra=round(b - a),
                           ir_ratio=round(b / a, 4))
            w.writerow(row)

    L = ["# lockfix overhead benchmark\n",
         "Shim measured: %s (%s). %s. Command: `%s`. %.0f s.\n" % (
             contention.shim_identity(), args.shim, "QUICK" if args.quick else "full",
             os.environ.get("BENCH_COMMAND", " ".join(argv)), elapsed),
         "Per statement = bind + `sqlite3_step` + `sqlite3_reset` in a loop (bench/overhead.c). "
         "Both sides run with WAL and a 5000 ms busy timeout already set, so SQLite does the "
         "same work and the difference is the shim's own code.\n",
         "| statement | instr/stmt without | with | extra instr | instr ratio | wall ns without "
         "| with | wall ratio: median of %d pairs (min–max) | best with / best without |"
         % args.pairs,
         "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        L.append("| %s (%d steps a run) | %s | %s | %s | **%s** | %.0f | %.0f | %.3f (%.3f–%.3f) "
                 "| %.3f |" % (
                     LABEL[r["kind"]], r["steps"], fmt(r.get("ir_plain"), 0),
                     fmt(r.get("ir_shim"), 0), fmt(r.get("ir_extra"), 0),
                     fmt(r.get("ir_ratio"), 4), r["ns_plain"], r["ns_shim"], r["ratio"],
                     r["ratio_min"], r["ratio_max"], r["ratio_best"]))
    L.append("")
    L.append("| open (sqlite3_open_v2 + first statement + close), median of %d processes | "
             "without µs | with µs | ratio | instr without | with | instr ratio |"
             % args.open_runs)
    L.append("|---|--:|--:|--:|--:|--:|--:|")
    names = {"first": "first open in a process (WAL file; includes the shim's set-up)",
             "steady": "later opens in the same process (median of %d)" % (args.open_steps - 1),
             "convert": "first open of a rollback-journal file (the shim switches it to WAL)"}
    for name in ("first", "steady", "convert"):
        a, b = oc[name]
        ir = oc.get("ir_" + name)
        ir = ir or (None, None)
        L.append("| %s | %.0f | %.0f | %.2f | %s | %s | %s |" % (
            names[name], a, b, b / a, fmt(ir[0], 0), fmt(ir[1], 0),
            fmt(ir[1] / ir[0], 3) if ir[0] else "–"))
    L.append("")
    sel = next(r for r in rows if r["kind"] == "select")
    L.append("Resident memory (VmRSS) added by the shim: %+.0f KiB after the select run "
             "(median of %d pairs), %+.0f KiB after %d opens (%.0f → %.0f KiB).\n" % (
                 sel["rss_delta_kb"], args.pairs, oc["rss"][1] - oc["rss"][0], args.open_steps,
                 oc["rss"][0], oc["rss"][1]))
    with open(os.path.join(args.out, "overhead.md"), "w") as f:
        f.write("\n".join(L))


def fmt(v, nd):
    if v is None:
        return "–"
    return ("%%.%df" % nd) % v


if __name__ == "__main__":
    sys.exit(main(sys.argv))

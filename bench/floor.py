#!/usr/bin/env python3
"""Floor of interposition: instructions per statement that any sqlite3_step/reset shim must add.

Runs build/bench/overhead (bench/overhead.c) under callgrind (--toggle-collect=measure: bind,
step, reset per statement) with no preload, with the two bench/floor.c libraries (forward only;
forward + the facts a retry rule asks before each step) and with lockfix, and writes a markdown
table to OUT/floor.md (and stdout). The question it answers: is "uncontended overhead <= 1%
instructions per statement" reachable at all for cheap statements, or does interposition alone
spend the budget?

Instructions per statement = the collected total ("summary:" line, as bench/overhead.py reads it)
divided by the statements measure() ran, counted from callgrind's own record of measure's calls
to sqlite3_step (a check on N: the select mode's warm-up runs outside measure() and is not
counted).
Python standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import contention  # noqa: E402  (shim_identity)
import overhead  # noqa: E402  (fresh: delete DB, -wal, -shm, -journal, -lockfix)

ROOT = overhead.ROOT
MODES = (("select", 20000), ("insert", 20000), ("autocommit", 2000))
CONFIGS = ("without", "forward", "facts", "lockfix")


def log(msg):
    sys.stderr.write("floor: %s\n" % msg)
    sys.stderr.flush()


def measured(path):
    """(total Ir collected, calls of sqlite3_step made by measure()) from a callgrind file."""
    names, fn, cfn, total, steps = {}, None, None, None, 0
    with open(path) as f:
        for line in f:
            m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3)
                if m.group(1) == "fn":
                    fn = names.get(m.group(2))
                else:
                    cfn = names.get(m.group(2))
            elif line.startswith("calls=") and fn == "measure" and cfn == "sqlite3_step":
                steps += int(line[6:].split()[0])
            elif line.startswith("summary:"):
                total = int(line.split()[1])
    if total is None or steps == 0:
        raise SystemExit("floor: no summary or no measured steps in %s" % path)
    return total, steps


def run(args, mode, n, config):
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if config != "without":
        env["LD_PRELOAD"] = args.lib[config]
    if config == "lockfix":
        env["LOCKFIX_LOG"] = "off"
    if mode == "select":
        db = os.path.join(args.work, "select.db")  # one prepared file, read by every config
    else:
        db = os.path.join(args.work, "%s-%s.db" % (mode, config))
        overhead.fresh(db)
    out = os.path.join(args.work, "callgrind.%s.%s" % (mode, config))
    argv = ["valgrind", "--tool=callgrind", "--toggle-collect=measure",
            "--callgrind-out-file=" + out, args.prog, mode, db, str(n)]
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("floor: %s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                        p.stderr.strip()[-500:]))
    total, steps = measured(out)
    if steps < n:
        raise SystemExit("floor: %s: %d steps counted, expected at least %d" % (out, steps, n))
    return total / steps, steps


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results"))
    ap.add_argument("--dir", default=None, help="where the databases live (default: /dev/shm)")
    ap.add_argument("--prog", default=os.path.join(ROOT, "build", "bench", "overhead"))
    ap.add_argument("--shim", default=os.path.join(ROOT, "build", "liblockfix.so"))
    ap.add_argument("--floor-dir", default=os.path.join(ROOT, "build", "bench"))
    args = ap.parse_args(argv[1:])
    args.lib = {"forward": os.path.join(args.floor_dir, "floor-forward.so"),
                "facts": os.path.join(args.floor_dir, "floor-facts.so"),
                "lockfix": args.shim}
    args.lib = {k: os.path.abspath(v) for k, v in args.lib.items()}
    for p in [args.prog] + list(args.lib.values()):
        if not os.path.exists(p):
            raise SystemExit("floor: %s not built (make bench-floor builds it)" % p)
    if not shutil.which("valgrind"):
        raise SystemExit("floor: valgrind not found")
    base = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else args.out)
    args.work = os.path.join(base, "lockfix-floor-%d-%d" % (os.getuid(), os.getpid()))
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    os.makedirs(args.out, exist_ok=True)

    t0 = time.monotonic()
    ir = {}
    try:
        # The select file is made once, without any preload, so every config reads the same bytes.
        subprocess.run([args.prog, "select", os.path.join(args.work, "select.db"), "1"],
                       check=True, capture_output=True, env={k: v for k, v in os.environ.items()
                                                              if k != "LD_PRELOAD"})
        for mode, n in MODES:
            for config in CONFIGS:
                ir[mode, config], steps = run(args, mode, n, config)
                log("%-10s %-8s %9.1f instr/statement (%d statements)" % (
                    mode, config, ir[mode, config], steps))
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    text = report(args, ir, time.monotonic() - t0)
    with open(os.path.join(args.out, "floor.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    log("written %s" % os.path.join(args.out, "floor.md"))
    return 0


def report(args, ir, elapsed):
    cmd = os.environ.get("BENCH_COMMAND", "make bench-floor")
    L = ["# Floor of interposition: instructions per statement (callgrind)\n",
         "lockfix %s; `%s`; %.0f s. One statement = bind + `sqlite3_step` + `sqlite3_reset` "
         "(bench/overhead.c `measure()`). forward = a preload that only forwards step and reset; "
         "facts = forward + `sqlite3_stmt_busy`, `sqlite3_db_handle`, `sqlite3_get_autocommit` "
         "and, in autocommit, `sqlite3_stmt_readonly` before each step (bench/floor.c). "
         "Cell: instructions per statement (+ extra over without, ratio).\n" % (
             contention.shim_identity(), cmd, elapsed),
         "| mode (N) | without | forward | facts | lockfix |",
         "|---|--:|--:|--:|--:|"]
    for mode, n in MODES:
        base = ir[mode, "without"]
        cells = ["%.0f (+%.1f, ×%.4f)" % (ir[mode, c], ir[mode, c] - base, ir[mode, c] / base)
                 for c in CONFIGS[1:]]
        L.append("| %s (%d) | %.0f | %s |" % (mode, n, base, " | ".join(cells)))
    L += ["", "Share of a 1% budget (1% of the instructions without a preload) each one spends:\n",
          "| mode | 1% budget (instr) | forward | facts | lockfix |", "|---|--:|--:|--:|--:|"]
    for mode, _ in MODES:
        budget = ir[mode, "without"] / 100
        L.append("| %s | %.0f | %s |" % (mode, budget, " | ".join(
            "%.0f%%" % (100 * (ir[mode, c] - ir[mode, "without"]) / budget)
            for c in CONFIGS[1:])))
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv))

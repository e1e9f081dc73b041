#!/usr/bin/env python3
"""What the BEGIN -> BEGIN IMMEDIATE rewrite costs readers (issue 11), measured.

8 python3 readers loop  BEGIN; SELECT count(*), sum(v) FROM t; <sleep 2 ms>; COMMIT
2 python3 writers loop  BEGIN; SELECT v FROM t WHERE id=?; UPDATE t SET v=?; COMMIT; <sleep 1 ms>
(isolation_level=None: the BEGIN and COMMIT are the program's own), for --seconds on a WAL database
(set by the program) in /dev/shm, under each configuration:
  none           no lockfix
  lockfix        LD_PRELOAD of lockfix, defaults: every BEGIN becomes BEGIN IMMEDIATE, so read
                 transactions take the write lock (and a turn in the queue) and serialise
  rewrite=0      lockfix with LOCKFIX_REWRITE=0: reads stay concurrent, read-then-write
                 transactions can fail again
  excluded       lockfix with LOCKFIX_EXCLUDE matching the database: passed through untouched
  none-ro        no lockfix; the readers open the database read-only ("file:...?mode=ro")
  lockfix-ro     lockfix, defaults; the readers open it read-only: a connection that can write
                 no database takes no turn, so their transactions stay concurrent
Prints a markdown table (median of --rounds, and the range) and the command; with --lines, one
line per run instead ("config=KEY reads=N read_failed=N writes=N write_failed=N ..."), for tests.

Usage: bench/readers.py --shim /abs/path/liblockfix.so [--seconds 5] [--rounds 3] [--dir /dev/shm]
                        [--configs none,lockfix,...] [--readers 8] [--lines]
Python standard library only.
"""
import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

WRITERS, ROWS = 2, 1000
READ_HOLD_S, WRITE_PAUSE_S = 0.002, 0.001


# ---- the two programs (run as child processes) ---------------------------------------------

def reader(path, until, read_only):
    if read_only:
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, isolation_level=None)
    else:
        con = sqlite3.connect(path, isolation_level=None)
    done = failed = 0
    longest = 0.0
    while time.time() < until:
        t0 = time.monotonic()
        try:
            con.execute("BEGIN")
            con.execute("SELECT count(*), sum(v) FROM t").fetchone()
            time.sleep(READ_HOLD_S)
            con.execute("COMMIT")
            done += 1
        except sqlite3.OperationalError:
            failed += 1
            if con.in_transaction:
                con.execute("ROLLBACK")
        longest = max(longest, time.monotonic() - t0)
    return dict(done=done, failed=failed, longest_ms=longest * 1000)


def writer(path, until, w):
    con = sqlite3.connect(path, isolation_level=None)
    done = failed = 0
    longest = 0.0
    i = w
    while time.time() < until:
        rid = 1 + i % ROWS
        i += WRITERS
        t0 = time.monotonic()
        try:
            con.execute("BEGIN")
            v = con.execute("SELECT v FROM t WHERE id = ?", (rid,)).fetchone()[0]
            con.execute("UPDATE t SET v = ? WHERE id = ?", (v + 1, rid))
            con.execute("COMMIT")
            done += 1
        except sqlite3.OperationalError:
            failed += 1
            if con.in_transaction:
                con.execute("ROLLBACK")
        longest = max(longest, time.monotonic() - t0)
        time.sleep(WRITE_PAUSE_S)
    return dict(done=done, failed=failed, longest_ms=longest * 1000)


def child(argv):
    role, path, start, until, w = argv[0], argv[1], float(argv[2]), float(argv[3]), int(argv[4])
    time.sleep(max(0.0, start - time.time()))
    if role == "writer":
        out = writer(path, until, w)
    else:
        out = reader(path, until, role == "reader-ro")
    sys.stdout.write(json.dumps(out) + "\n")


# ---- the driver ----------------------------------------------------------------------------

# key, label in the table, the shim's environment (None: no shim), readers open read-only
CONFIGS = [("none", "none", None, False), ("lockfix", "lockfix", {}, False),
           ("rewrite=0", "rewrite=0", {"LOCKFIX_REWRITE": "0"}, False),
           ("excluded", "excluded", {"LOCKFIX_EXCLUDE": "*"}, False),
           ("none-ro", "none, readers mode=ro", None, True),
           ("lockfix-ro", "lockfix, readers mode=ro", {}, True)]


def one_run(base, shim, extra, seconds, readers, read_only):
    d = tempfile.mkdtemp(prefix="run-", dir=base)
    path = os.path.join(d, "readers.db")
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
    c.executemany("INSERT INTO t VALUES(?, 0)", [(i,) for i in range(1, ROWS + 1)])
    c.commit()
    c.close()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LOCKFIX_") and k != "LD_PRELOAD"}
    if extra is not None:
        env.update(LD_PRELOAD=shim, LOCKFIX_LOG=os.path.join(d, "lockfix.log"), **extra)
        if "LOCKFIX_EXCLUDE" in extra:
            env["LOCKFIX_EXCLUDE"] = path
    # every child must be running by then: python's start takes a while on a loaded machine
    start = time.time() + 0.5 + 0.25 * (readers + WRITERS)
    until = start + seconds
    procs = []
    for role, n in (("reader-ro" if read_only else "reader", readers), ("writer", WRITERS)):
        for w in range(n):
            procs.append((role, subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--child", role, path, repr(start),
                 repr(until), str(w)], env=env, stdout=subprocess.PIPE, text=True)))
    res = {"reader": [], "reader-ro": [], "writer": []}
    for role, p in procs:
        out, _ = p.communicate(timeout=seconds + 120)
        if p.returncode != 0:
            raise SystemExit("readers.py: a %s exited %d" % (role, p.returncode))
        res[role].append(json.loads(out))
    c = sqlite3.connect(path)
    total = c.execute("SELECT sum(v) FROM t").fetchone()[0]
    ok = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    shutil.rmtree(d, ignore_errors=True)
    rd, wr = res["reader"] + res["reader-ro"], res["writer"]
    r = dict(reads=sum(x["done"] for x in rd), read_failed=sum(x["failed"] for x in rd),
             read_longest_ms=max(x["longest_ms"] for x in rd),
             writes=sum(x["done"] for x in wr), write_failed=sum(x["failed"] for x in wr),
             write_longest_ms=max(x["longest_ms"] for x in wr))
    if total != r["writes"] or ok != "ok":
        raise SystemExit("readers.py: lost updates or a damaged database: sum %s, writes %d, %s"
                         % (total, r["writes"], ok))
    return r


def cell(values, fmt="{:,.0f}"):
    med = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return fmt.format(med)
    return "%s (%s–%s)" % (fmt.format(med), fmt.format(min(values)), fmt.format(max(values)))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shim", default=os.environ.get("LOCKFIX_TEST_SHIM"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    ap.add_argument("--configs", default=",".join(c[0] for c in CONFIGS),
                    help="which configurations, by key, comma-separated (default: all)")
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--lines", action="store_true", help="one line per run, no table")
    args = ap.parse_args()
    keys = args.configs.split(",")
    unknown = [k for k in keys if k not in [c[0] for c in CONFIGS]]
    if unknown:
        sys.exit("readers.py: unknown configuration %s" % ", ".join(unknown))
    configs = [c for c in CONFIGS if c[0] in keys]
    if not args.shim or not os.path.isabs(args.shim) or not os.path.exists(args.shim):
        sys.exit("readers.py: give the shim's absolute path (--shim or LOCKFIX_TEST_SHIM)")
    base = tempfile.mkdtemp(prefix="lockfix-readers-", dir=args.dir)
    runs = {key: [] for key, _, _, _ in configs}
    try:
        for rnd in range(args.rounds):
            for key, _, extra, read_only in configs:
                r = one_run(base, args.shim, extra, args.seconds, args.readers, read_only)
                runs[key].append(r)
                sys.stderr.write("readers: round %d %-10s %s\n" % (rnd + 1, key, r))
                if args.lines:
                    print("config=%s %s" % (key, " ".join("%s=%s" % (k, round(v, 1))
                                                          for k, v in r.items())), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.lines:
        return 0
    print("%d readers (BEGIN; SELECT count(*), sum(v) FROM t; 2 ms; COMMIT) and %d writers "
          "(BEGIN; SELECT v; UPDATE; COMMIT; 1 ms), %g s, WAL, %s; median of %d rounds (range). "
          "Python %s, SQLite %s, %s, %d CPUs."
          % (args.readers, WRITERS, args.seconds, args.dir, args.rounds, platform.python_version(),
             sqlite3.sqlite_version, platform.machine(), os.cpu_count()))
    print()
    print("| configuration | read txns | failed | longest read txn (ms) "
          "| write txns | failed | longest write txn (ms) |")
    print("|---|---|---|---|---|---|---|")
    for key, label, _, _ in configs:
        rs = runs[key]
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, cell([r["reads"] for r in rs]), cell([r["read_failed"] for r in rs]),
            cell([r["read_longest_ms"] for r in rs]), cell([r["writes"] for r in rs]),
            cell([r["write_failed"] for r in rs]), cell([r["write_longest_ms"] for r in rs])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

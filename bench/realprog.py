#!/usr/bin/env python3
"""What lockfix costs a real program that barely needs it: wall clock and memory.

Wall clock: one python3 process writes N notes (a table plus an FTS5 index, python's default
transaction handling, one commit per note) and runs a search after every tenth, on one connection,
with nobody else on the database. Runs alternate without and with LD_PRELOAD=SHIM (ROUNDS pairs,
the order swapped every pair); the figure is the median of the per-pair ratios with/without, of
the process's CPU time (user + system, which a busy shared machine disturbs far less than the
wall clock) and of the wall clock.
Twice: on a database the program itself puts in WAL mode (lockfix's own cost: it has nothing to
change), and on a new database left in SQLite's default rollback journal (what a user sees: there
lockfix's switch to WAL is part of the difference).

Memory: VmRSS of a python3 process after it opened 1 connection, then 200 more, then prepared
(and kept) 200 statements, without and with the shim: the process's added resident memory at one
connection, and per further connection and per statement.

Instructions: the same workload (--count-notes of them, WAL set by the program) under callgrind,
without and with the shim, and without it but with python opening its transactions with BEGIN
IMMEDIATE (the part of the difference that is SQLite doing what the rewrite asks): the whole
process's instruction count, which the machine's load does not change.

usage: realprog.py --shim build/liblockfix.so [--notes 10000] [--rounds 5] [--count-notes 10000]
                   [--dir /dev/shm]
Prints a markdown table; python3 standard library only.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOAD = r"""
import sqlite3, sys, time
db, n, wal = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "wal"
# a 4th argument, IMMEDIATE, makes python itself open its transactions as lockfix rewrites them
con = sqlite3.connect(db, isolation_level=sys.argv[4]) if len(sys.argv) > 4 else sqlite3.connect(db)
if wal:
    con.execute("PRAGMA journal_mode=WAL")
con.execute("CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, title TEXT, body TEXT)")
con.execute("CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(title, body)")
con.commit()
words = "sqlite lock wal fts5 queue writer reader busy timeout note server".split()
t, cpu = time.perf_counter(), time.process_time()
hits = 0
for i in range(n):
    title = "note %d" % i
    body = " ".join(words[(i * 7 + k) % len(words)] for k in range(12))
    cur = con.execute("INSERT INTO notes(title, body) VALUES (?, ?)", (title, body))
    con.execute("INSERT INTO search(rowid, title, body) VALUES (?, ?, ?)",
                (cur.lastrowid, title, body))
    con.commit()
    if i % 10 == 9:
        hits += len(con.execute("SELECT rowid FROM search WHERE search MATCH ? LIMIT 20",
                                (words[i % len(words)],)).fetchall())
print("%.6f %.6f %d" % (time.perf_counter() - t, time.process_time() - cpu, hits))
"""

MEMORY = r"""
import sqlite3, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
d = sys.argv[1]
first = sqlite3.connect(d + "/m0.db")
first.execute("CREATE TABLE IF NOT EXISTS t(x)")
first.commit()
a = rss()
cons = [sqlite3.connect(d + "/m0.db") for _ in range(200)]
for c in cons:
    c.execute("SELECT count(*) FROM t").fetchone()
b = rss()
stmts = [first.execute("SELECT x FROM t WHERE x = %d" % i) for i in range(200)]
c = rss()
print(a, b, c)
"""


def run(code, args, env):
    out = subprocess.run([sys.executable, "-c", code] + args, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return out


def env_for(shim):
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("LOCKFIX_")}
    if shim:
        env["LD_PRELOAD"] = shim
        env["LOCKFIX_LOG"] = "off"
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True)
    ap.add_argument("--notes", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count-notes", type=int, default=10000)
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    a = ap.parse_args()
    shim = os.path.abspath(a.shim)
    top = tempfile.mkdtemp(prefix="lockfix-realprog.", dir=a.dir)
    try:
        rows = []
        for mode in ("wal", "default"):
            ratios, times, wall = [], {False: [], True: []}, []
            for r in range(a.rounds):
                order = (False, True) if r % 2 == 0 else (True, False)
                got = {}
                for with_shim in order:
                    db = os.path.join(top, "notes-%s-%d-%d.db" % (mode, r, with_shim))
                    secs, cpu, hits = run(WORKLOAD, [db, str(a.notes), mode],
                                          env_for(shim if with_shim else None))
                    got[with_shim] = (float(cpu), int(hits), float(secs))
                    times[with_shim].append(float(cpu))
                if got[False][1] != got[True][1]:
                    sys.exit("realprog: searches found %d rows without lockfix, %d with it"
                             % (got[False][1], got[True][1]))
                ratios.append(got[True][0] / got[False][0])
                wall.append(got[True][2] / got[False][2])
            rows.append((mode, ratios, times, wall))
        instr = {}
        if shutil.which("valgrind") and a.count_notes > 0:
            # three runs: without, with the shim, and without it but with python opening its
            # transactions as BEGIN IMMEDIATE itself (what SQLite does differently because of
            # the rewrite, apart from lockfix's own code). A fixed hash seed: the same run
            # counts the same, within about 0.01 %.
            for key in (False, True, "immediate"):
                db = os.path.join(top, "count-%s.db" % key)
                out = os.path.join(top, "callgrind.%s" % key)
                env = env_for(shim if key is True else None)
                env["PYTHONHASHSEED"] = "0"
                subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                sys.executable, "-c", WORKLOAD, db, str(a.count_notes), "wal"]
                               + (["IMMEDIATE"] if key == "immediate" else []),
                               env=env, check=True, capture_output=True)
                for line in open(out):
                    if line.startswith("summary:") or line.startswith("totals:"):
                        instr[key] = int(line.split()[1])
        mem = {}
        for with_shim in (False, True):
            d = tempfile.mkdtemp(dir=top)
            mem[with_shim] = [int(x) for x in run(MEMORY, [d], env_for(shim if with_shim else None))]
        one = mem[True][0] - mem[False][0]
        per_conn = ((mem[True][1] - mem[True][0]) - (mem[False][1] - mem[False][0])) / 200.0
        per_stmt = ((mem[True][2] - mem[True][1]) - (mem[False][2] - mem[False][1])) / 200.0
        print("| measure | without | with lockfix | ratio / difference |")
        print("|---|---|---|---|")
        for mode, ratios, times, wall in rows:
            what = ("WAL set by the program" if mode == "wal"
                    else "default journal (lockfix switches it to WAL)")
            print("| %d notes + %d searches, one connection, %s (median CPU s) | %.3f | %.3f | "
                  "**%.4f x** CPU (median of %d alternating pairs: %s); wall clock %.4f x |"
                  % (a.notes, a.notes // 10, what, statistics.median(times[False]),
                     statistics.median(times[True]), statistics.median(ratios), a.rounds,
                     ", ".join("%.3f" % x for x in ratios), statistics.median(wall)))
        if len(instr) == 3:
            print("| %d notes + %d searches under callgrind, WAL (instructions, whole process) | "
                  "%d | %d | **%.4f x** |" % (a.count_notes, a.count_notes // 10, instr[False],
                                              instr[True], instr[True] / instr[False]))
            print("| of which SQLite running BEGIN IMMEDIATE instead of BEGIN (python told to, "
                  "no lockfix) | %d | %d | %.4f x; lockfix's own code: **%.4f x** |"
                  % (instr[False], instr["immediate"], instr["immediate"] / instr[False],
                     instr[True] / instr["immediate"]))
        print("| VmRSS after one connection | %d KiB | %d KiB | %+d KiB |"
              % (mem[False][0], mem[True][0], one))
        print("| per further connection (200) | | | %+.1f KiB |" % per_conn)
        print("| per prepared statement (200) | | | %+.1f KiB |" % per_stmt)
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()

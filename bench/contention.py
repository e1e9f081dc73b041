#!/usr/bin/env python3
"""Contention benchmark driver: W writers x hold time x configuration x client language.

Runs bench/writer.c (built as build/bench/writer) and bench/writer.py against one fresh database
per cell, and writes to OUT (default bench-results/):
  results.csv   one row per cell, plus the serial rows (kind=serial)
  results.md    the same as markdown tables, with the machine and the command
  throughput.png, p99.png, max.png, failures.png
                one panel per (language, hold), one line per configuration; the serial limit
                (throughput) and the fair-queue bound (waits) drawn in, a cross where some
                transactions failed (waits count committed transactions only)
  summary.png   the headline: python, one hold, throughput + failures + p99, for the README
Python standard library only (no pip); charts need gnuplot (gnuplot-nox).

Definitions (also in docs/benchmarks.md):
  serial limit   throughput of ONE writer of the same language, hold and configuration, alone,
                 measured in the same run (before the cells of that hold).
  mean txn time  mean BEGIN-to-COMMIT time of that serial writer.
  fair bound     W x mean txn time: the wait of a writer that queues behind every other writer
                 once, which is what a fair FIFO queue guarantees.
  throughput     commits completed within the cell's duration / duration (steady state: every
                 writer is still starting transactions).
  throughput_all all commits / (time from "go" to the last writer's end): includes the tail,
                 when writers have stopped starting transactions and finish the ones in flight
                 (tail_s = how long that took).
  wait           BEGIN-to-COMMIT time of committed transactions (failed ones are counted in
                 `failed`; their longest time is `fail_max_ms`).
  lost           commits - final counter: updates that two writers both believed they made.

Configurations: none, textbook, lockfix (see bench/writer.c). Extra lockfix variants can be given
as LABEL:VAR=VALUE[,VAR=VALUE...], e.g. "lockfix-noqueue:LOCKFIX_QUEUE=off": they run like
lockfix with those variables added. LOCKFIX_* variables of the caller's environment reach every
lockfix variant (LOCKFIX_LOG defaults to a file per cell).
"""
import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGS = ("c", "python")
BASE_CONFIGS = ("none", "textbook", "lockfix")
COLORS = {"none": "#d62728", "textbook": "#1f77b4", "lockfix": "#2ca02c"}
EXTRA_COLORS = ["#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]

# Matrices. The default fits `make bench` in under 10 minutes on 2 cores; see docs/benchmarks.md.
FULL = dict(writers=[1, 2, 4, 8, 16, 32, 64, 128], holds=[0, 1, 5, 20], seconds=3.0, rounds=3,
            max_seconds=12.0)
DEFAULT = dict(writers=[1, 4, 16, 64, 128], holds=[0, 5, 20], seconds=1.5, rounds=2,
               max_seconds=6.0)
QUICK = dict(writers=[1, 4], holds=[0, 5], seconds=0.4, rounds=1, max_seconds=1.0)


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ---- configurations ----------------------------------------------------------------------------

class Config:
    """One column of the comparison: what the writer is told, and the environment it runs in."""

    def __init__(self, spec, shim):
        label, _, env = spec.partition(":")
        self.label = label
        self.shim = shim
        if label in ("none", "textbook"):
            if env:
                raise SystemExit("bench: %s takes no variables" % label)
            self.writer_cfg, self.extra = label, {}
        else:
            self.writer_cfg = "lockfix"
            self.extra = dict(kv.split("=", 1) for kv in env.split(",") if kv)
            if label != "lockfix" and not env:
                raise SystemExit("bench: unknown configuration %r" % spec)

    @property
    def preload(self):
        return self.writer_cfg == "lockfix"

    def env(self, cell_dir):
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("LOCKFIX_")}
        if self.preload:
            env.update({k: v for k, v in os.environ.items() if k.startswith("LOCKFIX_")})
            env.setdefault("LOCKFIX_LOG", os.path.join(cell_dir, "lockfix.log"))
            env.update(self.extra)
            env["LD_PRELOAD"] = self.shim
        return env


# ---- one cell ----------------------------------------------------------------------------------

def init_db(path, wal=False):
    """counter(id=1, v=0) in a rollback-journal (DELETE) file, SQLite's default: what
    unmodified programs get. Made without the shim (this process is not preloaded).

    For textbook the file is made in WAL mode already, as a deployment step would: when several
    processes run `PRAGMA journal_mode=WAL` on a new rollback-journal file at once, SQLite fails
    some of them with "database is locked" at once, busy timeout or not (both hold a read lock
    and want the exclusive one). Their PRAGMA then finds WAL and changes nothing."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=%s" % ("WAL" if wal else "DELETE"))
    con.execute("CREATE TABLE counter(id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
    con.execute("INSERT INTO counter VALUES(1, 0)")
    con.close()


def check_db(path):
    """Final counter, journal mode and integrity_check answer, read without the shim."""
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        v = con.execute("SELECT v FROM counter WHERE id=1").fetchone()[0]
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    return v, mode, ok


def writer_cmd(args, lang, db, cfg, hold, out):
    if lang == "c":
        return [args.writer_c, db, cfg.writer_cfg, str(hold), out]
    return [args.python, os.path.join(ROOT, "bench", "writer.py"), db, cfg.writer_cfg, str(hold),
            out]


def parse_writer(path):
    with open(path) as f:
        head = f.readline().split()
        if not head or head[0] != "writer":
            raise ValueError("bad header in %s" % path)
        info = dict(w.split("=", 1) for w in head[1:])
        for k in list(info):
            if re.fullmatch(r"-?\d+", info[k]):
                info[k] = int(info[k])
        lat, ends = [], []
        t0 = info["t0_ns"]
        for line in f:
            s_us, l_us = line.split()
            lat.append(int(l_us))
            ends.append(t0 + (int(s_us) + int(l_us)) * 1000)
    if info["committed"] != len(lat):
        raise ValueError("%s: committed=%d but %d samples" % (path, info["committed"], len(lat)))
    return info, lat, ends


def kill_all(procs):
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in procs:
        p.wait()


def one_line_each(procs, limit, poll_s):
    """Read one line from each writer's stdout, until all have answered or the monotonic clock
    passes `limit`; returns {proc: line} for those that answered (b"" for one that exited)."""
    lines = {}
    sel = selectors.DefaultSelector()
    for p in procs:
        sel.register(p.stdout, selectors.EVENT_READ, p)
    while len(lines) < len(procs) and time.monotonic() < limit:
        for key, _ in sel.select(timeout=poll_s):
            lines[key.data] = key.fileobj.readline()
            sel.unregister(key.fileobj)
    sel.close()
    return lines


def run_cell(args, lang, cfg, hold, nwriters, seconds, tag):
    """Start nwriters writers, release them together, wait, and collect. Never raises for a
    writer's fault: faults are returned in r["faults"] so the table shows them."""
    cell_dir = os.path.join(args.work, tag)
    shutil.rmtree(cell_dir, ignore_errors=True)
    os.makedirs(cell_dir)
    db = os.path.join(cell_dir, "bench.db")
    init_db(db, wal=cfg.writer_cfg == "textbook")
    env = cfg.env(cell_dir)
    errpath = os.path.join(cell_dir, "stderr")
    faults = []
    procs = []
    t_setup = time.monotonic()
    with open(errpath, "ab") as err:
        for i in range(nwriters):
            out = os.path.join(cell_dir, "w%03d" % i)
            procs.append(subprocess.Popen(writer_cmd(args, lang, db, cfg, hold, out), env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=err, close_fds=True))
    # Wait for every "ready": a writer that dies or hangs in setup is a fault of the cell.
    lines = one_line_each(procs, time.monotonic() + args.setup_timeout, 0.5)
    for p, line in lines.items():
        if line.strip() != b"ready":
            faults.append("writer pid %d failed in setup" % p.pid)
    waiting = len(procs) - len(lines)
    if waiting:
        faults.append("%d writers not ready after %ds" % (waiting, args.setup_timeout))
    setup_s = time.monotonic() - t_setup

    go = time.monotonic_ns()
    deadline = go + int(seconds * 1e9)
    msg = ("go %d 0\n" % deadline).encode()
    for p in procs:
        try:
            p.stdin.write(msg)
            p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
    # Wait until every writer has written its results ("done") or exited; a cell that overruns
    # (a hang) is killed and reported as a timeout. Writers linger after "done" until all are
    # done, so the exits of the first ones (an interpreter's teardown) take no CPU from the
    # transactions still running.
    limit = time.monotonic() + seconds + args.cell_timeout
    one_line_each(procs, limit, 0.1)  # "done", or "" when a writer exited
    for p in procs:
        try:
            p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
    while any(p.poll() is None for p in procs) and time.monotonic() < limit + 5:
        time.sleep(0.02)
    hung = [p for p in procs if p.poll() is None]
    if hung:
        faults.append("timeout: %d writers still running %ds after the deadline, killed"
                      % (len(hung), args.cell_timeout))
        kill_all(hung)
    for p in procs:
        p.stdout.close()

    committed = failed = locked = errors = 0
    fail_where = {"begin": 0, "select": 0, "update": 0, "commit": 0}
    fail_max = 0
    lat = []
    per_writer = []
    end_ns = go
    crashed = 0
    in_window = 0
    first_error = None
    for i, p in enumerate(procs):
        out = os.path.join(cell_dir, "w%03d" % i)
        if p.returncode != 0 and p not in hung:
            crashed += 1
            faults.append("writer %d exited with %s" % (
                i, ("signal %d" % -p.returncode) if p.returncode < 0 else p.returncode))
        if not os.path.exists(out):
            per_writer.append(0)
            continue
        try:
            info, samples, ends = parse_writer(out)
        except (ValueError, KeyError) as e:
            faults.append(str(e))
            continue
        committed += info["committed"]
        failed += info["failed"]
        locked += info["locked"]
        errors += info["errors"]
        for k in fail_where:
            fail_where[k] += info["fail_" + k]
        fail_max = max(fail_max, info["fail_max_us"])
        end_ns = max(end_ns, info["end_ns"])
        if info["first_error"] != "-" and first_error is None:
            first_error = info["first_error"]
        per_writer.append(info["committed"])
        lat.extend(samples)
        in_window += sum(1 for e in ends if e <= deadline)
    if errors:
        faults.append("%d non-lock errors, first: %s" % (errors, first_error))
    try:
        counter, mode, integrity = check_db(db)
    except sqlite3.Error as e:
        counter, mode, integrity = None, "?", "check failed: %s" % e
    if integrity != "ok":
        faults.append("integrity_check: %s" % integrity)
    if os.path.getsize(errpath):
        with open(errpath, errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
        if lines:
            faults.append("stderr (%d lines): %s" % (len(lines), lines[0][:160]))
    notes = []
    lf_log = os.path.join(cell_dir, "lockfix.log")
    if os.path.exists(lf_log):
        with open(lf_log, errors="replace") as f:
            text = f.read()
        # LOCKFIX_LOG_REPEAT=1 (default): each event is logged once per connection.
        for ev in ("gave-up", "wal-failed"):
            n = text.count(" %s " % ev)
            if n:
                faults.append("lockfix log: %d connections %s" % (n, ev))
        n = text.count(" retry ")
        if n:
            notes.append("%d conns retried" % n)
    # commits - counter: > 0 means updates lost (two writers read the same value and both
    # committed), < 0 means a transaction reported as failed was in fact committed. Unknown when
    # a writer died before writing its results.
    lost = committed - counter if counter is not None and not crashed and not hung else ""
    if lost not in ("", 0):
        faults.append("counter %s != commits %d" % (counter, committed))
    makespan = (end_ns - go) / 1e9
    lat.sort()
    r = dict(kind="cell", lang=lang, hold_ms=hold, writers=nwriters, config=cfg.label,
             seconds=round(seconds, 2), committed=committed, failed=failed, locked=locked,
             errors=errors, counter=counter,
             lost=lost,
             journal=mode, makespan_s=round(makespan, 3), setup_s=round(setup_s, 2),
             throughput=round(in_window / seconds, 1),
             throughput_all=round(committed / makespan, 1) if makespan > 0 else 0.0,
             tail_s=round(max(0.0, makespan - seconds), 2),
             wait_p50_ms=pct_ms(lat, 0.50), wait_p99_ms=pct_ms(lat, 0.99),
             wait_max_ms=pct_ms(lat, 1.0), mean_ms=round(sum(lat) / len(lat) / 1000, 4)
             if lat else "",
             fail_max_ms=round(fail_max / 1000, 1) if failed else "",
             fail_where=" ".join("%s=%d" % kv for kv in fail_where.items() if kv[1]),
             min_commits=min(per_writer) if per_writer else 0,
             max_commits=max(per_writer) if per_writer else 0,
             faults="; ".join(faults), notes="; ".join(notes))
    # A faulty cell's files (writers' results, stderr, lockfix.log, the database) are kept
    # under OUT/cells/ for whoever reads the fault; the others are deleted.
    if faults or args.keep:
        dest = os.path.join(args.out, "cells", tag)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(cell_dir, dest)
        r["notes"] = "; ".join(notes + ["files in %s" % dest])
    shutil.rmtree(cell_dir, ignore_errors=True)
    return r


def pct_ms(sorted_us, p):
    """Nearest-rank percentile, in ms."""
    if not sorted_us:
        return ""
    k = max(0, math.ceil(p * len(sorted_us)) - 1)
    return round(sorted_us[k] / 1000, 3)


# ---- the matrix --------------------------------------------------------------------------------

def run_matrix(args, configs):
    rows = []
    serial = {}
    total = len(args.holds) * len(args.langs) * len(configs) * \
        (1 + len([w for w in args.writers if w != 1]))
    done = 0
    t_start = time.monotonic()
    rot = 0
    for hold in args.holds:
        # The serial limits of this hold first: they set the fair bound and the cell durations.
        order = [(c, l) for c in configs for l in args.langs]
        for cfg, lang in rotate(order, rot):
            rot += 1
            r = run_cell(args, lang, cfg, hold, 1, args.seconds,
                         "serial-%s-%s-h%d" % (lang, cfg.label, hold))
            r["kind"] = "serial"
            serial[(lang, cfg.label, hold)] = r
            rows.append(r)
            done += 1
            progress(done, total, t_start, r)
        for w in args.writers:
            for cfg, lang in rotate(order, rot):
                rot += 1
                s = serial[(lang, cfg.label, hold)]
                if w == 1:
                    # One writer alone is the serial run itself: not measured twice.
                    r = dict(s, kind="cell")
                    add_limits(r, s)
                    rows.append(r)
                    continue
                mean_s = (s["mean_ms"] or 0) / 1000
                seconds = min(max(args.seconds, args.rounds * w * mean_s), args.max_seconds)
                r = run_cell(args, lang, cfg, hold, w, seconds,
                             "cell-%s-%s-h%d-w%d" % (lang, cfg.label, hold, w))
                add_limits(r, s)
                rows.append(r)
                done += 1
                progress(done, total, t_start, r)
    return rows


def rotate(seq, k):
    """Each cell of a hold/writers group starts with a different configuration, so no
    configuration always runs right after the same one (disk write-back, caches)."""
    k %= len(seq)
    return seq[k:] + seq[:k]


def add_limits(r, s):
    r["serial_tps"] = s["throughput"] if not s["faults"] else ""
    r["tput_ratio"] = round(r["throughput"] / s["throughput"], 3) \
        if r["serial_tps"] not in ("", 0) else ""
    if s["mean_ms"] != "" and not s["faults"]:
        r["bound_ms"] = round(r["writers"] * s["mean_ms"], 3)
        for k, src in (("p99_x_bound", "wait_p99_ms"), ("max_x_bound", "wait_max_ms")):
            r[k] = round(r[src] / r["bound_ms"], 2) if r[src] != "" and r["bound_ms"] else ""
    else:
        r["bound_ms"] = r["p99_x_bound"] = r["max_x_bound"] = ""


def progress(done, total, t_start, r):
    el = time.monotonic() - t_start
    log("[%3d/%d %4.0fs] %-6s %-9s h=%-2d W=%-3d commit=%-6d fail=%-6d lost=%-3s tps=%-7s "
        "p99=%-9s %s" % (done, total, el, r["lang"], r["config"], r["hold_ms"], r["writers"],
                         r["committed"], r["failed"], r["lost"], r["throughput"],
                         r["wait_p99_ms"], ("FAULT " + r["faults"]) if r["faults"] else ""))


# ---- output ------------------------------------------------------------------------------------

CSV_FIELDS = ["kind", "lang", "hold_ms", "writers", "config", "seconds", "committed", "failed",
              "locked", "errors", "lost", "counter", "throughput", "serial_tps", "tput_ratio",
              "throughput_all", "tail_s",
              "wait_p50_ms", "wait_p99_ms", "wait_max_ms", "mean_ms", "bound_ms", "p99_x_bound",
              "max_x_bound", "fail_max_ms", "fail_where", "min_commits", "max_commits",
              "journal", "makespan_s", "setup_s", "faults", "notes"]


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    py = subprocess.run([ARGS.python, "-c", "import sys,sqlite3;print(sys.version.split()[0],"
                         "sqlite3.sqlite_version)"], capture_output=True, text=True).stdout.split()
    fs = subprocess.run(["stat", "-f", "-c", "%T", ARGS.work], capture_output=True,
                        text=True).stdout.strip() or "?"
    return dict(nproc=os.cpu_count(), model=model, kernel=platform.release(),
                sqlite=sqlite3.sqlite_version, python=" ".join(py[:1]) or "?",
                python_sqlite=py[1] if len(py) > 1 else "?", fs=fs,
                dir=os.path.dirname(ARGS.work))


def shim_identity():
    """Which shim was measured: the commit, and whether shim/ had uncommitted changes."""
    def git(*a):
        p = subprocess.run(["git", "-C", ROOT] + list(a), capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else "?"
    dirty = git("status", "--porcelain", "--", "shim")
    return "%s%s" % (git("rev-parse", "--short", "HEAD"),
                     " + uncommitted changes in shim/" if dirty else "")


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def fmt(v, nd=None):
    """Floats to 3 significant digits (waits go from 0.005 ms to 5000 ms), or nd decimals."""
    if v == "" or v is None:
        return "–"
    if isinstance(v, float):
        if nd is not None:
            return ("%%.%df" % nd) % v
        if abs(v) >= 100:
            return "%.0f" % v
        return "%.3g" % v
    return str(v)


def write_md(path, rows, meta, configs):
    L = []
    L.append("# lockfix contention benchmark\n")
    L.append("Run %s; %s. Command: `%s`.\n" % (meta["date"], meta["mode"], meta["command"]))
    m = meta["machine"]
    L.append("Machine: %s CPU(s), %s, Linux %s; SQLite %s; python %s (its sqlite3: %s). "
             "Shared with other users: compare ratios measured in this run, not absolute "
             "figures across runs.\n" % (m["nproc"], m["model"], m["kernel"], m["sqlite"],
                                         m["python"], m["python_sqlite"]))
    L.append("Cell duration: max(%.1f s, %d × W × mean txn time), at most %.1f s; total %.0f s. "
             "Writers sleep for the hold. Waits are BEGIN→COMMIT of committed transactions; "
             "bound = W × mean serial txn time (fair FIFO queue); txn/s = commits within the "
             "cell's duration / duration; ×serial = that / the same of one writer alone; tail = "
             "time the writers took, after the duration, to finish the transactions in flight. "
             "Databases on %s (%s). Shim: %s.%s\n"
             % (ARGS.seconds, ARGS.rounds, ARGS.max_seconds, meta["elapsed"], m["fs"], m["dir"],
                meta["shim"], (" lockfix environment: %s." % meta["lockfix_env"])
                if meta["lockfix_env"] else ""))
    faults = [r for r in rows if r["faults"]]
    L.append("**Faults: %d cell(s).**%s\n" % (len(faults), "" if not faults else
             " Listed under the tables."))
    for lang in ARGS.langs:
        for hold in ARGS.holds:
            sr = {r["config"]: r for r in rows if r["kind"] == "serial" and r["lang"] == lang
                  and r["hold_ms"] == hold}
            L.append("## %s writers, hold %d ms\n" % ("C" if lang == "c" else "Python", hold))
            L.append("Serial limit (one writer alone): " + ", ".join(
                "%s %s txn/s (mean txn %s ms)" % (c.label, fmt(sr[c.label]["throughput"]),
                                                   fmt(sr[c.label]["mean_ms"], 2))
                for c in configs if c.label in sr) + ".\n")
            L.append("| W | config | committed | per writer | failed | lost | txn/s | ×serial | "
                     "tail s | wait p50 ms | p99 ms | max ms | bound ms | p99/bound | faults |")
            L.append("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
            for w in ARGS.writers:
                for c in configs:
                    r = next((r for r in rows if r["kind"] == "cell" and r["lang"] == lang and
                              r["hold_ms"] == hold and r["writers"] == w and
                              r["config"] == c.label), None)
                    if r is None:
                        continue
                    L.append("| %d | %s | %d | %s–%s | %s | %s | %s | %s | %s | %s | %s | %s "
                             "| %s | %s | %s |"
                             % (w, c.label, r["committed"], r["min_commits"], r["max_commits"],
                                bold_if(r["failed"]),
                                bold_if(r["lost"]), fmt(r["throughput"]),
                                fmt(r["tput_ratio"], 2), fmt(r["tail_s"], 2),
                                fmt(r["wait_p50_ms"]),
                                fmt(r["wait_p99_ms"]), fmt(r["wait_max_ms"]),
                                fmt(r["bound_ms"]), fmt(r["p99_x_bound"]),
                                "yes" if r["faults"] else ""))
            L.append("")
    if faults:
        L.append("## Faults\n")
        for r in faults:
            L.append("- %s %s hold %d W %d (%s): %s" % (r["lang"], r["config"], r["hold_ms"],
                                                        r["writers"], r["kind"], r["faults"]))
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def bold_if(v):
    if v in ("", None):
        return "–"
    return "**%s**" % v if v != 0 else "0"


# ---- charts ------------------------------------------------------------------------------------

TITLE_PX, LEGEND_PX = 44, 64


def write_charts(out, rows, configs):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no charts (apt-get install gnuplot-nox)")
        return []
    data = os.path.join(out, "chart-data")
    os.makedirs(data, exist_ok=True)
    for lang in ARGS.langs:
        for hold in ARGS.holds:
            for c in configs:
                cells = sorted((r for r in rows if r["kind"] == "cell" and r["lang"] == lang and
                                r["hold_ms"] == hold and r["config"] == c.label),
                               key=lambda r: r["writers"])
                with open(os.path.join(data, "%s-h%d-%s.dat" % (lang, hold, c.label)), "w") as f:
                    f.write("# writers throughput serial_tps p99_ms bound_ms failed max_ms "
                            "failed_pct\n")
                    for r in cells:
                        tried = r["committed"] + r["failed"]
                        f.write("%d %s %s %s %s %d %s %s\n" % (
                            r["writers"], r["throughput"], nz(r["serial_tps"]),
                            nz(r["wait_p99_ms"]), nz(r["bound_ms"]), r["failed"],
                            nz(r["wait_max_ms"]),
                            "%.3f" % (100.0 * r["failed"] / tried) if tried else "NaN"))
    colors = {c.label: COLORS.get(c.label, EXTRA_COLORS[i % len(EXTRA_COLORS)])
              for i, c in enumerate(configs)}
    made = []
    for kind in ("throughput", "p99", "max", "failures"):
        panels = [(kind, lang, hold, None) for lang in ARGS.langs for hold in ARGS.holds]
        png = os.path.join(out, kind + ".png")
        if figure(png, TITLES[kind], panels, len(ARGS.langs), len(ARGS.holds), 440, 360,
                  data, configs, colors, kind):
            made.append(png)
    # The README chart: python (what users run), one hold, both measures side by side.
    lang = "python" if "python" in ARGS.langs else ARGS.langs[0]
    hold = 5 if 5 in ARGS.holds else ARGS.holds[len(ARGS.holds) // 2]
    png = os.path.join(out, "summary.png")
    title = ("%s writers, read-modify-write transactions that hold the lock %d ms"
             % ("Python" if lang == "python" else "C", hold))
    panels = [(k, lang, hold, PANEL[k]) for k in ("throughput", "failures", "p99")]
    if figure(png, title, panels, 1, 3, 430, 400, data, configs, colors, "both"):
        made.append(png)
    return made


def figure(png, title, panels, nrow, ncol, pw, ph, data, configs, colors, legend):
    """Panels placed by hand (not `multiplot layout`) so a title strip above and one legend strip
    below, shared by all panels, get the room they need."""
    W, H = pw * ncol, ph * nrow + TITLE_PX + LEGEND_PX
    g = [common_gp(png, W, H), "set multiplot",
         'set label 99 "%s" at screen 0.5, screen %.4f center font ",14"'
         % (title, 1 - 0.6 * TITLE_PX / H)]
    for i, (kind, lang, hold, ptitle) in enumerate(panels):
        r, c = divmod(i, ncol)
        g.append("set origin %.4f, %.4f" % (c / ncol, (LEGEND_PX + (nrow - 1 - r) * ph) / H))
        g.append("set size %.4f, %.4f" % (1 / ncol, ph / H))
        g.append(panel_gp(kind, data, lang, hold, configs, colors, ptitle))
        if i == 0:
            g.append("unset label 99")
    g.append(legend_gp(configs, colors, legend, LEGEND_PX / H))
    g.append("unset multiplot")
    return run_gnuplot(g, os.path.dirname(png), os.path.basename(png)[:-4])


TITLES = {"throughput": "Throughput (committed transactions/s) vs concurrent writers",
          "p99": "p99 wait of committed transactions, BEGIN to COMMIT (ms, log scale) vs "
                 "concurrent writers",
          "max": "Longest wait of a committed transaction, BEGIN to COMMIT (ms, log scale) vs "
                 "concurrent writers",
          "failures": "Failed transactions ('database is locked'), % of those started, vs "
                      "concurrent writers"}
PANEL = {"throughput": "committed txn/s (higher is better)",
         "failures": "failed transactions, % (lower is better)",
         "p99": "p99 wait of committed txns (ms, log scale)"}


def nz(v):
    return "NaN" if v in ("", None) else v


def common_gp(png, w, h):
    return "\n".join([
        'set terminal pngcairo size %d,%d font "sans,10" noenhanced dashlength 1.5' % (w, h),
        'set output "%s"' % png,
        "set logscale x 2", "set grid lc rgb '#dddddd'", "unset key",
        "set xtics (%s)" % ", ".join('"%d" %d' % (w_, w_) for w_ in ARGS.writers),
        "set xrange [%g:%g]" % (min(ARGS.writers) / 1.3, max(ARGS.writers) * 1.3),
        "set lmargin 10", "set rmargin 2", "set tmargin 2", "set bmargin 3",
    ])


def panel_gp(kind, data, lang, hold, configs, colors, title=None):
    t = title or "%s writers, hold %d ms" % ("C" if lang == "c" else "Python", hold)
    g = ['set title "%s" offset 0,-0.5' % t, "set border", "set xtics", "set ytics",
         "set grid", 'set xlabel "concurrent writers" offset 0,0.6']
    plots = []
    f = lambda c: "'%s/%s-h%d-%s.dat'" % (data, lang, hold, c.label)
    if kind == "throughput":
        g += ["unset logscale y", "set yrange [0:*]", 'set ylabel "txn/s" offset 0.5,0',
              'set format y "%.0f"']
        for c in configs:
            plots.append("%s using 1:3 with lines dt (6,4) lw 1.5 lc rgb '%s' notitle"
                         % (f(c), colors[c.label]))
        for c in configs:
            plots.append("%s using 1:2 with linespoints lw 2.5 pt 7 ps 1.1 lc rgb '%s' notitle"
                         % (f(c), colors[c.label]))
    elif kind == "failures":
        g += ["unset logscale y", "set yrange [0:100]", 'set ylabel "%" offset 0.5,0',
              'set format y "%.0f"']
        for c in configs:
            plots.append("%s using 1:8 with linespoints lw 2.5 pt 7 ps 1.1 lc rgb '%s' notitle"
                         % (f(c), colors[c.label]))
    else:
        col = 4 if kind == "p99" else 7
        g += ["set logscale y 10", "set yrange [*:*]", 'set ylabel "ms" offset 0.5,0',
              'set format y "%g"']
        ref = next((c for c in configs if c.label == "lockfix"), configs[-1])
        plots.append("%s using 1:5 with lines dt (6,4) lw 2 lc rgb 'black' notitle" % f(ref))
        for c in configs:
            plots.append("%s using 1:%d with linespoints lw 2.5 pt 7 ps 1.1 lc rgb '%s' notitle"
                         % (f(c), col, colors[c.label]))
            plots.append("%s using 1:($6>0 ? $%d : NaN) with points pt 2 ps 2.4 lw 2.5 "
                         "lc rgb '%s' notitle" % (f(c), col, colors[c.label]))
    g.append("plot " + ", \\\n     ".join(plots))
    return "\n".join(g)


def legend_gp(configs, colors, which, height):
    """The shared legend: an empty plot whose only visible part is its key."""
    g = ["set origin 0,0", "set size 1, %.4f" % height, "unset title", "unset border",
         "unset xtics", "unset ytics", "unset xlabel", "unset ylabel", "unset grid",
         "unset logscale", "set xrange [0:1]", "set yrange [0:1]",
         "set key center center horizontal Left reverse maxcols 6 width 2 samplen 3 spacing 1.2 "
         "font \",11\"",
         "set lmargin 0", "set rmargin 0", "set tmargin 0", "set bmargin 0"]
    items = ["NaN with linespoints lw 2.5 pt 7 lc rgb '%s' title '%s'" % (colors[c.label],
                                                                          c.label)
             for c in configs]
    if which in ("throughput", "both"):
        items.append("NaN with lines dt (6,4) lw 1.5 lc rgb '#666666' "
                     "title 'serial limit (1 writer alone)'")
    if which in ("p99", "max", "both"):
        items.append("NaN with lines dt (6,4) lw 2 lc rgb 'black' "
                     "title 'fair bound (W x txn time)'")
        items.append("NaN with points pt 2 ps 1.8 lw 2.5 lc rgb '#666666' "
                     "title 'had failures'")
    g.append("plot " + ", ".join(items))
    return "\n".join(g)


def run_gnuplot(lines, out, name):
    script = os.path.join(out, "chart-data", name + ".gp")
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if p.returncode != 0:
        log("gnuplot failed for %s: %s" % (name, p.stderr.strip()[:500]))
        return False
    return True


def load_csv(path):
    """Rows of an earlier run's results.csv, numbers as numbers (for --replot)."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k, v in r.items():
                if re.fullmatch(r"-?\d+", v or ""):
                    r[k] = int(v)
                elif re.fullmatch(r"-?\d+\.\d*", v or ""):
                    r[k] = float(v)
            rows.append(r)
    return rows


# ---- main --------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("default", "full", "quick"), default="default")
    ap.add_argument("--writers", help="space-separated writer counts (overrides the mode)")
    ap.add_argument("--holds", help="space-separated hold times in ms (overrides the mode)")
    ap.add_argument("--langs", default="c python")
    ap.add_argument("--configs", default="none textbook lockfix",
                    help="none textbook lockfix and LABEL:VAR=VAL,... lockfix variants")
    ap.add_argument("--seconds", type=float, help="minimum seconds per cell")
    ap.add_argument("--max-seconds", type=float, help="maximum seconds per cell")
    ap.add_argument("--rounds", type=int, help="cell lasts this many W x txn time, at least")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results"))
    ap.add_argument("--shim", default=os.path.join(ROOT, "build", "liblockfix.so"))
    ap.add_argument("--writer-c", default=os.path.join(ROOT, "build", "bench", "writer"))
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable)
    ap.add_argument("--setup-timeout", type=int, default=60)
    ap.add_argument("--cell-timeout", type=int, default=60,
                    help="seconds past a cell's deadline before its writers are killed")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw the charts (and results.md, given OUT/run.json) from "
                    "OUT/results.csv; the matrix is taken from it")
    ap.add_argument("--dir", help="where the databases live (default: /dev/shm, a tmpfs)")
    ap.add_argument("--keep", action="store_true",
                    help="keep every cell's files in OUT/cells/, not only the faulty ones")
    a = ap.parse_args(argv)
    preset = {"default": DEFAULT, "full": FULL, "quick": QUICK}[a.mode]
    a.writers = [int(x) for x in a.writers.split()] if a.writers else preset["writers"]
    a.holds = [int(x) for x in a.holds.split()] if a.holds else preset["holds"]
    a.langs = a.langs.split()
    for l in a.langs:
        if l not in LANGS:
            ap.error("unknown language %s" % l)
    a.seconds = a.seconds if a.seconds is not None else preset["seconds"]
    a.max_seconds = a.max_seconds if a.max_seconds is not None else max(preset["max_seconds"],
                                                                        a.seconds)
    a.rounds = a.rounds if a.rounds is not None else preset["rounds"]
    a.shim = os.path.abspath(a.shim)
    a.out = os.path.abspath(a.out)
    # Databases live on tmpfs by default: on this shared machine's disk, fsync latency changed
    # 50-fold between two consecutive runs, which swamps the locking being measured.
    base = a.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else a.out)
    a.work = os.path.join(base, "lockfix-bench-%d-%d" % (os.getuid(), os.getpid()))
    return a


ARGS = None


def main(argv):
    global ARGS
    ARGS = args = parse_args(argv[1:])
    configs = [Config(s, args.shim) for s in args.configs.split()]
    if args.replot:
        rows = load_csv(os.path.join(args.out, "results.csv"))
        cells = [r for r in rows if r["kind"] == "cell"]
        args.writers = sorted({r["writers"] for r in cells})
        args.holds = sorted({r["hold_ms"] for r in cells})
        args.langs = [l for l in LANGS if any(r["lang"] == l for r in cells)]
        labels = list(dict.fromkeys(r["config"] for r in cells))
        configs = [next((c for c in configs if c.label == l), None) or Config(l + ":X=1", "")
                   for l in labels]
        for path in write_charts(args.out, rows, configs):
            log("wrote %s" % path)
        run_json = os.path.join(args.out, "run.json")
        if os.path.exists(run_json):
            with open(run_json) as f:
                meta = json.load(f)
            args.seconds, args.rounds = meta["seconds"], meta["rounds"]
            args.max_seconds = meta["max_seconds"]
            write_md(os.path.join(args.out, "results.md"), rows, meta, configs)
            log("wrote %s" % os.path.join(args.out, "results.md"))
        return 0
    for path in (args.writer_c,) if "c" in args.langs else ():
        if not os.access(path, os.X_OK):
            raise SystemExit("bench: %s not built (make build/bench/writer)" % path)
    if any(c.preload for c in configs) and not os.path.exists(args.shim):
        raise SystemExit("bench: %s not built" % args.shim)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    shutil.rmtree(os.path.join(args.out, "cells"), ignore_errors=True)
    host = machine()
    t0 = time.monotonic()
    try:
        rows = run_matrix(args, configs)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    meta = dict(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), mode=args.mode,
                command=os.environ.get("BENCH_COMMAND", " ".join(argv)), machine=host,
                elapsed=time.monotonic() - t0, shim=shim_identity(),
                lockfix_env=" ".join("%s=%s" % kv for kv in sorted(os.environ.items())
                                     if kv[0].startswith("LOCKFIX_")))
    write_csv(os.path.join(args.out, "results.csv"), rows)
    with open(os.path.join(args.out, "run.json"), "w") as f:
        json.dump(dict(meta, seconds=args.seconds, rounds=args.rounds,
                       max_seconds=args.max_seconds, configs=args.configs), f, indent=1)
    write_md(os.path.join(args.out, "results.md"), rows, meta, configs)
    charts = write_charts(args.out, rows, configs)
    faults = sum(1 for r in rows if r["faults"])
    log("done in %.0f s: %s/results.md, results.csv, %s; %d faulty cell(s)" % (
        meta["elapsed"], args.out, ", ".join(os.path.basename(c) for c in charts), faults))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

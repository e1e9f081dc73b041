#!/usr/bin/env python3
"""Real SQLite features under lockfix (issue 11): `make features-test`.

For each feature of features.py:
  same      one process plays every role in turn, without and with lockfix; the databases it
            leaves (iterdump, page size, auto_vacuum, the feature's own queries) must be equal;
  without   8 processes contend with python's default transaction handling, no lockfix: the
            workload must produce "database is locked" (so the test can fail), and what the
            processes committed must still match the tables (the counting is right);
  lockfix   the same under LD_PRELOAD of lockfix: no "database is locked", no other error, every
            process ends within --timeout, no statement longer than the retry budget (+ slack),
            what each process committed is in the tables, PRAGMA integrity_check ok (every
            database file of the feature), and for FTS the index's own integrity-check.
Prints one line per feature, the reasons under a failed one, and `N passed, N failed`.
Python standard library only; needs the sqlite3 shell for the CLI roles.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import FEATURES, BY_NAME           # noqa: E402
from session import SQLITE3_CLI                  # noqa: E402
from worker import DB_NAME                       # noqa: E402

SLACK_MS = 1500         # scheduling on a loaded 2-core machine, on top of the budget
START_DELAY_S = 0.6     # time for 8 interpreters to start before they all begin at once


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LOCKFIX_") and k != "LD_PRELOAD"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Mode:
    """Without lockfix, or with it (LD_PRELOAD of an absolute path, a log file per run)."""

    def __init__(self, label, shim, budget_ms):
        self.label, self.shim, self.budget_ms = label, shim, budget_ms

    def env(self, run_dir):
        env = clean_env()
        if self.shim:
            # debug: lines that name the SQL lockfix acted on, for sqlite_own_sql()
            env.update(LD_PRELOAD=self.shim, LOCKFIX_LOG=os.path.join(run_dir, "lockfix.log"),
                       LOCKFIX_LOG_LEVEL="debug", LOCKFIX_RETRY_BUDGET_MS=str(self.budget_ms))
        return env


def spawn(feature, role, worker, run_dir, iters, hold, start, env):
    argv = [sys.executable, os.path.join(HERE, "worker.py"), feature.name, role, str(worker),
            run_dir, str(iters), str(hold), repr(start)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def collect(procs, timeout):
    """Waits for every process until the common deadline; kills (by its own group) any left.
    Returns (reports, problems)."""
    deadline = time.monotonic() + timeout
    reports, problems = [], []
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            problems.append("process %d still running after %.0f s: killed (deadlock?)"
                            % (p.pid, timeout))
            continue
        if p.returncode != 0:
            problems.append("process %d exited %d: %s" % (p.pid, p.returncode, err.strip()[-300:]))
            continue
        try:
            reports.extend(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            problems.append("process %d printed no report: %r %s" % (p.pid, out[-200:], err[-200:]))
    return reports, problems


def run_setup(feature, run_dir, env, timeout):
    p = spawn(feature, "setup", 0, run_dir, 0, 0, 0, env)
    return collect([p], timeout)[1]


def db_files(run_dir):
    return sorted(f for f in glob.glob(os.path.join(run_dir, "*.db")))


def integrity(feature, run_dir):
    """PRAGMA integrity_check of every database file, and the FTS indexes' own checks."""
    p = []
    for path in db_files(run_dir):
        c = sqlite3.connect(path)
        try:
            got = [r[0] for r in c.execute("PRAGMA integrity_check")]
            if got != ["ok"]:
                p.append("integrity_check %s: %s" % (os.path.basename(path), "; ".join(got[:3])))
            if os.path.basename(path) == DB_NAME:
                for table in feature.fts:
                    c.execute("INSERT INTO %s(%s) VALUES('integrity-check')" % (table, table))
        except sqlite3.Error as e:
            p.append("%s: %s" % (os.path.basename(path), e))
        finally:
            c.rollback()
            c.close()
    return p


def open_main(feature, run_dir):
    c = sqlite3.connect(os.path.join(run_dir, DB_NAME))
    for name in feature.attached:
        c.execute("ATTACH DATABASE ? AS %s" % name[:-3], (os.path.join(run_dir, name),))
    return c


def dump(feature, run_dir, reports):
    """What an uncontended run leaves: compared between the runs without and with lockfix."""
    out = []
    for path in db_files(run_dir):
        c = sqlite3.connect(path)
        out.append("== %s page_size=%s auto_vacuum=%s" % (
            os.path.basename(path), c.execute("PRAGMA page_size").fetchone()[0],
            c.execute("PRAGMA auto_vacuum").fetchone()[0]))
        out.extend(c.iterdump())
        c.close()
    c = open_main(feature, run_dir)
    out.append("== queries")
    out.extend(repr(r) for r in feature.queries(c))
    c.close()
    out.append("== processes")
    out.extend("%s commits=%d locked=%d errors=%r"
               % (r["role"], r["commits"], r["locked"], r["errors"]) for r in reports)
    return out


def log_summary(run_dir):
    """Counts of the lockfix log's events, and the lines that say something went wrong."""
    counts, bad = {}, []
    try:
        with open(os.path.join(run_dir, "lockfix.log"), errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                ev = parts[1]
                counts[ev] = counts.get(ev, 0) + 1
                if ev in ("gave-up", "wal-failed", "no-sqlite") or "no turn" in line:
                    bad.append(line.strip())
    except FileNotFoundError:
        pass
    return counts, bad


# The shapes of the statements SQLite runs on its own through its API: FTS3/4/5 and R-tree shadow
# tables named with a quoted schema ('main'.'x_data', "main".'x_node'), the schema table
# (ALTER TABLE, VACUUM, schema loading), VACUUM's attached copy. No workload here writes any of
# them; a log line that names one means lockfix rewrote, retried or gave up on SQLite's own work.
SQLITE_OWN = re.compile(r"""'main'\.|"main"\.|sqlite_master|sqlite_schema|sqlite_temp_master|"""
                        r"""vacuum_db|sqlite_rename_|sqlite_drop_column""", re.I)


def sqlite_own_sql(run_dir):
    """Log lines (LOCKFIX_LOG_LEVEL=debug) whose SQL is SQLite's own, not the program's."""
    found = []
    try:
        with open(os.path.join(run_dir, "lockfix.log"), errors="replace") as f:
            for line in f:
                at = line.find(' sql="')
                if at >= 0 and SQLITE_OWN.search(line, at):
                    found.append(line.strip())
    except FileNotFoundError:
        pass
    return found


class Result:
    def __init__(self):
        self.problems = []
        self.cells = {}


def new_dir(base, feature, label):
    return tempfile.mkdtemp(prefix="%s-%s-" % (feature.name, label), dir=base)


def uncontended(feature, modes, args, base, res):
    dumps = []
    for mode in modes:
        d = new_dir(base, feature, "solo-" + mode.label)
        env = mode.env(d)
        probs = run_setup(feature, d, env, args.timeout)
        reports = []
        if not probs:
            reports, probs = collect([spawn(feature, "solo", 0, d, args.solo_iters, 0.2, 0, env)],
                                     args.timeout)
        for r in reports:
            if r["locked"] or r["error_count"]:
                probs.append("%s (alone): %d locked, errors %r"
                             % (r["role"], r["locked"], r["errors"]))
        probs += integrity(feature, d)
        probs += ["lockfix acted on SQLite's own statement: " + l for l in sqlite_own_sql(d)[:3]]
        res.problems += ["same/%s: %s" % (mode.label, p) for p in probs]
        try:
            dumps.append(dump(feature, d, reports))
        except sqlite3.Error as e:
            res.problems.append("same/%s: dump: %s" % (mode.label, e))
            dumps.append(["dump failed"])
    same = len(dumps) == 2 and dumps[0] == dumps[1]
    if len(dumps) == 2 and not same:
        diff = [(a, b) for a, b in zip(dumps[0], dumps[1]) if a != b]
        first = diff[0] if diff else ("(%d lines)" % len(dumps[0]), "(%d lines)" % len(dumps[1]))
        res.problems.append("same: the databases differ: without %r / with %r"
                            % (first[0][:150], first[1][:150]))
    res.cells["same"] = "ok" if same else "DIFF"


def contended(feature, mode, args, base, res):
    d = new_dir(base, feature, mode.label)
    env = mode.env(d)
    probs = run_setup(feature, d, env, args.timeout)
    reports = []
    t0 = time.monotonic()
    if not probs:
        start = time.time() + START_DELAY_S
        procs = [spawn(feature, role, w, d, args.iters, args.hold, start, env)
                 for w, role in enumerate(feature.roles)]
        reports, probs = collect(procs, args.timeout)
    hung = 0
    if not mode.shim and args.hung_without_shows_failure:
        # A SQLite compiled without HAVE_USLEEP sleeps a whole second per busy retry (the
        # amalgamation as tests/static/build-python.sh compiles it, make static-python): without
        # lockfix its writers are still waiting at the deadline. That is the failure the run
        # exists to show, not a problem of the test.
        hung = sum(1 for p in probs if "still running" in p)
        probs = [p for p in probs if "still running" not in p]
    elapsed = time.monotonic() - t0
    commits = sum(r["commits"] for r in reports)
    locked = sum(r["locked"] for r in reports)
    errors = sum(r["error_count"] for r in reports)
    max_ms = max([r["max_ms"] for r in reports] or [0])
    for r in reports:
        for e in r["errors"]:
            probs.append("%s %d: %s" % (r["role"], r["worker"], e))
    if len(reports) == len(feature.roles):
        try:
            c = open_main(feature, d)
            try:
                probs += ["nothing lost: " + p for p in feature.verify(c, reports)]
            finally:
                c.close()
        except sqlite3.Error as e:
            probs.append("verify: %s" % e)
    probs += integrity(feature, d)
    if mode.shim:
        if locked:
            probs.append('%d "database is locked"' % locked)
        limit = mode.budget_ms + SLACK_MS
        if max_ms > limit:
            who = max(reports, key=lambda r: r["max_ms"])
            probs.append("a statement took %.0f ms (> budget %d ms + %d): %s %d: %s"
                         % (max_ms, mode.budget_ms, SLACK_MS, who["role"], who["worker"],
                            who["max_what"]))
        probs += ["lockfix acted on SQLite's own statement: " + l for l in sqlite_own_sql(d)[:3]]
        counts, bad = log_summary(d)
        if probs and bad:
            probs += ["log: " + line for line in bad[:3]]
    elif not locked and not hung:
        probs.append('no "database is locked" without lockfix: '
                     'the workload does not show the failure')
    res.problems += ["%s: %s" % (mode.label, p) for p in probs]
    res.cells[mode.label] = "%4d %5d %4d %6.0f %5.1f" % (commits, locked, errors, max_ms, elapsed)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shim", default=os.environ.get("LOCKFIX_TEST_SHIM"),
                    help="absolute path of liblockfix.so (default: $LOCKFIX_TEST_SHIM)")
    ap.add_argument("--only", default="", help="space- or comma-separated feature names")
    ap.add_argument("--iters", type=int, default=24, help="transactions per writer (contended)")
    ap.add_argument("--solo-iters", type=int, default=4, help="transactions per role (uncontended)")
    ap.add_argument("--hold", type=float, default=2.0,
                    help="seconds the long reader keeps its transaction")
    ap.add_argument("--budget-ms", type=int, default=5000,
                    help="LOCKFIX_RETRY_BUDGET_MS of the lockfix runs")
    ap.add_argument("--timeout", type=float, default=40.0,
                    help="seconds before a run's processes count as hung")
    ap.add_argument("--hung-without-shows-failure", action="store_true",
                    help="without lockfix, writers still waiting at the deadline show the failure "
                         "(a SQLite whose busy handler sleeps whole seconds)")
    ap.add_argument("--dir", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    ap.add_argument("--keep", action="store_true", help="keep the databases (printed path)")
    args = ap.parse_args()

    if not args.shim or not os.path.isabs(args.shim) or not os.path.exists(args.shim):
        sys.exit("features-test: give the shim's absolute path (--shim or LOCKFIX_TEST_SHIM), "
                 "got %r" % args.shim)
    if not os.path.exists(SQLITE3_CLI):
        sys.exit("features-test: the sqlite3 shell is missing (scripts/install-deps installs it)")
    names = [n for n in args.only.replace(",", " ").split() if n]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        sys.exit("features-test: unknown feature(s) %s; known: %s"
                 % (" ".join(unknown), " ".join(BY_NAME)))
    features = [BY_NAME[n] for n in names] if names else FEATURES

    none = Mode("without", None, 0)
    lockfix = Mode("lockfix", args.shim, args.budget_ms)
    base = tempfile.mkdtemp(prefix="lockfix-features-", dir=args.dir)
    print("features-test: python %s, SQLite %s, %d writers-or-actors per run, databases in %s"
          % (sys.version.split()[0], sqlite3.sqlite_version, 8, base))
    print("%-19s %-5s | %-28s | %-28s | %s" % ("", "", "without lockfix", "with lockfix", ""))
    print("%-19s %-5s | %-28s | %-28s | %s" % ("feature", "same", "commit locked err max_ms  s",
                                             "commit locked err max_ms  s", "result"))
    passed = failed = 0
    t_all = time.monotonic()
    for f in features:
        res = Result()
        uncontended(f, [none, lockfix], args, base, res)
        contended(f, none, args, base, res)
        contended(f, lockfix, args, base, res)
        ok = not res.problems
        passed, failed = passed + ok, failed + (not ok)
        print("%-19s %-5s | %-28s | %-28s | %s" % (f.name, res.cells["same"], res.cells["without"],
                                                   res.cells["lockfix"], "ok" if ok else "FAIL"))
        for p in res.problems:
            print("    %s" % p)
        sys.stdout.flush()
    if args.keep:
        print("features-test: databases kept in %s" % base)
    else:
        shutil.rmtree(base, ignore_errors=True)
    print('features-test: %.0f s; commit = transactions committed by the 8 processes, locked = '
          '"database is locked" seen, err = other errors, max_ms = longest statement, '
          's = seconds the run took' % (time.monotonic() - t_all))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

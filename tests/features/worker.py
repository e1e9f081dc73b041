"""One process of a feature run: python3 worker.py FEATURE ROLE WORKER DIR ITERS HOLD START.

ROLE is `setup` (create the schema), `solo` (every role of the feature in turn, in this one
process: the uncontended run) or one role of the feature (`writer`, `vacuum-cli`, ...), which
starts at the wall-clock time START so that all 8 processes contend. Prints one JSON line (a list
of reports) on stdout. Run by run.py, with or without LD_PRELOAD of lockfix.
"""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from features import BY_NAME          # noqa: E402
from session import Session           # noqa: E402

DB_NAME = "test.db"


def setup(feature, path, run_dir):
    c = sqlite3.connect(path)
    for name in feature.attached:
        c.execute("ATTACH DATABASE ? AS %s" % name[:-3], (os.path.join(run_dir, name),))
    if feature.wal:
        c.execute("PRAGMA journal_mode=WAL")
    feature.setup(c)
    c.commit()
    c.close()


def play(feature, role, worker, run_dir, iters, hold):
    s = Session(os.path.join(run_dir, DB_NAME), worker, run_dir)
    data = None
    try:
        feature.connect(s)
        data = getattr(feature, role.replace("-", "_"))(s, iters, hold)
    except Exception as e:       # an error outside a transaction is still the feature's failure
        s.error(e)
    s.close()
    return s.report(role, data)


def solo(feature, run_dir, iters, hold):
    """Every role once, writers first, so the actors (backup, VACUUM, ...) see data."""
    order = sorted(range(len(feature.roles)), key=lambda w: feature.roles[w] != "writer")
    reports = [play(feature, feature.roles[w], w, run_dir, iters, hold) for w in order]
    extra = getattr(feature, "solo_extra", None)
    if extra:
        s = Session(os.path.join(run_dir, DB_NAME), 99, run_dir)
        extra(s)
        s.close()
        reports.append(s.report("solo-extra", None))
    return reports


def main(argv):
    name, role, worker, run_dir, iters, hold, start = argv[1:8]
    feature = BY_NAME[name]
    worker, iters, hold, start = int(worker), int(iters), float(hold), float(start)
    if role == "setup":
        setup(feature, os.path.join(run_dir, DB_NAME), run_dir)
        reports = []
    elif role == "solo":
        reports = solo(feature, run_dir, iters, hold)
    else:
        delay = start - time.time()
        if delay > 0:
            time.sleep(delay)
        reports = [play(feature, role, worker, run_dir, iters, hold)]
    sys.stdout.write(json.dumps(reports) + "\n")


if __name__ == "__main__":
    main(sys.argv)

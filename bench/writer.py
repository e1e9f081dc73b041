#!/usr/bin/env python3
"""One contention-benchmark writer, through Python's stdlib sqlite3 (what users run).

Usage: writer.py DB CONFIG HOLD_MS OUT
  CONFIG  none      client defaults: sqlite3.connect()'s 5 s timeout, deferred BEGIN, the file's
                    journal mode
          textbook  the in-app fix: PRAGMA journal_mode=WAL, timeout=5.0, BEGIN IMMEDIATE
          lockfix   the same as none; the driver runs the process under LD_PRELOAD

Same protocol and output as bench/writer.c (read that header): print "ready", read
"go DEADLINE_NS COUNT", run BEGIN; SELECT v; <sleep HOLD_MS>; UPDATE counter SET v=<v>+1; COMMIT
until the deadline or the count, write OUT.tmp and rename it to OUT, print "done" and wait for the
end of stdin (so that no writer's exit takes CPU from writers still in their last transaction).

isolation_level=None: the BEGIN and COMMIT are the ones written here. With Python's default
("" = implicit BEGIN before the first INSERT/UPDATE) the SELECT would run outside the transaction
and the read-modify-write would lose updates by construction, whatever the locking.
The hold is a sleep, for the reason given in writer.c.
"""
import os
import sqlite3
import sys
import time

STAGES = ("begin", "select", "update", "commit")


def main(argv):
    if len(argv) != 5:
        sys.stderr.write("usage: writer.py DB none|textbook|lockfix HOLD_MS OUT\n")
        return 2
    path, cfg, hold, out = argv[1], argv[2], int(argv[3]), argv[4]
    if cfg not in ("none", "textbook", "lockfix"):
        sys.stderr.write("writer.py: unknown config %s\n" % cfg)
        return 2

    if cfg == "textbook":
        con = sqlite3.connect(path, timeout=5.0, isolation_level=None)
        mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            sys.stderr.write("writer.py: PRAGMA journal_mode=WAL gave %s\n" % mode)
            return 1
        begin_sql = "BEGIN IMMEDIATE"
    else:
        con = sqlite3.connect(path, isolation_level=None)
        begin_sql = "BEGIN"

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    words = sys.stdin.readline().split()
    if len(words) != 3 or words[0] != "go":
        sys.stderr.write("writer.py: expected 'go DEADLINE_NS COUNT' on stdin\n")
        return 1
    deadline, count = int(words[1]), int(words[2])
    hold_s = hold / 1000.0
    now = time.monotonic_ns
    t0 = now()

    samples = []
    failed = locked = errors = fail_max = fail_sum = 0
    by_stage = [0, 0, 0, 0]
    first_error = "-"
    i = 0
    while (count == 0 or i < count) and (deadline == 0 or now() < deadline):
        i += 1
        start = now()
        stage = 0
        try:
            con.execute(begin_sql)
            stage = 1
            v = con.execute("SELECT v FROM counter WHERE id=1").fetchone()[0]
            if hold:
                time.sleep(hold_s)
            stage = 2
            con.execute("UPDATE counter SET v=? WHERE id=1", (v + 1,))
            stage = 3
            con.execute("COMMIT")
            samples.append((start - t0, now() - start))
        except sqlite3.Error as e:
            lat = now() - start
            failed += 1
            by_stage[stage] += 1
            if "database is locked" in str(e):
                locked += 1
            else:
                errors += 1
                if first_error == "-":
                    first_error = ("%s:_%s" % (STAGES[stage], e)).replace(" ", "_")
            fail_max = max(fail_max, lat)
            fail_sum += lat
            if con.in_transaction:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error as e2:
                    sys.stderr.write("writer.py: rollback failed: %s\n" % e2)
    t_end = now()
    con.close()

    lines = [
        "writer lang=python config=%s hold=%d committed=%d failed=%d locked=%d errors=%d "
        "fail_begin=%d fail_select=%d fail_update=%d fail_commit=%d "
        "fail_max_us=%d fail_sum_us=%d t0_ns=%d end_ns=%d first_error=%s\n"
        % (cfg, hold, len(samples), failed, locked, errors, *by_stage,
           fail_max // 1000, fail_sum // 1000, t0, t_end, first_error)
    ]
    lines.extend("%d %d\n" % (s // 1000, lat // 1000) for s, lat in samples)
    with open(out + ".tmp", "w") as f:
        f.writelines(lines)
    os.rename(out + ".tmp", out)
    sys.stdout.write("done\n")
    sys.stdout.flush()
    sys.stdin.read()  # linger until the driver lets every writer go
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

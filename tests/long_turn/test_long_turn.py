#!/usr/bin/env python3
"""long-turn: a python process sleeps inside its write transaction while another waits; the
waiter's lockfix must log one `long-turn` line naming the sleeper (pid, program, how long, how
many wait), `lockfix stats` must count it, and `lockfix doctor` must name the holder while it
holds, a long one by the same LOCKFIX_LONG_TURN_MS. A short transaction, and LOCKFIX_LONG_TURN_MS=0, must give no line. At LOCKFIX_LOG_LEVEL=debug the
holder names the SQL that began its long turn when the turn ends.

    tests/long_turn/test_long_turn.py SHIM LOCKFIX_COMMAND

Timing: the holders sleep 2.5 s against a 0.7 s threshold, so a loaded machine only shortens
the overlap it has to spare; each process reports when it holds its transaction.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

WORKER = r"""
import sqlite3, sys, time
db, hold, linger = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
c = sqlite3.connect(db)                      # Python's defaults: BEGIN before the first write
c.execute("INSERT INTO t(who) VALUES (?)", (sys.argv[4],))
print("in-transaction", flush=True)          # the turn is held from here
time.sleep(hold)                             # slow work between BEGIN and COMMIT
c.commit()
print("committed", flush=True)
time.sleep(linger)                           # keep the database (and its queue file) open
"""
THRESHOLD_MS = 700
HOLD_S = 2.5

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    shim, lockfix = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    d = tempfile.mkdtemp(prefix="lockfix-long-turn.")
    db, log = os.path.join(d, "t.db"), os.path.join(d, "lockfix.log")
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, who TEXT)")
    c.commit()
    c.close()
    worker = os.path.join(d, "worker.py")
    with open(worker, "w") as f:
        f.write(WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKFIX_")}
    env.update(LD_PRELOAD=shim, LOCKFIX_LOG=log, LOCKFIX_LONG_TURN_MS=str(THRESHOLD_MS))

    def start(name, hold, linger, extra=None):
        e = dict(env, **(extra or {}))
        return subprocess.Popen([sys.executable, worker, db, str(hold), str(linger), name],
                                stdout=subprocess.PIPE, text=True, env=e)

    def wait_line(p, text):
        line = p.stdout.readline().strip()
        if line != text:
            raise SystemExit("worker said %r, expected %r" % (line, text))

    def long_turns():
        with open(log) as f:
            return [l for l in f if " long-turn " in l]

    # 1. A holds 2.5 s; B waits behind it: B logs one long-turn naming A.
    a = start("a", HOLD_S, 20)
    wait_line(a, "in-transaction")
    b = start("b", 0, 20)
    wait_line(b, "in-transaction")  # only after A committed
    wait_line(a, "committed")
    wait_line(b, "committed")
    lines = long_turns()
    check(len(lines) == 1, "one long-turn line for A's turn (got %d)" % len(lines))
    m = re.search(r"lockfix\[(\d+)\]: long-turn db=(\S+) pid=(\d+) comm=(\S+) held_ms=(\d+) "
                  r"waiting=(\d+)", lines[0] if lines else "")
    check(m is not None, "the line has db, pid, comm, held_ms, waiting: %r"
          % (lines[0].strip() if lines else None))
    if m:
        check(int(m.group(1)) == b.pid, "logged by the waiter B (%s, B is %d)" % (m.group(1), b.pid))
        check(m.group(2) == os.path.realpath(db), "db= is the database")
        check(int(m.group(3)) == a.pid, "names the holder A (pid=%s, A is %d)" % (m.group(3), a.pid))
        check(m.group(4).startswith("python"), "comm= is the holder's program (%s)" % m.group(4))
        check(THRESHOLD_MS <= int(m.group(5)) <= HOLD_S * 1000 + 500,
              "held_ms=%s is at least the threshold, at most the hold" % m.group(5))
        check(m.group(6) == "1", "waiting=%s (B)" % m.group(6))

    # 2. C holds 2.5 s with D waiting; A and B keep the queue file (and its last hand-off) alive.
    # `lockfix doctor` run meanwhile names C as the holder of a long turn, by the threshold the
    # programs log at (LOCKFIX_LONG_TURN_MS in doctor's environment; default 1000 ms): not long
    # for a threshold above the ~1.2 s it has held it, or at 0; a bad value is the default.
    def doctor(threshold):
        e = {k: v for k, v in os.environ.items() if not k.startswith("LOCKFIX_")}
        if threshold is not None:
            e["LOCKFIX_LONG_TURN_MS"] = threshold
        doc = subprocess.run([lockfix, "doctor", "--json", db], capture_output=True, text=True,
                             env=e)
        try:
            findings = json.loads(doc.stdout).get("findings", [])
        except ValueError:
            findings = []
        queue = [f for f in findings if f.get("check") == "queue"]
        return " ".join(f.get("message", "") for f in queue), doc.stderr

    cc = start("c", HOLD_S, 0)
    wait_line(cc, "in-transaction")
    dd = start("d", 0, 0)
    time.sleep(1.2)
    held = "pid %d" % cc.pid
    for threshold, long_expected in ((None, True), (str(THRESHOLD_MS), True), ("60000", False),
                                     ("0", False), ("soon", True)):
        text, err = doctor(threshold)
        check(held in text and ("long turn" in text) == long_expected,
              "doctor, LOCKFIX_LONG_TURN_MS=%s: C holds the turn, %s: %r"
              % (threshold, "a long one" if long_expected else "not a long one", text))
        check(("LOCKFIX_LONG_TURN_MS='soon'" in err) == (threshold == "soon"),
              "doctor warns about a bad LOCKFIX_LONG_TURN_MS only: %r" % err)
    for p in (cc, dd):
        p.communicate(timeout=60)
    check(len(long_turns()) == 2, "a second long-turn line, for C's turn (%d)" % len(long_turns()))

    # 3. A short transaction with a waiter, and a long one with LOCKFIX_LONG_TURN_MS=0: no line.
    # e and f end before g begins: f, on the default threshold, must never be left waiting
    # behind g's long turn (a slow start of f on a loaded machine once put it there).
    e = start("e", 0.05, 0)
    wait_line(e, "in-transaction")
    f = start("f", 0, 0)
    for p in (e, f):
        p.communicate(timeout=60)
    g = start("g", HOLD_S / 2, 0, {"LOCKFIX_LONG_TURN_MS": "0"})
    wait_line(g, "in-transaction")
    h = start("h", 0, 0, {"LOCKFIX_LONG_TURN_MS": "0"})
    for p in (g, h):
        p.communicate(timeout=60)
    check(len(long_turns()) == 2, "no line for a short turn or with the option at 0 (%d)"
          % len(long_turns()))
    for p in (a, b):
        p.kill()
        p.wait()

    # 4. lockfix stats counts them and names the holders.
    st = subprocess.run([lockfix, "stats", "--json", log], capture_output=True, text=True)
    lt = json.loads(st.stdout)["totals"].get("long_turns", {})
    check(lt.get("n") == 2, "stats: 2 long turns (%s)" % lt)
    holders = lt.get("holders", {})
    check(any(k.startswith("pid %d " % a.pid) for k in holders) and
          any(k.startswith("pid %d " % cc.pid) for k in holders), "stats names A and C: %s" % holders)
    human = subprocess.run([lockfix, "stats", log], capture_output=True, text=True).stdout
    check("long turns" in human, "stats' text output has a long turns line")

    # 5. At debug level the holder itself names the SQL that began its long turn, when it ends;
    # a short turn at debug level gets no such line.
    i = start("i", 1.0, 0, {"LOCKFIX_LOG_LEVEL": "debug"})
    i.communicate(timeout=60)
    j = start("j", 0.01, 0, {"LOCKFIX_LOG_LEVEL": "debug"})
    j.communicate(timeout=60)
    with open(log) as f:
        dbg = [l for l in f if "event=long-turn" in l]
    check(len(dbg) == 1 and re.search(r"lockfix\[%d\]: debug db=\S+ event=long-turn held_ms=\d+ "
                                      r'sql="BEGIN' % i.pid, dbg[0]) is not None,
          "one debug line from the holder naming its turn's SQL: %r" % dbg)

    # Nothing lost.
    c = sqlite3.connect(db)
    rows = c.execute("SELECT count(*) FROM t").fetchone()[0]
    integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
    check(rows == 10 and integrity == "ok", "10 rows, integrity %s (%d rows)" % (integrity, rows))
    if failures:
        print("test_long_turn: %d failed; files in %s" % (len(failures), d))
        sys.exit(1)
    subprocess.run(["rm", "-rf", d])
    print("test_long_turn: all passed")


if __name__ == "__main__":
    main()

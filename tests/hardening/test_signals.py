"""Signals and stops: a writer stopped (SIGSTOP) while it holds the turn, then continued; a writer
killed while it waits in the queue; SIGINT during a wait for the lock (python's
KeyboardInterrupt arrives and the statement fails cleanly, the connection still usable)."""
import os
import signal
import time
import unittest

from common import Case

# Holds the write lock: BEGIN IMMEDIATE, one update, "holding", sleep, COMMIT.
HOLDER_PY = r'''
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE counter SET v=v+1 WHERE id=1")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("COMMIT")
print("committed", flush=True)
'''

WRITER_PY = r'''
import sqlite3, sys, time
t = time.time()
c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
print("started", flush=True)
c.execute("UPDATE counter SET v=v+1 WHERE id=1")
print("ok %.3f" % (time.time() - t), flush=True)
'''

INTERRUPTED_PY = r'''
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
print("started", flush=True)
t = time.time()
outcome = "no signal"
try:
    try:
        c.execute("UPDATE counter SET v=v+1 WHERE id=1")
        outcome = "not interrupted"
    except sqlite3.OperationalError as e:
        outcome = "error %s" % e
    for _ in range(100):             # python raises the pending KeyboardInterrupt here
        time.sleep(0.01)
except KeyboardInterrupt:
    print("interrupted after %.3f in_transaction=%s (%s)" % (time.time() - t, c.in_transaction,
                                                           outcome))
# the connection is still usable
print("count", c.execute("SELECT count(*) FROM counter").fetchone()[0])
'''


class Signals(Case):
    def wait_line(self, p, want):
        line = p.stdout.readline()
        self.assertEqual(line.strip(), want)

    def test_stopped_holder_then_continued(self):
        db = self.make_db(wal=True)
        env = {"LOCKFIX_TIMEOUT_MS": "60000", "LOCKFIX_RETRY_BUDGET_MS": "60000"}
        holder = self.spawn_py(HOLDER_PY, db, "0.5", env=env, stdout=-1, stderr=-1)
        self.wait_line(holder, "holding")
        os.kill(holder.pid, signal.SIGSTOP)
        writer = self.spawn_py(WRITER_PY, db, env=env, stdout=-1, stderr=-1)
        self.wait_line(writer, "started")
        time.sleep(1.5)
        self.assertIsNone(writer.poll(), "the writer went past a stopped holder")
        os.kill(holder.pid, signal.SIGCONT)
        out, err = holder.communicate(timeout=120)
        self.assertEqual(holder.returncode, 0, err)
        out, err = writer.communicate(timeout=120)
        self.assertEqual(writer.returncode, 0, err)
        self.assertTrue(out.startswith("ok"), out + err)
        self.assertEqual(self.counter(db), 2)

    def test_writer_killed_while_waiting(self):
        db = self.make_db(wal=True)
        env = {"LOCKFIX_TIMEOUT_MS": "60000", "LOCKFIX_RETRY_BUDGET_MS": "60000"}
        holder = self.spawn_py(HOLDER_PY, db, "2", env=env, stdout=-1, stderr=-1)
        self.wait_line(holder, "holding")
        doomed = self.spawn_py(WRITER_PY, db, env=env, stdout=-1, stderr=-1)
        self.wait_line(doomed, "started")
        time.sleep(0.3)
        doomed.kill()
        doomed.communicate(timeout=60)
        survivor = self.spawn_py(WRITER_PY, db, env=env, stdout=-1, stderr=-1)
        out, err = survivor.communicate(timeout=120)
        self.assertEqual(survivor.returncode, 0, err)
        self.assertTrue(out.splitlines()[-1].startswith("ok"), out + err)
        # it waited for the holder (about 2 s), not for the dead writer's budget (60 s)
        self.assertLess(float(out.splitlines()[-1].split()[1]), 30, out)
        holder.communicate(timeout=60)
        self.assertEqual(holder.returncode, 0)
        self.assertEqual(self.counter(db), 2)

    def test_sigint_while_waiting(self):
        db = self.make_db(wal=True)
        # SQLite's own wait (0.5 s) is over by the time the signal comes (1 s): lockfix is in its
        # retry back-off, within the statement's 3 s deadline
        env = {"LOCKFIX_TIMEOUT_MS": "500", "LOCKFIX_RETRY_BUDGET_MS": "3000"}
        holder = self.spawn_py(HOLDER_PY, db, "8", stdout=-1, stderr=-1, shim=False)
        self.wait_line(holder, "holding")
        p = self.spawn_py(INTERRUPTED_PY, db, env=env, stdout=-1, stderr=-1)
        self.wait_line(p, "started")
        time.sleep(1.0)
        os.kill(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("interrupted after", out, out + err)
        # within the retry budget (3 s) and a generous margin, not the holder's 8 s
        self.assertLess(float(out.split("interrupted after ")[1].split()[0]), 7.5, out)
        self.assertIn("in_transaction=False", out)
        self.assertIn("count 1", out)
        holder.communicate(timeout=60)
        self.assertEqual(self.counter(db), 1)  # the holder's update only


if __name__ == "__main__":
    unittest.main()

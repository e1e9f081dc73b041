"""fork: a process that took turns forks (python multiprocessing, fork start method); children
and parent keep writing, nothing is lost, and no turn is inherited or leaked: afterwards a fresh
writer gets in at once. Also a fork while the parent holds a write transaction: the child, which
only inherited the mapping, never holds up the queue; and fork+exec starts clean."""
import time
import unittest

from common import Case

# Workers write with no busy timeout of their own (timeout=0): waiting is lockfix's job.
FORK_PY = r'''
import multiprocessing as mp, os, sqlite3, sys
db, n, kids = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def rmw(con, k):
    ok = 0
    for i in range(k):
        try:
            con.execute("BEGIN")
            v = con.execute("SELECT v FROM counter WHERE id=1").fetchone()[0]
            con.execute("UPDATE counter SET v=? WHERE id=1", (v + 1,))
            con.execute("INSERT INTO log(writer, i) VALUES(?, ?)", (os.getpid(), i))
            con.execute("COMMIT")
            ok += 1
        except sqlite3.OperationalError:
            if con.in_transaction:
                con.execute("ROLLBACK")
    return ok

def child(q):
    con = sqlite3.connect(db, timeout=0, isolation_level=None)
    q.put(rmw(con, n))
    con.close()

if __name__ == "__main__":
    parent = sqlite3.connect(db, timeout=0, isolation_level=None)
    ok = rmw(parent, n)                      # the parent has taken turns before forking
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    ps = [ctx.Process(target=child, args=(q,)) for _ in range(kids)]
    for p in ps:
        p.start()
    ok += rmw(parent, n)                     # ...and keeps writing next to its children
    for p in ps:
        p.join(120)
    ok += sum(q.get(timeout=60) for _ in ps)
    print("ok=%d failed=%d locked=0" % (ok, n * (kids + 2) - ok))
'''

# The parent forks in the middle of its write transaction; the child only inherited it.
FORK_IN_TXN_PY = r'''
import os, sqlite3, sys, time
db = sys.argv[1]
con = sqlite3.connect(db, timeout=0, isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE counter SET v=v+1 WHERE id=1")
pid = os.fork()
if pid == 0:
    os._exit(0)                      # a child that never touches SQLite
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-c", "import sqlite3,sys;"
             "c=sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None);"
             "c.execute('UPDATE counter SET v=v+1 WHERE id=1');print('exec-child ok')", db])
time.sleep(0.5)
con.execute("COMMIT")                # the exec'd child waits for this, then writes
_, status = os.waitpid(pid, 0)
print("child status", status)
con.close()
'''

ONE_WRITE_PY = r'''
import sqlite3, sys, time
t = time.time()
c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
c.execute("UPDATE counter SET v=v+1 WHERE id=1")
print("took %.3f" % (time.time() - t))
'''

N, KIDS = 25, 4


class Fork(Case):
    def test_fork_without_lockfix_contends(self):
        db = self.make_db()
        r = self.run_py(FORK_PY, db, N, KIDS, shim=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = self.result(r.stdout)
        self.assertGreater(res["failed"], 0, "the workload does not contend")
        self.assertEqual(self.counter(db), res["ok"])

    def test_fork_with_lockfix(self):
        db = self.make_db(wal=True)
        r = self.run_py(FORK_PY, db, N, KIDS, shim=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = self.result(r.stdout)
        self.assertEqual(res["failed"], 0, r.stderr)
        self.assertEqual(self.counter(db), N * (KIDS + 2))
        self.assertEqual(self.log_rows(db), N * (KIDS + 2))
        # nothing inherited or leaked: a fresh writer, no busy timeout, gets in at once
        w = self.run_py(ONE_WRITE_PY, db, shim=True, env={"LOCKFIX_RETRY_BUDGET_MS": "5000"})
        self.assertEqual(w.returncode, 0, w.stderr)
        self.assertLess(float(w.stdout.split()[1]), 5.0, w.stdout)

    def test_fork_inside_a_write_transaction(self):
        db = self.make_db(wal=True)
        t = time.time()
        r = self.run_py(FORK_IN_TXN_PY, db, shim=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("exec-child ok", r.stdout)
        self.assertIn("child status 0", r.stdout)
        self.assertEqual(self.counter(db), 2)
        self.assertLess(time.time() - t, 60)
        w = self.run_py(ONE_WRITE_PY, db, shim=True)
        self.assertEqual(w.returncode, 0, w.stderr)
        self.assertEqual(self.counter(db), 3)


if __name__ == "__main__":
    unittest.main()

"""Threads: 32 threads each with its own connection, and one connection shared by threads in
serialized mode (SQLITE_OPEN_FULLMUTEX), in two processes at once: no failure, no deadlock,
nothing lost. The same workload without lockfix fails (it asks for no busy timeout), which shows
the test contends. Also run by `make tsan` under ThreadSanitizer."""
import os
import unittest

from common import SHIM, Case, fixture

THREADS = int(os.environ.get("LOCKFIX_TEST_THREADS", "32"))
TXNS = int(os.environ.get("LOCKFIX_TEST_TXNS", "15"))


class Threads(Case):
    def run_procs(self, mode, db, nproc, shim):
        ps = [self.spawn_prog([fixture("threads"), mode, db, str(THREADS), str(TXNS)], shim=shim)
              for _ in range(nproc)]
        results = []
        for p in ps:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
            results.append(self.result(out))
        return results

    def test_own_connections_fail_without_lockfix(self):
        db = self.make_db()
        rs = self.run_procs("own", db, 2, shim=False)
        self.assertGreater(sum(r["failed"] for r in rs), 0, "the workload does not contend")
        self.assertEqual(self.counter(db), sum(r["ok"] for r in rs))

    def test_own_connections_with_lockfix(self):
        db = self.make_db()
        rs = self.run_procs("own", db, 2, shim=True)
        total = 2 * THREADS * TXNS
        self.assertEqual([r["failed"] for r in rs], [0, 0], rs)
        self.assertEqual(self.counter(db), total)
        self.assertEqual(self.log_rows(db), total)

    def test_shared_serialized_connection_with_lockfix(self):
        db = self.make_db()
        rs = self.run_procs("shared", db, 2, shim=True)
        total = 2 * THREADS * TXNS
        self.assertEqual([r["failed"] for r in rs], [0, 0], rs)
        self.assertEqual(self.counter(db), total)
        self.assertEqual(self.log_rows(db), total)


class BusyStatementLeftRunning(Case):
    """An INSERT that SQLITE_BUSY left running, and another INSERT of the same connection done
    before the first one's reset (tests/hardening/busy_reset.c makes that order in one thread;
    threads sharing a connection meet it by chance, as queue/threads_sharing_one_connection did):
    without lockfix SQLite's reset of the first rolls the second back although it returned
    SQLITE_DONE; with lockfix the second is kept, and the reset (or finalize) of the first still
    answers SQLITE_BUSY."""

    ENV = {"LOCKFIX_TIMEOUT_MS": "100", "LOCKFIX_RETRY_BUDGET_MS": "300"}

    def run_it(self, end, shim):
        db = self.make_db("%s.db" % end)
        r = self.run_prog([fixture("busy_reset"), db, end], shim=shim, env=self.ENV)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return {k: int(v) for k, v in (f.split("=") for f in r.stdout.split())}

    def test_second_insert_lost_without_lockfix(self):
        for end in ("reset", "finalize"):
            r = self.run_it(end, shim=False)
            self.assertEqual((r["first"], r["second"], r["end"]), (5, 101, 5), r)
            self.assertEqual(r["rows"], 1, "SQLite kept the second row: the test shows nothing")

    def test_second_insert_kept_with_lockfix(self):
        for end in ("reset", "finalize"):
            r = self.run_it(end, shim=True)
            self.assertEqual((r["first"], r["second"], r["end"]), (5, 101, 5), r)
            self.assertEqual(r["rows"], 2, "a row that returned SQLITE_DONE was rolled back")


class TwoCopies(Case):
    """Two SQLite copies in one process (system SQLite and SQLCipher, each dlopened RTLD_LOCAL by a
    plugin) used from 8 threads at once: tests/clients/twocopies.c checks every call reached the
    right copy."""

    def test_two_copies_from_8_threads(self):
        prog = os.path.join(os.path.dirname(SHIM), "clients", "twocopies")
        plugins = os.path.dirname(prog)
        if not os.path.exists(os.path.join(plugins, "plugin_cipher.so")):
            self.skipTest("twocopies or plugin_cipher.so not built (make clients-test builds them)")
        dbs = [self.make_db("sys.db"), self.make_db("cipher.db")]
        r = self.run_prog([prog, plugins, dbs[0], dbs[1], "8", "10", "1"], shim=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for copy, db in zip(("sys", "cipher"), dbs):
            line = [l for l in r.stdout.splitlines() if l.startswith("copy=%s ok=" % copy)][0]
            ok = int(line.split()[1].split("=")[1])
            self.assertIn("failed=0", line)
            self.assertEqual(self.counter(db), ok)
            self.assertEqual(ok, 80)


if __name__ == "__main__":
    unittest.main()

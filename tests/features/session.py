"""One worker process's connection, as a program using python's sqlite3 defaults has it.

Every statement the workload runs goes through Session, which times it (the longest wait is
checked against lockfix's budget) and sorts what went wrong: "database is locked" (SQLITE_BUSY,
whatever the message says) is counted, anything else is an error the test reports. Nothing here
retries: a failed transaction is rolled back and counted, as a program that does not expect the
error would lose it.
"""
import shutil
import sqlite3
import subprocess
import time

SQLITE3_CLI = shutil.which("sqlite3") or "/usr/bin/sqlite3"
LOCKED = "database is locked"
SQLITE_BUSY = 5
MAX_ERRORS_KEPT = 5


class Failed(Exception):
    """A step of the workload failed (already counted); the transaction must be abandoned."""


class Session:
    def __init__(self, path, worker, run_dir):
        self.path = path
        self.worker = worker
        self.run_dir = run_dir
        # python's defaults: deferred transactions begun before INSERT/UPDATE/DELETE, 5 s timeout.
        self.conn = sqlite3.connect(path)
        self.commits = 0
        self.locked = 0
        self.errors = []
        self.error_count = 0
        self.max_ms = 0.0
        self.max_what = ""
        self.lastrowid = None
        self.state = {}

    def close(self):
        try:
            self.conn.close()
        except Exception as e:      # a close that fails is worth knowing about
            self.error(e)

    # ---- timing and outcome ----------------------------------------------------------------

    def timed(self, what, fn, *args):
        t0 = time.monotonic()
        try:
            return fn(*args)
        finally:
            ms = (time.monotonic() - t0) * 1000.0
            if ms > self.max_ms:
                self.max_ms, self.max_what = ms, what[:60]

    def error(self, e):
        msg = str(e) or type(e).__name__
        # SQLITE_BUSY is the failure whatever the message: when it reaches FTS5's constructor of
        # a table the connection has not used yet, the message is "vtable constructor failed:
        # <table>" (python 3.11 gives the code).
        code = getattr(e, "sqlite_errorcode", None)
        if LOCKED in msg or (code is not None and code & 0xff == SQLITE_BUSY):
            self.locked += 1
            return
        self.error_count += 1
        line = "%s: %s" % (type(e).__name__, msg)
        if getattr(e, "sqlite_errorname", None):
            line += " (%s)" % e.sqlite_errorname
        if line not in self.errors and len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(line)

    def ex(self, sql, args=()):
        """Runs one statement to completion and returns its rows."""
        def run():
            cur = self.conn.execute(sql, args)
            rows = cur.fetchall()
            self.lastrowid = cur.lastrowid
            return rows
        return self.timed(sql, run)

    def rollback(self):
        try:
            self.conn.rollback()
        except Exception as e:
            self.error(e)

    def transaction(self, body, explicit):
        """One transaction of the program: returns body()'s record once committed, else None.

        explicit: the program sends BEGIN itself (then reads first, as code that wants its reads
        and writes in one transaction does); otherwise python sends BEGIN before the first
        INSERT/UPDATE/DELETE.
        """
        try:
            if explicit:
                self.ex("BEGIN")
            rec = body()
            self.timed("COMMIT", self.conn.commit)
        except Exception as e:
            self.error(e)
            self.rollback()
            return None
        self.commits += 1
        return rec

    def attempt(self, what, fn, *args):
        """One statement-like step outside a transaction of ours: True when it went through."""
        try:
            self.timed(what, fn, *args)
        except Exception as e:
            self.error(e)
            return False
        self.commits += 1
        return True

    def cli(self, *args):
        """Runs the sqlite3 shell on the database (it inherits LD_PRELOAD); True on success."""
        def run():
            return subprocess.run([SQLITE3_CLI, *args], capture_output=True, text=True,
                                  timeout=120)
        p = self.timed("sqlite3 " + " ".join(args[1:]), run)
        err = p.stderr.strip()
        if LOCKED in err:
            self.locked += 1
            return False
        if p.returncode != 0 or err:
            self.error(RuntimeError("sqlite3 CLI exit %d: %s" % (p.returncode, err[:200])))
            return False
        self.commits += 1
        return True

    def report(self, role, data):
        return dict(role=role, worker=self.worker, commits=self.commits, locked=self.locked,
                    errors=self.errors, error_count=self.error_count,
                    max_ms=round(self.max_ms, 1), max_what=self.max_what, data=data)

#!/usr/bin/env python3
"""A writer for bench/kill-writers: read-modify-write transactions with client defaults, and a
line "writer i t_commit" appended (and flushed) after every COMMIT that returned success, so the
driver can check that each of them is in the database after writers were killed with SIGKILL."""
import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "clients"))
from rmw import transaction  # noqa: E402  (the same transaction as the client tests)

db, n, wid, hold_ms, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
conn = sqlite3.connect(db, isolation_level=None)
with open(out, "a", buffering=1) as f:
    for i in range(n):
        try:
            transaction(conn, wid, i, hold_ms)
            f.write("%d %d %.6f\n" % (wid, i, time.monotonic()))
        except sqlite3.OperationalError as e:
            print("writer %d txn %d: %s" % (wid, i, e), file=sys.stderr)
            if conn.in_transaction:
                conn.execute("ROLLBACK")

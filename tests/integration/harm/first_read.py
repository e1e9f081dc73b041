"""A new connection's first statement (its prepare reads the schema), with python's busy timeout
at 0.1 s. Prints result=ok v=N or result=database_is_locked, and took_s."""
import sqlite3
import sys
import time

t = time.monotonic()
con = sqlite3.connect(sys.argv[1], timeout=0.1)
try:
    v = con.execute("SELECT v FROM counter WHERE id = 1").fetchone()[0]
    print("result=ok v=%d took_s=%.3f" % (v, time.monotonic() - t))
except sqlite3.OperationalError as e:
    print("result=%s took_s=%.3f" % (str(e).replace(" ", "_"), time.monotonic() - t))

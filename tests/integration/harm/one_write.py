"""One autocommit write with a short timeout of the program's own; prints how long it took."""
import sqlite3
import sys
import time

con = sqlite3.connect(sys.argv[1], timeout=float(sys.argv[2]), isolation_level=None)
t = time.monotonic()
try:
    con.execute("INSERT INTO log(writer, i) VALUES (2, 0)")
    result = "ok"
except sqlite3.OperationalError as e:
    result = str(e).replace(" ", "_")
print("result=%s took_s=%.3f" % (result, time.monotonic() - t))

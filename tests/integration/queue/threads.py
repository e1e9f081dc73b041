"""NTHREADS threads insert for RUN_S seconds, each through its own connection ("own") or all
through one connection ("shared", check_same_thread=False); then the process sleeps SLEEP_S with
its connections open.
  argv: DB own|shared NTHREADS RUN_S SLEEP_S
Prints `ok=N errors=E`; a thread whose INSERT raised stops there, its error goes to stderr, and the
exit status is 1. (Under lockfix no INSERT may raise: the threads sharing a connection once got
"database is locked" at once, a sibling having cut the connection's busy timeout; shim/deadline.c.)
"""
import sqlite3, sys, threading, time
db, mode, nth, run_s, sleep_s = (sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
                                 float(sys.argv[5]))
shared = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
stop = time.monotonic() + run_s
n = [0] * nth
errors = []
def w(k):
    c = shared if mode == 'shared' else sqlite3.connect(db, isolation_level=None)
    while time.monotonic() < stop:
        try:
            c.execute('INSERT INTO log(writer, i) VALUES(?, ?)', (10 + k, n[k]))
        except Exception as e:
            errors.append('thread %d, insert %d: %s: %s (%s)' % (
                k, n[k], type(e).__name__, e, getattr(e, 'sqlite_errorname', '?')))
            return
        n[k] += 1
ths = [threading.Thread(target=w, args=(k,)) for k in range(nth)]
[t.start() for t in ths]
[t.join() for t in ths]
print('ok=%d errors=%d' % (sum(n), len(errors)), flush=True)
for e in errors:
    print(e, file=sys.stderr, flush=True)
time.sleep(sleep_s)
sys.exit(1 if errors else 0)

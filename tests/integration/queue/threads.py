"""NTHREADS threads insert for RUN_S seconds, each through its own connection ("own") or all
through one connection ("shared", check_same_thread=False); then the process sleeps SLEEP_S with
its connections open.
  argv: DB own|shared NTHREADS RUN_S SLEEP_S
Prints `ok=N`.
"""
import sqlite3, sys, threading, time
db, mode, nth, run_s, sleep_s = (sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
                                 float(sys.argv[5]))
shared = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
stop = time.monotonic() + run_s
n = [0] * nth
def w(k):
    c = shared if mode == 'shared' else sqlite3.connect(db, isolation_level=None)
    while time.monotonic() < stop:
        c.execute('INSERT INTO log(writer, i) VALUES(?, ?)', (10 + k, n[k]))
        n[k] += 1
ths = [threading.Thread(target=w, args=(k,)) for k in range(nth)]
[t.start() for t in ths]
[t.join() for t in ths]
print('ok=%d' % sum(n), flush=True)
time.sleep(sleep_s)

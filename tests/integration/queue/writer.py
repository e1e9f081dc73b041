"""The read-modify-write writer of the queue tests (python3 sqlite3, unmodified, plain deferred
BEGIN).
  argv: DB N HOLD_MS WRITER_ID TIMEOUT_S TIMEFILE [UNTIL_FILE]
Runs N transactions; with UNTIL_FILE, first keeps running transactions until that file exists,
then N more. TIMEOUT_S is python's connect(timeout=...) (the busy timeout it asks for; under the
shim the floor raises it). Prints exactly `ok=N failed=M locked=L` on stdout (the format
h_collect_writers reads) and writes `start=T first=T end=T maxtxn=S` (wall clock) to TIMEFILE.
"""
import os, sqlite3, sys, time
db, n, hold, wid, tmo, tf = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                             float(sys.argv[5]), sys.argv[6])
until = sys.argv[7] if len(sys.argv) > 7 else None
ok = failed = locked = 0
first = 0.0
maxtxn = 0.0
con = sqlite3.connect(db, isolation_level=None, timeout=tmo)
start = time.time()
i = 0
def txn(i):
    global ok, failed, locked, first, maxtxn
    t0 = time.monotonic()
    try:
        con.execute('BEGIN')
        v = con.execute('SELECT v FROM counter WHERE id=1').fetchone()[0]
        if hold:
            time.sleep(hold / 1000.0)
        con.execute('UPDATE counter SET v=? WHERE id=1', (v + 1,))
        con.execute('INSERT INTO log(writer, i) VALUES(?, ?)', (wid, i))
        con.execute('COMMIT')
        ok += 1
        if not first:
            first = time.time()
    except sqlite3.Error as e:
        failed += 1
        if 'database is locked' in str(e):
            locked += 1
        if con.in_transaction:
            con.execute('ROLLBACK')
    maxtxn = max(maxtxn, time.monotonic() - t0)
if until:
    while not os.path.exists(until):
        txn(i)
        i += 1
for _ in range(n):
    txn(i)
    i += 1
end = time.time()
con.close()
with open(tf, 'w') as f:
    f.write('start=%.6f first=%.6f end=%.6f maxtxn=%.6f\n' % (start, first, end, maxtxn))
print('ok=%d failed=%d locked=%d' % (ok, failed, locked))

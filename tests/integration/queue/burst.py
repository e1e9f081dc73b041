"""Short write transactions in a tight loop for LOOP_S, then (connection still open, no
transaction) creates ASLEEP and sleeps SLEEP_S.
  argv: DB LOOP_S SLEEP_S ASLEEP
Prints `ok=N failed=M asleep=T woke=T`.
"""
import sqlite3, sys, time
db, loop_s, sleep_s, asleep = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
con = sqlite3.connect(db, isolation_level=None)
ok = failed = 0
i = 0
end = time.monotonic() + loop_s
while time.monotonic() < end:
    try:
        con.execute('BEGIN')
        con.execute('UPDATE counter SET v=v+1 WHERE id=1')
        con.execute('INSERT INTO log(writer, i) VALUES(1, ?)', (i,))
        con.execute('COMMIT')
        ok += 1
    except sqlite3.Error as e:
        failed += 1
        sys.stderr.write('A: %s\n' % e)
        if con.in_transaction:
            con.execute('ROLLBACK')
    i += 1
t = time.time()
open(asleep, 'w').close()
time.sleep(sleep_s)
woke = time.time()
con.close()
print('ok=%d failed=%d asleep=%.6f woke=%.6f' % (ok, failed, t, woke))

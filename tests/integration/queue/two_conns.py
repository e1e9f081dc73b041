"""Two connections of one thread: c2 writes while c1 holds BEGIN IMMEDIATE (it must fail after a
bounded wait), right after c1's COMMIT, then after each of 20 short transactions on c1.
  argv: DB
Prints held=..., held_s=, after_s=, alternate_worst_s= and done=1.
"""
import sqlite3, sys, time
db = sys.argv[1]
c1 = sqlite3.connect(db, isolation_level=None, timeout=0)
c2 = sqlite3.connect(db, isolation_level=None, timeout=0)
c1.execute('BEGIN IMMEDIATE')
c1.execute('UPDATE counter SET v=v+1 WHERE id=1')
t = time.monotonic()
try:
    c2.execute('INSERT INTO log(writer, i) VALUES(2, 0)')
    r = 'ok'
except sqlite3.Error as e:
    r = 'error:%s' % e
print('held=%s' % r.replace(' ', '_'))
print('held_s=%.3f' % (time.monotonic() - t))
c1.execute('COMMIT')
t = time.monotonic()
c2.execute('INSERT INTO log(writer, i) VALUES(2, 1)')
print('after_s=%.3f' % (time.monotonic() - t))
# short transactions on c1, each followed at once by a write on c2
worst = 0.0
for i in range(20):
    c1.execute('BEGIN')
    c1.execute('UPDATE counter SET v=v+1 WHERE id=1')
    c1.execute('COMMIT')
    t = time.monotonic()
    c2.execute('INSERT INTO log(writer, i) VALUES(2, ?)', (i + 2,))
    worst = max(worst, time.monotonic() - t)
print('alternate_worst_s=%.3f' % worst)
c1.close()
c2.close()
print('done=1')

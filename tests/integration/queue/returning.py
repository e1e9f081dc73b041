"""A writing statement in autocommit mode that hands out rows (INSERT … RETURNING) and is reset
after its first one: its reset commits it, and must hand the turn on. Another process, waiting
for nothing else, then writes at once. The program reads two rows of three and closes its
cursor (python resets the statement), then keeps its connection idle for 4 s while the other
process writes; prints `child waited_ms=N` and `rows=N`.
  argv: DB
"""
import sqlite3, subprocess, sys, time

db = sys.argv[1]
CHILD = r"""
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('UPDATE counter SET v=v+1 WHERE id=1')   # maps the queue file: the parent is not alone
print('ready', flush=True)
sys.stdin.readline()
t = time.monotonic()
c.execute('UPDATE counter SET v=v+1 WHERE id=1')
print('waited_ms=%d' % ((time.monotonic() - t) * 1000), flush=True)
"""

con = sqlite3.connect(db, isolation_level=None)
con.execute('CREATE TABLE IF NOT EXISTS handed(x)')
child = subprocess.Popen([sys.executable, '-c', CHILD, db], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
if child.stdout.readline().strip() != 'ready':
    sys.exit('the second process did not start')
cur = con.execute('INSERT INTO handed(x) VALUES (1), (2), (3) RETURNING x')
cur.fetchone()           # the first row; python has stepped to the second
cur.close()              # reset before the last rows: the insert commits here
child.stdin.write('go\n')
child.stdin.flush()
line = child.stdout.readline().strip()
time.sleep(0.1)
child.wait(timeout=60)
print('child ' + line, flush=True)
print('rows=%d' % con.execute('SELECT count(*) FROM handed').fetchone()[0], flush=True)

"""Tickets handed out (the queue file's `next`) while this process writes: alone on its database
with one connection, then with a second connection of its own, then with a second process that
has the queue file mapped, then alone again. Prints `KEY next=N users=U` after each part and
`counter=V` at the end.
  argv: DB
"""
import os, sqlite3, struct, subprocess, sys

db = sys.argv[1]
CHILD = r"""
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('UPDATE counter SET v=v+1 WHERE id=1')   # maps the queue file
print('ready', flush=True)
sys.stdin.readline()                               # keeps it mapped until told
"""


fd = None  # opened once and never closed: a close would drop this process's POSIX read lock
           # on the queue file (lockfix's "in use" mark), and the child would remove the file


def header(key):
    global fd
    if fd is None:
        fd = os.open(db + '-lockfix', os.O_RDONLY)
    b = os.pread(fd, 32, 0)
    (nxt,) = struct.unpack_from('=I', b, 8)
    (users,) = struct.unpack_from('=I', b, 28)
    print('%s next=%d users=%d' % (key, nxt, users), flush=True)


def writes(con, n=5):
    for _ in range(n):
        con.execute('UPDATE counter SET v=v+1 WHERE id=1')


con = sqlite3.connect(db, isolation_level=None)
writes(con)
header('alone-autocommit')
con.execute('BEGIN')
con.execute('UPDATE counter SET v=v+1 WHERE id=1')
con.execute('COMMIT')
header('alone-transaction')
c2 = sqlite3.connect(db, isolation_level=None)
writes(c2, 1)
writes(con)
header('two-connections')
c2.close()
writes(con)
header('one-connection-again')
child = subprocess.Popen([sys.executable, '-c', CHILD, db], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
if child.stdout.readline().strip() != 'ready':
    sys.exit('the second process did not start')
writes(con)
header('second-process')
child.communicate('go\n', timeout=60)
writes(con)
header('alone-again')
print('counter=%d' % con.execute('SELECT v FROM counter WHERE id=1').fetchone()[0])

"""Whether the queue file exists after open, after a read and (with "write") after a write, all
on one connection, with its mode and owner while the connection is open, and whether it is still
there once the connection (the only user of the queue) is closed.
  argv: DB read|write
"""
import os, sqlite3, sys
db, q = sys.argv[1], sys.argv[1] + '-lockfix'
con = sqlite3.connect(db, isolation_level=None)
print('open', int(os.path.exists(q)))
con.execute('SELECT count(*) FROM counter').fetchone()
con.execute('SELECT v FROM counter WHERE id=1').fetchall()
print('read', int(os.path.exists(q)))
if sys.argv[2] == 'write':
    con.execute('UPDATE counter SET v=v+1 WHERE id=1')
    print('write', int(os.path.exists(q)))
    st = os.stat(q)
    print('mode %o uid %d' % (st.st_mode & 0o7777, st.st_uid))
con.close()
print('closed', int(os.path.exists(q)))

"""The SQLite features of issue 11, each as a workload for 8 processes and a check of the result.

A feature has a schema (setup), roles for the 8 processes (most are writers; some features add an
actor: a VACUUM loop, a backup loop, a migration, a checkpointer, a long reader), and verify(),
which compares what the processes say they committed with what the database holds. A writer's
transactions alternate between python's implicit BEGIN (before its first INSERT/UPDATE/DELETE)
and an explicit BEGIN sent by the program followed by a read: the read-before-write that fails
with "database is locked" without lockfix. Each transaction returns a record that the process
keeps only once COMMIT went through, so "nothing lost" is a comparison of those records with the
tables.

Records and per-process state are plain JSON data: the driver (run.py) collects them.
"""
import hashlib
import os
import sqlite3
import struct
import time

THINK_S = 0.001         # between a transaction's read and its write: the program "computes"


def rows(c, sql, args=()):
    return c.execute(sql, args).fetchall()


def col(c, sql, args=()):
    return [r[0] for r in c.execute(sql, args)]


def one(c, sql, args=()):
    return c.execute(sql, args).fetchone()[0]


class Feature:
    name = ""
    roles = ["writer"] * 8
    wal = False            # the program itself sets journal_mode=WAL (else it leaves the default)
    fts = ()               # FTS tables whose own integrity-check must pass
    attached = ()          # other database files of the feature (also integrity-checked)
    foreign_keys = False

    def connect(self, s):
        """Per-connection settings the program makes after connecting."""
        for name in self.attached:
            s.ex("ATTACH DATABASE ? AS %s" % name[:-3], (os.path.join(s.run_dir, name),))
        if self.foreign_keys:
            s.ex("PRAGMA foreign_keys=ON")

    def setup(self, c):
        raise NotImplementedError

    # A writer: `iters` transactions of read (+ think) + write.
    def read(self, s, i):
        raise NotImplementedError

    def write(self, s, i):
        raise NotImplementedError

    def applied(self, s, rec):
        """Called with each committed record: keeps what later transactions need to know."""

    def writer(self, s, iters, hold):
        recs = []
        for i in range(iters):
            explicit = i % 2 == 0

            def body():
                self.read(s, i)
                time.sleep(THINK_S)
                return self.write(s, i)
            rec = s.transaction(body, explicit)
            if rec is not None:
                self.applied(s, rec)
                recs.append(rec)
        return recs

    def verify(self, c, reports):
        """Problems found comparing the committed records of all processes with the database."""
        raise NotImplementedError

    def queries(self, c):
        """Extra query results compared between the runs without and with lockfix."""
        return []


def writer_records(reports):
    out = []
    for r in reports:
        if r["role"] == "writer":
            out.extend(r["data"])
    return out


def expect(problems, what, got, want):
    if got == want:
        return
    if isinstance(got, list) and isinstance(want, list):
        g, w = [repr(x) for x in got], [repr(x) for x in want]
        missing = [x for x in w if x not in g]
        extra = [x for x in g if x not in w]
        problems.append("%s: %d found, %d expected; missing %s; not expected %s"
                        % (what, len(got), len(want), ", ".join(missing[:5]) or "none",
                           ", ".join(extra[:5]) or "none"))
    else:
        problems.append("%s: %r, expected %r" % (what, got, want))


# ---- full-text search ----------------------------------------------------------------------------

class Fts5(Feature):
    """The field report's notes server: a table, its FTS5 index and a counter, per note."""
    name = "fts5"
    fts = ("search",)

    def setup(self, c):
        c.executescript("""
            CREATE TABLE notes(id INTEGER PRIMARY KEY, w INTEGER, body TEXT);
            CREATE VIRTUAL TABLE search USING fts5(body);
            CREATE TABLE stats(n INTEGER);
            INSERT INTO stats VALUES(0);""")

    def read(self, s, i):
        s.ex("SELECT count(*) FROM notes")
        s.ex("SELECT rowid FROM search WHERE search MATCH 'alpha' LIMIT 3")

    def write(self, s, i):
        body = "note w%d i%d alpha beta gamma%d" % (s.worker, i, i % 3)
        s.ex("INSERT INTO notes(w, body) VALUES(?, ?)", (s.worker, body))
        nid = s.lastrowid
        s.ex("INSERT INTO search(rowid, body) VALUES(?, ?)", (nid, body))
        s.ex("UPDATE stats SET n = n + 1")
        return [s.worker, nid]

    def verify(self, c, reports):
        recs = writer_records(reports)
        p = []
        expect(p, "notes rows", col(c, "SELECT id FROM notes ORDER BY id"),
               sorted(r[1] for r in recs))
        expect(p, "stats.n", one(c, "SELECT n FROM stats"), len(recs))
        expect(p, "search rows", one(c, "SELECT count(*) FROM search"), len(recs))
        for w in range(8):
            expect(p, "MATCH w%d" % w,
                   one(c, "SELECT count(*) FROM search WHERE search MATCH ?", ("w%d" % w,)),
                   sum(1 for r in recs if r[0] == w))
        return p

    def queries(self, c):
        return rows(c, "SELECT rowid, bm25(search) > -100 FROM search "
                       "WHERE search MATCH 'gamma1' ORDER BY rowid")


class Fts5External(Feature):
    """External-content FTS5 kept in sync by triggers, with inserts, updates and deletes."""
    name = "fts5-external"
    fts = ("docs_fts",)

    def setup(self, c):
        c.executescript("""
            CREATE TABLE docs(id INTEGER PRIMARY KEY, w INTEGER, body TEXT);
            CREATE VIRTUAL TABLE docs_fts USING fts5(body, content='docs', content_rowid='id');
            CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
              INSERT INTO docs_fts(rowid, body) VALUES (new.id, new.body);
            END;
            CREATE TRIGGER docs_ad AFTER DELETE ON docs BEGIN
              INSERT INTO docs_fts(docs_fts, rowid, body) VALUES ('delete', old.id, old.body);
            END;
            CREATE TRIGGER docs_au AFTER UPDATE ON docs BEGIN
              INSERT INTO docs_fts(docs_fts, rowid, body) VALUES ('delete', old.id, old.body);
              INSERT INTO docs_fts(rowid, body) VALUES (new.id, new.body);
            END;""")

    def read(self, s, i):
        s.ex("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH ?", ("w%d" % s.worker,))

    def write(self, s, i):
        alive = s.state.setdefault("alive", [])
        s.ex("INSERT INTO docs(w, body) VALUES(?, ?)",
             (s.worker, "doc w%d i%d delta" % (s.worker, i)))
        rec = {"add": s.lastrowid, "edit": None, "del": None}
        if i % 3 == 2 and alive:
            rec["edit"] = alive[-1]
            s.ex("UPDATE docs SET body = replace(body, 'delta', 'edited') WHERE id = ?",
                 (alive[-1],))
        if i % 5 == 4 and alive:
            rec["del"] = alive[0]
            s.ex("DELETE FROM docs WHERE id = ?", (alive[0],))
        return rec

    def applied(self, s, rec):
        alive = s.state.setdefault("alive", [])
        if rec["del"] is not None:
            alive.remove(rec["del"])
        alive.append(rec["add"])

    def writer(self, s, iters, hold):
        recs = Feature.writer(self, s, iters, hold)
        return {"recs": recs, "alive": s.state.get("alive", [])}

    def verify(self, c, reports):
        p = []
        ws = [r for r in reports if r["role"] == "writer"]
        alive = sorted(i for r in ws for i in r["data"]["alive"])
        edited = {rec["edit"] for r in ws for rec in r["data"]["recs"] if rec["edit"] is not None}
        expect(p, "docs rows", col(c, "SELECT id FROM docs ORDER BY id"), alive)
        expect(p, "docs edited", sorted(col(c, "SELECT id FROM docs WHERE body LIKE '% edited'")),
               sorted(edited & set(alive)))
        expect(p, "MATCH edited",
               col(c, "SELECT rowid FROM docs_fts WHERE docs_fts MATCH 'edited' ORDER BY rowid"),
               sorted(edited & set(alive)))
        expect(p, "MATCH delta",
               one(c, "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'delta'"),
               len(set(alive) - edited))
        # SQLite 3.40's FTS5 integrity-check does not compare an external-content index with its
        # content table (3.44's rank=1 form does): every token's matches are compared here.
        want = {}
        for rid, body in rows(c, "SELECT id, body FROM docs"):
            for token in body.split():
                want.setdefault(token, []).append(rid)
        for token in sorted(want):
            expect(p, "MATCH %s" % token,
                   col(c, "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? ORDER BY rowid",
                       ('"%s"' % token,)),
                sorted(want[token]))
        return p

    def queries(self, c):
        return rows(c, "SELECT rowid, body FROM docs_fts "
                       "WHERE docs_fts MATCH 'edited OR w1' ORDER BY rowid")


class Fts4(Feature):
    name = "fts4"
    fts = ("f4",)

    def setup(self, c):
        c.executescript("""
            CREATE VIRTUAL TABLE f4 USING fts4(w, body);
            CREATE TABLE meta(n INTEGER);
            INSERT INTO meta VALUES(0);""")

    def read(self, s, i):
        s.ex("SELECT docid FROM f4 WHERE f4 MATCH ?", ("w%d" % s.worker,))

    def write(self, s, i):
        alive = s.state.setdefault("alive", [])
        s.ex("INSERT INTO f4(w, body) VALUES(?, ?)", ("w%d" % s.worker, "text i%d epsilon" % i))
        rec = {"add": s.lastrowid, "del": None}
        if i % 4 == 3 and alive:
            rec["del"] = alive[0]
            s.ex("DELETE FROM f4 WHERE docid = ?", (alive[0],))
        s.ex("UPDATE meta SET n = n + 1")
        return rec

    applied = Fts5External.applied

    def writer(self, s, iters, hold):
        recs = Feature.writer(self, s, iters, hold)
        return {"recs": recs, "alive": s.state.get("alive", [])}

    def verify(self, c, reports):
        p = []
        ws = [r for r in reports if r["role"] == "writer"]
        alive = sorted(i for r in ws for i in r["data"]["alive"])
        expect(p, "f4 docids", col(c, "SELECT docid FROM f4 ORDER BY docid"), alive)
        expect(p, "meta.n", one(c, "SELECT n FROM meta"), sum(len(r["data"]["recs"]) for r in ws))
        expect(p, "MATCH epsilon", one(c, "SELECT count(*) FROM f4 WHERE f4 MATCH 'epsilon'"),
               len(alive))
        for r in ws:
            token = "w%d" % r["worker"]
            expect(p, "MATCH " + token,
                   one(c, "SELECT count(*) FROM f4 WHERE f4 MATCH ?", (token,)),
                   len(r["data"]["alive"]))
        return p

    def queries(self, c):
        return rows(c, "SELECT docid, snippet(f4) FROM f4 WHERE f4 MATCH 'i1*' ORDER BY docid")


class Rtree(Feature):
    name = "rtree"

    def setup(self, c):
        c.execute("CREATE VIRTUAL TABLE rt USING rtree(id, minx, maxx, miny, maxy)")

    def read(self, s, i):
        x = s.worker * 1000
        s.ex("SELECT count(*) FROM rt WHERE minx >= ? AND maxx <= ?", (x, x + 1000))

    def write(self, s, i):
        x = s.worker * 1000 + i * 10
        s.ex("INSERT INTO rt VALUES(NULL, ?, ?, ?, ?)", (x, x + 5, i, i + 1))
        return [s.worker, s.lastrowid]

    def verify(self, c, reports):
        recs = writer_records(reports)
        p = []
        expect(p, "rt ids", col(c, "SELECT id FROM rt ORDER BY id"), sorted(r[1] for r in recs))
        for w in range(8):
            expect(p, "boxes of w%d" % w,
                   one(c, "SELECT count(*) FROM rt WHERE minx >= ? AND maxx <= ?",
                       (w * 1000, w * 1000 + 999)),
                   sum(1 for r in recs if r[0] == w))
        expect(p, "rtreecheck", one(c, "SELECT rtreecheck('rt')"), "ok")
        return p

    def queries(self, c):
        return rows(c, "SELECT id, minx, maxy FROM rt WHERE minx < 3050 AND maxy > 2 ORDER BY id")


# ---- triggers, constraints, statement forms ----------------------------------------------------

class Triggers(Feature):
    name = "triggers"

    def setup(self, c):
        c.executescript("""
            CREATE TABLE items(id INTEGER PRIMARY KEY, w INTEGER, qty INTEGER);
            CREATE TABLE audit(item_id INTEGER, w INTEGER, what TEXT);
            CREATE TABLE totals(w INTEGER PRIMARY KEY, n INTEGER, qty INTEGER);
            WITH RECURSIVE k(w) AS (SELECT 0 UNION ALL SELECT w + 1 FROM k WHERE w < 7)
              INSERT INTO totals SELECT w, 0, 0 FROM k;
            CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
              INSERT INTO audit VALUES(new.id, new.w, 'insert');
              UPDATE totals SET n = n + 1, qty = qty + new.qty WHERE w = new.w;
            END;
            CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
              INSERT INTO audit VALUES(old.id, old.w, 'delete');
              UPDATE totals SET n = n - 1, qty = qty - old.qty WHERE w = old.w;
            END;""")

    def read(self, s, i):
        s.ex("SELECT n, qty FROM totals WHERE w = ?", (s.worker,))

    def write(self, s, i):
        alive = s.state.setdefault("alive", [])
        s.ex("INSERT INTO items(w, qty) VALUES(?, ?)", (s.worker, i + 1))
        rec = {"add": s.lastrowid, "del": None}
        if i % 4 == 3 and alive:
            rec["del"] = alive[0]
            s.ex("DELETE FROM items WHERE id = ?", (alive[0],))
        return rec

    applied = Fts5External.applied
    writer = Fts4.writer

    def verify(self, c, reports):
        p = []
        ws = [r for r in reports if r["role"] == "writer"]
        alive = sorted(i for r in ws for i in r["data"]["alive"])
        dels = sum(1 for r in ws for rec in r["data"]["recs"] if rec["del"] is not None)
        adds = sum(len(r["data"]["recs"]) for r in ws)
        expect(p, "items", col(c, "SELECT id FROM items ORDER BY id"), alive)
        expect(p, "audit inserts", one(c, "SELECT count(*) FROM audit WHERE what='insert'"), adds)
        expect(p, "audit deletes", one(c, "SELECT count(*) FROM audit WHERE what='delete'"), dels)
        expect(p, "totals vs items", rows(c, """
            SELECT t.w FROM totals t
             WHERE t.n != (SELECT count(*) FROM items i WHERE i.w = t.w)
                OR t.qty != (SELECT coalesce(sum(qty), 0) FROM items i WHERE i.w = t.w)"""), [])
        return p


class ForeignKeys(Feature):
    name = "fk-cascade"
    foreign_keys = True

    def setup(self, c):
        c.executescript("""
            CREATE TABLE parent(id INTEGER PRIMARY KEY, w INTEGER);
            CREATE TABLE child(id INTEGER PRIMARY KEY, k INTEGER,
                               parent_id INTEGER NOT NULL
                                         REFERENCES parent(id) ON DELETE CASCADE);
            CREATE INDEX child_parent ON child(parent_id);""")

    def read(self, s, i):
        s.ex("SELECT count(*) FROM parent WHERE w = ?", (s.worker,))

    def write(self, s, i):
        alive = s.state.setdefault("alive", [])
        s.ex("INSERT INTO parent(w) VALUES(?)", (s.worker,))
        pid = s.lastrowid
        for k in range(3):
            s.ex("INSERT INTO child(parent_id, k) VALUES(?, ?)", (pid, k))
        rec = {"add": pid, "del": None}
        if i % 3 == 2 and alive:
            rec["del"] = alive[0]
            s.ex("DELETE FROM parent WHERE id = ?", (alive[0],))
        return rec

    applied = Fts5External.applied
    writer = Fts4.writer

    def verify(self, c, reports):
        p = []
        alive = sorted(i for r in reports if r["role"] == "writer" for i in r["data"]["alive"])
        expect(p, "parents", col(c, "SELECT id FROM parent ORDER BY id"), alive)
        expect(p, "children", one(c, "SELECT count(*) FROM child"), 3 * len(alive))
        expect(p, "foreign_key_check", rows(c, "PRAGMA foreign_key_check"), [])
        return p


class Upsert(Feature):
    name = "upsert"
    KEYS = 6

    def setup(self, c):
        c.execute("CREATE TABLE kv(k TEXT PRIMARY KEY, n INTEGER NOT NULL, last_w INTEGER)")

    def read(self, s, i):
        s.ex("SELECT n FROM kv WHERE k = ?", ("key%d" % (i % self.KEYS),))

    def write(self, s, i):
        key = "key%d" % (i % self.KEYS)
        s.ex("INSERT INTO kv(k, n, last_w) VALUES(?, 1, ?) "
             "ON CONFLICT(k) DO UPDATE SET n = n + 1, last_w = excluded.last_w", (key, s.worker))
        return key

    def verify(self, c, reports):
        recs = writer_records(reports)
        want = sorted((k, recs.count(k)) for k in set(recs))
        p = []
        expect(p, "kv", rows(c, "SELECT k, n FROM kv ORDER BY k"), want)
        return p


class Returning(Feature):
    """UPDATE … RETURNING hands out numbers: each committed number must be unique, none lost."""
    name = "returning"

    def setup(self, c):
        c.executescript("""
            CREATE TABLE ctr(n INTEGER);
            INSERT INTO ctr VALUES(0);
            CREATE TABLE seq(id INTEGER PRIMARY KEY, w INTEGER, n INTEGER);""")

    def read(self, s, i):
        s.ex("SELECT n FROM ctr")

    def write(self, s, i):
        n = s.ex("UPDATE ctr SET n = n + 1 RETURNING n")[0][0]
        sid = s.ex("INSERT INTO seq(w, n) VALUES(?, ?) RETURNING id", (s.worker, n))[0][0]
        return [n, sid]

    def verify(self, c, reports):
        recs = writer_records(reports)
        p = []
        expect(p, "numbers handed out", sorted(r[0] for r in recs), list(range(1, len(recs) + 1)))
        expect(p, "ctr.n", one(c, "SELECT n FROM ctr"), len(recs))
        expect(p, "seq (id, n)", rows(c, "SELECT id, n FROM seq ORDER BY id"),
               sorted((r[1], r[0]) for r in recs))
        return p


class SavepointInBegin(Feature):
    name = "savepoint-in-begin"

    def setup(self, c):
        c.execute("CREATE TABLE sp(id INTEGER PRIMARY KEY, w INTEGER, tag TEXT)")

    def read(self, s, i):
        s.ex("SELECT count(*) FROM sp WHERE w = ?", (s.worker,))

    def write(self, s, i):
        s.ex("SAVEPOINT a")
        s.ex("INSERT INTO sp(w, tag) VALUES(?, 'keep')", (s.worker,))
        kept = s.lastrowid
        s.ex("SAVEPOINT b")
        s.ex("INSERT INTO sp(w, tag) VALUES(?, 'undo')", (s.worker,))
        s.ex("ROLLBACK TO b")
        s.ex("RELEASE b")
        s.ex("RELEASE a")
        return kept

    def verify(self, c, reports):
        p = []
        expect(p, "kept rows", col(c, "SELECT id FROM sp ORDER BY id"),
               sorted(writer_records(reports)))
        expect(p, "rolled-back rows", one(c, "SELECT count(*) FROM sp WHERE tag = 'undo'"), 0)
        return p


class SavepointOutside(SavepointInBegin):
    """SAVEPOINT opening the transaction itself (no BEGIN): RELEASE of the outer one commits.

    Every other transaction reads before it writes (the failing pattern); the rest write first.
    """
    name = "savepoint-outside"

    def writer(self, s, iters, hold):
        recs = []
        for i in range(iters):
            try:
                s.ex("SAVEPOINT outer_sp")
                if i % 2 == 0:
                    self.read(s, i)
                    time.sleep(THINK_S)
                kept = self.write(s, i)
                s.ex("RELEASE outer_sp")        # commits: the savepoint began the transaction
            except Exception as e:
                s.error(e)
                s.rollback()
                continue
            s.commits += 1
            recs.append(kept)
        return recs


class Attach(Feature):
    """Writes to two databases in one transaction: both must hold every committed row."""
    name = "attach"
    attached = ("aux.db",)

    def setup(self, c):
        # The second database is WAL (set by the program): with both in rollback mode, the run
        # without lockfix stalls 5 s at a time (one process holds aux's read lock while it
        # waits for main's write lock, another holds main's and waits to commit aux), which
        # would make the test slow, not better. lockfix switches main itself.
        c.execute("PRAGMA aux.journal_mode=WAL")
        c.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, w INTEGER, i INTEGER)")
        c.execute("CREATE TABLE aux.b(id INTEGER PRIMARY KEY, w INTEGER, i INTEGER)")

    def read(self, s, i):
        s.ex("SELECT count(*) FROM aux.b WHERE w = ?", (s.worker,))

    def write(self, s, i):
        s.ex("INSERT INTO main.a(w, i) VALUES(?, ?)", (s.worker, i))
        s.ex("SELECT count(*) FROM aux.b")          # the second database is read before written
        s.ex("INSERT INTO aux.b(w, i) VALUES(?, ?)", (s.worker, i))
        return [s.worker, i]

    def verify(self, c, reports):
        want = sorted(writer_records(reports))
        p = []
        for table in ("main.a", "aux.b"):
            got = rows(c, "SELECT w, i FROM %s ORDER BY w, i" % table)
            expect(p, table, [list(r) for r in got], want)
        return p


class BlobIO(Feature):
    """Incremental blob I/O (python 3.11's Connection.blobopen): rows are written and rewritten
    through blob handles, and read back through them by the others."""
    name = "blob-io"
    SIZE = 16 + 32 * 128

    @classmethod
    def pattern(cls, rid, n):
        head = struct.pack("<qq", rid, n)
        return head + hashlib.sha256(head).digest() * 128

    def setup(self, c):
        c.execute("CREATE TABLE blobs(id INTEGER PRIMARY KEY, w INTEGER, n INTEGER, data BLOB)")

    def read(self, s, i):
        got = s.ex("SELECT id FROM blobs ORDER BY id DESC LIMIT 1 OFFSET ?", (i % 7,))
        if not got:
            return

        def run():
            with s.conn.blobopen("blobs", "data", got[0][0], readonly=True) as b:
                return b.read()
        data = s.timed("blobopen read", run)
        rid, n = struct.unpack("<qq", data[:16])
        if rid != got[0][0] or data != self.pattern(rid, n):
            raise RuntimeError("blob %d read back wrong (header %d, %d)" % (got[0][0], rid, n))

    def blob_write(self, s, rid, data):
        def run():
            with s.conn.blobopen("blobs", "data", rid) as b:
                b.write(data)
        s.timed("blobopen write", run)

    def write(self, s, i):
        last = s.state.get("last")
        if last is not None and i % 3 != 1:
            # rewrite our last row in place: the blob handle is the transaction's first write
            self.blob_write(s, last[0], self.pattern(last[0], last[1] + 1))
            s.ex("UPDATE blobs SET n = ? WHERE id = ?", (last[1] + 1, last[0]))
        s.ex("INSERT INTO blobs(w, n, data) VALUES(?, 0, zeroblob(?))", (s.worker, self.SIZE))
        rid = s.lastrowid
        self.blob_write(s, rid, self.pattern(rid, 0))
        return {"add": rid, "bumped": last[0] if last is not None and i % 3 != 1 else None}

    def applied(self, s, rec):
        s.state["last"] = [rec["add"], 0]

    def verify(self, c, reports):
        p = []
        recs = writer_records(reports)
        expect(p, "blob rows", col(c, "SELECT id FROM blobs ORDER BY id"),
               sorted(r["add"] for r in recs))
        bumped = {r["bumped"] for r in recs if r["bumped"] is not None}
        expect(p, "rows rewritten", sorted(col(c, "SELECT id FROM blobs WHERE n = 1")),
               sorted(bumped))
        bad = [rid for rid, n, data in rows(c, "SELECT id, n, data FROM blobs")
               if data != self.pattern(rid, n)]
        expect(p, "rows whose blob does not match", bad, [])
        return p


# ---- whole-database operations while others write -----------------------------------------------

class Rows(Feature):
    """A plain table written by the writers, with a counter kept in the same transaction: a copy
    of the database (backup, VACUUM INTO) is consistent when its counter equals its row count."""

    def setup(self, c):
        c.executescript("""
            CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER, v INTEGER, pad TEXT);
            CREATE TABLE stats(n INTEGER);
            INSERT INTO stats VALUES(0);""")

    def read(self, s, i):
        s.ex("SELECT count(*), max(v) FROM t WHERE w = ?", (s.worker,))

    def write(self, s, i):
        s.ex("INSERT INTO t(w, v, pad) VALUES(?, ?, ?)", (s.worker, i, "x" * 200))
        s.ex("UPDATE stats SET n = n + 1")
        return s.lastrowid

    def verify(self, c, reports):
        p = []
        recs = writer_records(reports)
        expect(p, "t rows", col(c, "SELECT id FROM t ORDER BY id"), sorted(recs))
        expect(p, "stats.n", one(c, "SELECT n FROM stats"), len(recs))
        return p + self.verify_actor(c, [r for r in reports if r["role"] != "writer"])

    def verify_actor(self, c, actors):
        return []

    def check_copies(self, c, actors):
        """Each copy an actor made: integrity ok and a consistent snapshot."""
        p = []
        final = one(c, "SELECT count(*) FROM t")
        for r in actors:
            for path in r["data"]:
                try:
                    with sqlite3.connect("file:%s?mode=ro" % path, uri=True) as cc:
                        ok = one(cc, "PRAGMA integrity_check")
                        n, cnt = one(cc, "SELECT n FROM stats"), one(cc, "SELECT count(*) FROM t")
                    cc.close()
                except sqlite3.Error as e:
                    p.append("copy %s: %s" % (os.path.basename(path), e))
                    continue
                if ok != "ok" or n != cnt or cnt > final:
                    p.append("copy %s: integrity %s, stats.n %d, rows %d (final %d)"
                             % (os.path.basename(path), ok, n, cnt, final))
        return p


class Vacuum(Rows):
    """VACUUM from the sqlite3 shell and from python while six processes write."""
    name = "vacuum"
    roles = ["vacuum-cli", "vacuum-py"] + ["writer"] * 6

    def setup(self, c):
        Rows.setup(self, c)
        c.executescript("""
            CREATE TABLE junk(x TEXT);
            WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 500)
              INSERT INTO junk SELECT printf('%0200d', i) FROM k;
            DELETE FROM junk WHERE rowid > 50;""")

    def vacuum_cli(self, s, iters, hold):
        for _ in range(max(2, iters // 6)):
            s.cli(s.path, "VACUUM")
            time.sleep(hold / 20)
        return []

    def vacuum_py(self, s, iters, hold):
        for _ in range(max(2, iters // 6)):
            s.attempt("VACUUM", s.ex, "VACUUM")
            time.sleep(hold / 20)
        return []

    def verify_actor(self, c, actors):
        """The setup left free pages; writers only insert: after a VACUUM there are none."""
        p = []
        vacuumed = sum(a["commits"] for a in actors) > 0
        expect(p, "free pages left (VACUUM done: %s)" % vacuumed,
               one(c, "PRAGMA freelist_count") > 0, not vacuumed)
        return p


class VacuumInto(Rows):
    name = "vacuum-into"
    roles = ["vacuum-into"] + ["writer"] * 7

    def vacuum_into(self, s, iters, hold):
        made = []
        for k in range(max(2, iters // 5)):
            path = os.path.join(s.run_dir, "into%d.db" % k)
            if s.attempt("VACUUM INTO", s.ex, "VACUUM INTO ?", (path,)):
                made.append(path)
            time.sleep(hold / 20)
        return made

    def verify_actor(self, c, actors):
        return self.check_copies(c, actors)


class Backup(Rows):
    """python's Connection.backup and the shell's .backup into new files while six write."""
    name = "backup"
    roles = ["backup-py", "backup-cli"] + ["writer"] * 6

    def backup_py(self, s, iters, hold):
        made = []
        for k in range(max(2, iters // 6)):
            path = os.path.join(s.run_dir, "pyb%d.db" % k)

            def run():
                dst = sqlite3.connect(path)
                try:
                    s.conn.backup(dst)
                finally:
                    dst.close()
            if s.attempt("Connection.backup", run):
                made.append(path)
            time.sleep(hold / 20)
        return made

    def backup_cli(self, s, iters, hold):
        made = []
        for k in range(max(2, iters // 6)):
            path = os.path.join(s.run_dir, "clib%d.db" % k)
            if s.cli(s.path, ".backup '%s'" % path):
                made.append(path)
            time.sleep(hold / 20)
        return made

    def solo_extra(self, s):
        """A new file with a page size of its own, written by the backup API (issue 11)."""
        out = []
        mem = os.path.join(s.run_dir, "from-memory-cli.db")
        s.cli(":memory:", "PRAGMA page_size=1024", "CREATE TABLE m(x)", "INSERT INTO m VALUES(42)",
              ".backup '%s'" % mem)
        path = os.path.join(s.run_dir, "from-memory-py.db")

        def run():
            src = sqlite3.connect(":memory:")
            src.executescript("PRAGMA page_size=1024; CREATE TABLE m(x); INSERT INTO m VALUES(43);")
            dst = sqlite3.connect(path)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        s.attempt("Connection.backup from :memory:", run)
        return out

    def verify_actor(self, c, actors):
        return self.check_copies(c, actors)


class AlterTable(Rows):
    """A migration (add, rename and drop a column; rename a table) while seven processes write."""
    name = "alter-table"
    roles = ["alter"] + ["writer"] * 7

    def setup(self, c):
        Rows.setup(self, c)
        c.execute("CREATE TABLE side(x)")

    def alter(self, s, iters, hold):
        """Migrations of five steps each; one that fails stops its migration (as a migration tool
        stops), and the next starts from the schema as it is: the schema is tracked here and
        compared with the database's at the end."""
        cols, side = ["id", "w", "v", "pad"], "side"
        for k in range(max(1, iters // 12)):
            steps = [("ALTER TABLE t ADD COLUMN extra%d TEXT DEFAULT 'e'" % k,
                      lambda: cols.append("extra%d" % k)),
                     ("ALTER TABLE t RENAME COLUMN extra%d TO renamed%d" % (k, k),
                      lambda: cols.__setitem__(cols.index("extra%d" % k), "renamed%d" % k)),
                     ("ALTER TABLE %s RENAME TO side_tmp%d" % (side, k), None),
                     ("ALTER TABLE side_tmp%d RENAME TO side" % k, None),
                     ("ALTER TABLE t DROP COLUMN renamed%d" % k,
                      lambda: cols.remove("renamed%d" % k))]
            for sql, model in steps:
                def body():
                    # a migration tool looks at the schema before it changes it
                    s.ex("SELECT name FROM pragma_table_info('t')")
                    s.ex(sql)
                    return True
                if not s.transaction(body, explicit=True):
                    break
                if model:
                    model()
                if " RENAME TO " in sql:
                    side = sql.split()[-1]
                time.sleep(hold / 40)
        return {"columns": cols, "side": side}

    def verify_actor(self, c, actors):
        p = []
        want = actors[0]["data"] or {"columns": ["id", "w", "v", "pad"], "side": "side"}
        expect(p, "columns of t", [r[1] for r in rows(c, "PRAGMA table_info(t)")], want["columns"])
        expect(p, "tables", col(c, "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY 1"),
               sorted([want["side"], "stats", "t"]))
        return p


class CreateIndex(Rows):
    name = "create-index"
    roles = ["indexer"] + ["writer"] * 7

    def indexer(self, s, iters, hold):
        exists = False          # a failed CREATE (without lockfix) is not followed by a DROP
        for k in range(2 * max(2, iters // 6)):
            sql = "DROP INDEX t_v" if exists else "CREATE INDEX t_v ON t(v, w)"

            def body():
                s.ex("SELECT count(*) FROM t")
                s.ex(sql)
                return True
            if s.transaction(body, explicit=True):
                exists = not exists
            time.sleep(hold / 40)
        made = s.transaction(lambda: s.ex("CREATE INDEX t_w ON t(w)") or True, explicit=False)
        return {"t_v": exists, "t_w": bool(made)}

    def verify_actor(self, c, actors):
        p = []
        want = actors[0]["data"] or {}
        expect(p, "indexes", col(c, "SELECT name FROM sqlite_schema WHERE type='index' ORDER BY 1"),
               [n for n in ("t_v", "t_w") if want.get(n)])
        if want.get("t_w"):
            expect(p, "rows through the index",
                   one(c, "SELECT count(*) FROM t INDEXED BY t_w WHERE w >= 0"),
                   one(c, "SELECT count(*) FROM t"))
        return p


class Checkpoint(Rows):
    """PRAGMA wal_checkpoint(TRUNCATE) in a loop while seven processes write (the program itself
    set WAL)."""
    name = "wal-checkpoint"
    roles = ["checkpointer"] + ["writer"] * 7
    wal = True

    def checkpointer(self, s, iters, hold):
        results = []
        for _ in range(max(2, iters // 2)):
            try:
                results.append(list(s.timed("wal_checkpoint", lambda: s.conn.execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)").fetchone())))
                s.commits += 1
            except Exception as e:
                s.error(e)
            time.sleep(hold / 40)
        return results

    def verify_actor(self, c, actors):
        p = []
        results = [r for a in actors for r in a["data"]]
        if not any(r[0] == 0 for r in results):
            p.append("no checkpoint completed: %r" % results[:5])
        return p


class LongReader(Rows):
    """One process keeps a read transaction open for seconds (explicit BEGIN) while seven write;
    what it reads must not change inside its transaction."""
    name = "long-reader"
    roles = ["long-reader"] + ["writer"] * 7
    wal = True

    def long_reader(self, s, iters, hold):
        seen = []

        def body():
            first = s.ex("SELECT count(*), sum(v) FROM t")[0]
            end = time.monotonic() + hold
            while time.monotonic() < end:
                time.sleep(0.05)
                now = s.ex("SELECT count(*), sum(v) FROM t")[0]
                if now != first:
                    seen.append([list(first), list(now)])
            return True
        s.transaction(body, explicit=True)
        return seen

    def verify_actor(self, c, actors):
        p = []
        for a in actors:
            if a["data"]:
                p.append("the reader's snapshot changed inside its transaction: %r" % a["data"][:2])
        return p


FEATURES = [Fts5(), Fts5External(), Fts4(), Rtree(), Triggers(), ForeignKeys(), Upsert(),
            Returning(), SavepointInBegin(), SavepointOutside(), Attach(), BlobIO(), Vacuum(),
            VacuumInto(), AlterTable(), CreateIndex(), Backup(), Checkpoint(), LongReader()]
BY_NAME = {f.name: f for f in FEATURES}


def digest(data):
    return hashlib.sha256(repr(data).encode()).hexdigest()[:12]

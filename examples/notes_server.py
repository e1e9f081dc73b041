#!/usr/bin/env python3
"""A small notes server that speaks MCP (JSON-RPC 2.0 over stdin/stdout), like the one in
lockfix's field report: notes live as markdown files on disk and as rows in one SQLite file
(notes, their observations and relations, and an FTS5 search index).

    python3 examples/notes_server.py --db PATH [--files DIR] [--work-ms N]
                                     [--busy-timeout MS] [--textbook]

One request per line on stdin, one response per line on stdout, and nothing else on stdout:
MCP clients read every stdout line as JSON-RPC. Diagnostics go to stderr.

Tools:
    write_note(title, content)      create or replace a note
    edit_note(title, append)        add lines to the end of a note
    read_note(title)                the note's markdown
    search_notes(query)             full-text search over titles and contents

Markdown conventions, as in many notes tools:
    - [category] some text          an observation
    - relation_kind [[Other note]]  a relation to another note (any [[link]] is one)

The database code is written the way most Python servers are: sqlite3.connect() with its
defaults, so Python itself sends BEGIN just before the first INSERT/UPDATE/DELETE of a
transaction and the program calls commit() or rollback(). While that transaction is open the
server writes the note's file, reads it back and parses it, and updates the derived rows: real
servers do this (and more: await other I/O, compute embeddings) with the write lock held, which
is what makes other servers' writes wait. --work-ms adds that much more work inside each write
transaction, standing for those awaits.

--textbook applies the usual in-app fix instead: WAL, BEGIN IMMEDIATE, a 5 s busy timeout.
A failed call is answered with a JSON-RPC error whose message is SQLite's (e.g. "database is
locked").

Standard library only; no network.
"""
import argparse
import json
import os
import re
import sqlite3
import sys
import time

PROTOCOL_VERSION = "2024-11-05"
SERVER_INFO = {"name": "lockfix-example-notes", "version": "1.0"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    checksum TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,   -- +1 per successful write or edit: nothing lost
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
    note_id INTEGER NOT NULL REFERENCES notes(id),
    category TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_note ON observations(note_id);
CREATE TABLE IF NOT EXISTS relations (
    from_id INTEGER NOT NULL REFERENCES notes(id),
    kind TEXT NOT NULL,
    to_title TEXT NOT NULL,
    to_id INTEGER                          -- NULL until a note with that title exists
);
CREATE INDEX IF NOT EXISTS relations_from ON relations(from_id);
CREATE INDEX IF NOT EXISTS relations_to ON relations(to_title);
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(title, content);
"""

TOOLS = [
    {
        "name": "write_note",
        "description": "Create or replace a note (markdown).",
        "inputSchema": {
            "type": "object",
            "properties": {"title": {"type": "string"}, "content": {"type": "string"}},
            "required": ["title", "content"],
        },
    },
    {
        "name": "edit_note",
        "description": "Append markdown to the end of an existing note.",
        "inputSchema": {
            "type": "object",
            "properties": {"title": {"type": "string"}, "append": {"type": "string"}},
            "required": ["title", "append"],
        },
    },
    {
        "name": "read_note",
        "description": "Return a note's markdown.",
        "inputSchema": {
            "type": "object",
            "properties": {"title": {"type": "string"}},
            "required": ["title"],
        },
    },
    {
        "name": "search_notes",
        "description": "Full-text search over titles and contents.",
        "inputSchema": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    },
]

OBSERVATION = re.compile(r"^\s*-\s*\[([^\]]+)\]\s*(.+?)\s*$")
RELATION = re.compile(r"^\s*-\s*([A-Za-z_][\w ]*?)\s*\[\[([^\]]+)\]\]")
LINK = re.compile(r"\[\[([^\]]+)\]\]")


class ToolError(Exception):
    """A call the server refuses (bad arguments, unknown note): JSON-RPC error -32602."""


# ---- the note's file ------------------------------------------------------------------------


def file_name(title):
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "note"
    return slug[:80] + ".md"


def render(title, content):
    return "# %s\n\n%s\n" % (title, content.rstrip("\n"))


def parse(markdown):
    """Observations and relations of a note's markdown: ([(category, text)], [(kind, target)])."""
    observations, relations = [], []
    for line in markdown.splitlines():
        m = RELATION.match(line)
        if m:
            relations.append((m.group(1).strip(), m.group(2).strip()))
            continue
        m = OBSERVATION.match(line)
        if m:
            observations.append((m.group(1).strip(), m.group(2)))
        for target in LINK.findall(line):
            relations.append(("links_to", target.strip()))
    return observations, relations


def checksum(text):
    # A cheap content hash, as sync tools keep to notice changed files (not cryptographic).
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return "%08x" % h


# ---- the server -----------------------------------------------------------------------------


class NotesServer:
    def __init__(self, db_path, files_dir, work_ms, busy_timeout_ms, textbook):
        self.files_dir = files_dir
        self.work = work_ms / 1000.0
        os.makedirs(files_dir, exist_ok=True)
        if textbook:
            # The usual advice: BEGIN IMMEDIATE (Python sends it instead of BEGIN) and a 5 s wait.
            self.db = sqlite3.connect(db_path, timeout=5.0, isolation_level="IMMEDIATE")
        elif busy_timeout_ms is None:
            self.db = sqlite3.connect(db_path)  # Python's defaults: BEGIN, 5 s busy timeout
        else:
            self.db = sqlite3.connect(db_path, timeout=busy_timeout_ms / 1000.0)
        self.setup()

    def setup(self):
        # Twenty servers starting at once all do this; a server that meets a locked database
        # here tries again a little later rather than failing to start.
        for attempt in range(50):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")  # as the field report's server does
                self.db.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                self.db.rollback()
                time.sleep(0.05 * (1 + attempt % 5))
        raise RuntimeError("could not create the schema: the database stayed locked")

    # -- helpers used inside a write transaction --

    def save_file(self, title, content):
        """Write the note's markdown file, then read it back and parse it, as a sync would."""
        path = os.path.join(self.files_dir, file_name(title))
        tmp = path + ".tmp%d" % os.getpid()
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(render(title, content))
        os.replace(tmp, path)
        with open(path, encoding="utf-8") as f:
            markdown = f.read()
        return path, markdown

    def index_note(self, note_id, title, markdown):
        """Replace the note's observations, relations and search entry from its markdown."""
        observations, relations = parse(markdown)
        if self.work:
            time.sleep(self.work)  # the rest of a real server's work: other I/O, embeddings...
        db = self.db
        db.execute("DELETE FROM observations WHERE note_id = ?", (note_id,))
        db.executemany(
            "INSERT INTO observations (note_id, category, text) VALUES (?, ?, ?)",
            [(note_id, c, t) for c, t in observations],
        )
        db.execute("DELETE FROM relations WHERE from_id = ?", (note_id,))
        for kind, target in relations:
            row = db.execute("SELECT id FROM notes WHERE title = ?", (target,)).fetchone()
            db.execute(
                "INSERT INTO relations (from_id, kind, to_title, to_id) VALUES (?, ?, ?, ?)",
                (note_id, kind, target, row[0] if row else None),
            )
        # links written before this note existed now resolve to it
        db.execute("UPDATE relations SET to_id = ? WHERE to_title = ? AND to_id IS NULL",
                   (note_id, title))
        db.execute("DELETE FROM search_index WHERE rowid = ?", (note_id,))
        db.execute("INSERT INTO search_index (rowid, title, content) VALUES (?, ?, ?)",
                   (note_id, title, markdown))
        return len(observations), len(relations)

    def read_markdown(self, title):
        row = self.db.execute("SELECT path FROM notes WHERE title = ?", (title,)).fetchone()
        if row is None:
            raise ToolError("no note titled %r" % title)
        with open(row[0], encoding="utf-8") as f:
            return f.read()

    def transaction(self, body):
        """Run body() and commit; on any error roll back and let the error go to the caller."""
        try:
            result = body()
            self.db.commit()
            return result
        except BaseException:
            self.db.rollback()
            raise

    # -- tools --

    def write_note(self, title, content):
        existing = self.db.execute(  # read first: is it new? (before any write: no BEGIN yet)
            "SELECT id FROM notes WHERE title = ?", (title,)).fetchone()

        def body():
            db, now = self.db, time.time()
            if existing is None:
                # Python sends BEGIN here, before this first write of the transaction
                db.execute(
                    "INSERT INTO notes (title, path, checksum, version, updated) "
                    "VALUES (?, '', '', 1, ?) "
                    "ON CONFLICT(title) DO UPDATE SET version = version + 1, updated = ?",
                    (title, now, now))
                note_id = db.execute("SELECT id FROM notes WHERE title = ?",
                                     (title,)).fetchone()[0]
            else:
                note_id = existing[0]
                db.execute("UPDATE notes SET version = version + 1, updated = ? WHERE id = ?",
                           (now, note_id))  # Python sends BEGIN here
            path, markdown = self.save_file(title, content)
            db.execute("UPDATE notes SET path = ?, checksum = ? WHERE id = ?",
                       (path, checksum(markdown), note_id))
            nobs, nrel = self.index_note(note_id, title, markdown)
            return "%s note %r: %d observations, %d relations" % (
                "created" if existing is None else "replaced", title, nobs, nrel)

        return self.transaction(body)

    def edit_note(self, title, append):
        old = self.read_markdown(title)  # read first, outside the transaction
        # the body without its "# title" heading, as write_note took it
        content = old.split("\n\n", 1)[1] if "\n\n" in old else ""
        content = content.rstrip("\n") + "\n" + append

        def body():
            db = self.db
            cur = db.execute("UPDATE notes SET version = version + 1, updated = ? "
                             "WHERE title = ?", (time.time(), title))  # BEGIN is sent here
            if cur.rowcount == 0:
                raise ToolError("no note titled %r" % title)
            note_id = db.execute("SELECT id FROM notes WHERE title = ?", (title,)).fetchone()[0]
            path, markdown = self.save_file(title, content)
            db.execute("UPDATE notes SET path = ?, checksum = ? WHERE id = ?",
                       (path, checksum(markdown), note_id))
            nobs, nrel = self.index_note(note_id, title, markdown)
            return "edited note %r: %d observations, %d relations" % (title, nobs, nrel)

        return self.transaction(body)

    def read_note(self, title):
        return self.read_markdown(title)

    def search_notes(self, query, limit=10):
        # Quote each word: user text is not FTS5 query syntax.
        words = re.findall(r"\w+", query)
        if not words:
            return "no results"
        match = " ".join('"%s"' % w for w in words)
        rows = self.db.execute(
            "SELECT title, snippet(search_index, 1, '[', ']', '...', 8) FROM search_index "
            "WHERE search_index MATCH ? ORDER BY rank LIMIT ?", (match, int(limit))).fetchall()
        if not rows:
            return "no results"
        return "\n".join("%s: %s" % (t, s.replace("\n", " ")) for t, s in rows)

    # -- JSON-RPC --

    def call_tool(self, name, args):
        if not isinstance(args, dict):
            raise ToolError("arguments must be an object")
        try:
            if name == "write_note":
                return self.write_note(str(args["title"]), str(args["content"]))
            if name == "edit_note":
                return self.edit_note(str(args["title"]), str(args["append"]))
            if name == "read_note":
                return self.read_note(str(args["title"]))
            if name == "search_notes":
                return self.search_notes(str(args["query"]), args.get("limit", 10))
        except KeyError as e:
            raise ToolError("missing argument %s" % e) from None
        except (TypeError, ValueError) as e:
            raise ToolError("bad argument: %s" % e) from None
        raise ToolError("unknown tool %r" % name)

    def handle(self, request):
        """The response to one request (a dict), or None for a notification."""
        method, rid = request.get("method"), request.get("id")
        params = request.get("params") or {}
        if "id" not in request:
            return None  # notifications/initialized and the like: nothing to answer
        if not isinstance(params, dict):
            return error(rid, -32602, "params must be an object")
        try:
            if method == "initialize":
                result = {"protocolVersion": PROTOCOL_VERSION,
                          "capabilities": {"tools": {}}, "serverInfo": SERVER_INFO}
            elif method == "tools/list":
                result = {"tools": TOOLS}
            elif method == "tools/call":
                text = self.call_tool(params.get("name"), params.get("arguments", {}))
                result = {"content": [{"type": "text", "text": text}]}
            elif method == "ping":
                result = {}
            else:
                return error(rid, -32601, "method not found: %s" % method)
        except ToolError as e:
            return error(rid, -32602, str(e))
        except sqlite3.Error as e:
            # SQLite's own message ("database is locked", ...), as the field report saw it
            return error(rid, -32000, str(e), {"sqlite_error": type(e).__name__})
        except OSError as e:
            return error(rid, -32001, "file error: %s" % e)
        except Exception as e:  # a bug here must not take the server (and its client) down
            print("notes_server: internal error: %r" % e, file=sys.stderr)
            return error(rid, -32603, "internal error: %s" % e)
        return {"jsonrpc": "2.0", "id": rid, "result": result}


def error(rid, code, message, data=None):
    err = {"code": code, "message": message}
    if data:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": err}


def serve(server, stdin, stdout):
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            response = error(None, -32700, "parse error")
        else:
            if not isinstance(request, dict):
                response = error(None, -32600, "invalid request")
            else:
                response = server.handle(request)
        if response is not None:
            stdout.write(json.dumps(response) + "\n")
            stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="SQLite database file")
    ap.add_argument("--files", help="where the markdown files go (default: DB-notes/)")
    ap.add_argument("--work-ms", type=float, default=0.0,
                    help="extra work inside each write transaction (default 0)")
    ap.add_argument("--busy-timeout", type=int, metavar="MS",
                    help="busy timeout of the connection (default: Python's, 5000)")
    ap.add_argument("--textbook", action="store_true",
                    help="the in-app fix: WAL + BEGIN IMMEDIATE + 5 s busy timeout")
    a = ap.parse_args()
    files = a.files or a.db + "-notes"
    # Nothing but JSON-RPC may reach stdout: anything else printed by mistake goes to stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    server = NotesServer(a.db, files, a.work_ms, a.busy_timeout, a.textbook)
    serve(server, sys.stdin, out)


if __name__ == "__main__":
    main()

"""Create the notes database: a table, its FTS5 index and a counter (WAL, as the field report)."""
import sqlite3
import sys

con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA journal_mode=WAL")
con.executescript("""
CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
CREATE VIRTUAL TABLE search USING fts5(body);
CREATE TABLE stats(n INTEGER);
INSERT INTO stats VALUES (0);
""")
con.commit()

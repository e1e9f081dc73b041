#!/bin/sh
# Create the read-modify-write test database: counter(id=1, v=0) and an empty log table,
# in DELETE (rollback-journal) mode, which is SQLite's default and what unmodified programs get.
# Usage: init-db.sh DB        (an existing DB and its -journal/-wal/-shm files are removed)
#
# Runs without LD_PRELOAD on purpose: the shim would switch the new file to WAL.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DB" >&2; exit 2; }
db=$1
rm -f -- "$db" "$db-journal" "$db-wal" "$db-shm"
env -u LD_PRELOAD sqlite3 "$db" >/dev/null <<'SQL'
PRAGMA journal_mode=DELETE;
CREATE TABLE counter(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
INSERT INTO counter(id, v) VALUES(1, 0);
CREATE TABLE log(id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, i INTEGER NOT NULL);
SQL
mode=$(env -u LD_PRELOAD sqlite3 "$db" 'PRAGMA journal_mode;')
[ "$mode" = delete ] || { echo "$0: $db is in journal_mode=$mode, expected delete" >&2; exit 1; }

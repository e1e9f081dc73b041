/*
 * A stand-in for a program that bundles SQLite with hidden symbols (better-sqlite3, a static
 * amalgamation build). There is no SQLite amalgamation offline here, so this is NOT SQLite: it
 * only has what `lockfix check` looks for — SQLite's file-format string and one of its messages
 * in the binary, and sqlite3_* functions that exist but are hidden from the dynamic symbol
 * table. The real static case is tested with libsqlite3.a (static_sqlite.c) where available.
 */
#include <stdio.h>

const char fake_sqlite_header[] = "SQLite format 3";
const char fake_sqlite_message[] = "unable to open database file";

__attribute__((visibility("hidden"), noinline)) int sqlite3_open(const char *name, void **db)
{
    (void)name;
    *db = NULL;
    return 0;
}

__attribute__((visibility("hidden"), noinline)) int sqlite3_close(void *db)
{
    (void)db;
    return 0;
}

/* Calls the hidden functions, so they are not optimised away. */
int main(void)
{
    void *db;
    int rc = sqlite3_open(":memory:", &db);
    printf("%d %s %s\n", rc, fake_sqlite_header, fake_sqlite_message);
    return sqlite3_close(db);
}

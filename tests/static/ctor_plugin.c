/*
 * A module that uses SQLite before its loader returns: its constructor runs one write
 * transaction (a plain deferred BEGIN, an UPDATE, COMMIT) on the database named by CTOR_DB, with
 * the SQLite copy compiled into it (libsqlite3.a, hidden: -Wl,--exclude-libs,ALL). Loaded with
 * dlopen after start-up, it shows that lockfix patches a copy in a module before any of the
 * module's code runs (test_static.c, static_late_load). Prints `ctor: ok` or `ctor: <error>` on
 * stderr.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static int run(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "ctor: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

__attribute__((constructor)) static void write_at_load(void)
{
    const char *path = getenv("CTOR_DB");
    sqlite3 *db = NULL;
    if (path == NULL || sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "ctor: cannot open %s\n", path ? path : "(CTOR_DB unset)");
        sqlite3_close(db);
        return;
    }
    if (run(db, "BEGIN") == SQLITE_OK &&
        run(db, "UPDATE counter SET v = v + 1 WHERE id = 1") == SQLITE_OK &&
        run(db, "COMMIT") == SQLITE_OK)
        fprintf(stderr, "ctor: ok\n");
    sqlite3_close(db);
}

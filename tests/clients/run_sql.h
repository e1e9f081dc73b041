/*
 * The statement runner of the C test clients (rmw.c, and twocopies_plugin.c, which is compiled
 * once against the system SQLite and once against SQLCipher): include after <sqlite3.h>, so
 * that it calls whichever SQLite the includer links. Plain client style: prepare_v2, step to
 * the end, finalize.
 */
#ifndef LOCKFIX_TEST_RUN_SQL_H
#define LOCKFIX_TEST_RUN_SQL_H

#include <stdio.h>
#include <time.h>

/* Run one statement, binding up to two integers; with `out`, column 0 of its first row must
 * exist and is stored there. Returns 0, or -1 with the message in err. */
static int run_sql(sqlite3 *db, const char *sql, int nbind, sqlite3_int64 a, sqlite3_int64 b,
                   sqlite3_int64 *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "prepare %s: %s (%d)", sql, sqlite3_errmsg(db), rc);
        sqlite3_finalize(st);
        return -1;
    }
    if (nbind > 0)
        sqlite3_bind_int64(st, 1, a);
    if (nbind > 1)
        sqlite3_bind_int64(st, 2, b);
    int got = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out && !got)
            *out = sqlite3_column_int64(st, 0);
        got = 1;
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "step %s: %s (%d)", sql, sqlite3_errmsg(db), rc);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (out && !got) {
        snprintf(err, errlen, "%s: no row", sql);
        return -1;
    }
    return 0;
}

/* Sleep the whole time, through signals. */
static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

#endif

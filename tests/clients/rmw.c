/*
 * Read-modify-write workload through SQLite's C API, the way a plain C program uses it.
 *
 * Usage: rmw-c DB N [HOLD_MS [WRITER_ID]]
 *
 * N transactions of
 *   BEGIN; SELECT v FROM counter WHERE id=1; (sleep HOLD_MS);
 *   UPDATE counter SET v=<v read>+1 WHERE id=1; INSERT INTO log(writer, i) VALUES(?, ?); COMMIT
 * with SQLite's defaults: no busy timeout (so 0), a plain deferred BEGIN, each statement through
 * sqlite3_prepare_v2 / sqlite3_step / sqlite3_finalize. A failed transaction is rolled back
 * (when sqlite3_get_autocommit says one is open) and counted; errors whose message contains
 * "database is locked" are counted separately. Prints `ok=N failed=M locked=L` on stdout.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_sql.h"

/* Last error of the current transaction; kept to classify the failure. */
static char last_err[512];

/* One statement (run_sql.h), its error kept in last_err. */
static int run(sqlite3 *db, const char *sql, int nbind, sqlite3_int64 a, sqlite3_int64 b,
               sqlite3_int64 *out)
{
    return run_sql(db, sql, nbind, a, b, out, last_err, sizeof last_err);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DB N [HOLD_MS [WRITER_ID]]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    long n = strtol(argv[2], NULL, 10);
    long hold = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    long writer = argc > 4 ? strtol(argv[4], NULL, 10) : 0;

    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "rmw-c: open %s: %s\n", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        printf("ok=0 failed=%ld locked=0\n", n);
        return 1;
    }

    long ok = 0, failed = 0, locked = 0;
    for (long i = 0; i < n; i++) {
        sqlite3_int64 v = 0;
        last_err[0] = '\0';
        int bad = run(db, "BEGIN", 0, 0, 0, NULL) != 0 ||
                  run(db, "SELECT v FROM counter WHERE id=1", 0, 0, 0, &v) != 0;
        if (!bad && hold > 0)
            sleep_ms(hold);
        bad = bad || run(db, "UPDATE counter SET v=? WHERE id=1", 1, v + 1, 0, NULL) != 0 ||
              run(db, "INSERT INTO log(writer, i) VALUES(?, ?)", 2, writer, i, NULL) != 0 ||
              run(db, "COMMIT", 0, 0, 0, NULL) != 0;
        if (!bad) {
            ok++;
            continue;
        }
        failed++;
        if (strstr(last_err, "database is locked"))
            locked++;
        if (getenv("RMW_VERBOSE"))
            fprintf(stderr, "rmw-c: transaction %ld failed: %s\n", i, last_err);
        if (!sqlite3_get_autocommit(db)) {
            char saved[sizeof last_err];
            memcpy(saved, last_err, sizeof saved);
            if (run(db, "ROLLBACK", 0, 0, 0, NULL) != 0)
                fprintf(stderr, "rmw-c: rollback failed: %s\n", last_err);
            memcpy(last_err, saved, sizeof saved);
        }
    }
    sqlite3_close(db);
    printf("ok=%ld failed=%ld locked=%ld\n", ok, failed, locked);
    return 0;
}

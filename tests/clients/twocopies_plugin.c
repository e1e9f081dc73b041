/*
 * A plugin for twocopies: the read-modify-write transaction, compiled twice — once against the
 * system SQLite (plugin_sys.so, -lsqlite3) and once against SQLCipher (plugin_cipher.so,
 * -lsqlcipher, whose libsqlcipher.so.0 exports the same sqlite3_* names). twocopies dlopens both
 * RTLD_LOCAL, as Python loads extension modules, so one process holds two SQLite copies and each
 * plugin's calls must reach its own.
 *
 * Client defaults: sqlite3_open_v2 with no busy timeout (0), a plain deferred BEGIN, every
 * statement through sqlite3_prepare_v2 / sqlite3_step / sqlite3_finalize.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_sql.h"
#include "twocopies.h"

#ifndef PLUGIN_NAME
#error "define PLUGIN_NAME"
#endif

static const char *header_version(void)
{
    return SQLITE_VERSION;
}

static const char *lib_version(void)
{
    return sqlite3_libversion();
}

/* Column 0 of the first row of `sql` on db, malloc'ed; NULL when there is no row. */
static char *query_text(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "prepare %s: %s", sql, sqlite3_errmsg(db));
        return NULL;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        out = strdup(t ? (const char *)t : "");
    } else if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "step %s: %s", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return out;
}

static int versions(char **sql_version, char **cipher_version, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    *sql_version = *cipher_version = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "open :memory:: %s", db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return -1;
    }
    err[0] = '\0';
    *sql_version = query_text(db, "SELECT sqlite_version()", err, errlen);
    /* Only SQLCipher knows this pragma; SQLite ignores unknown pragmas and returns no row. */
    *cipher_version = query_text(db, "PRAGMA cipher_version", err, errlen);
    sqlite3_close(db);
    return err[0] ? -1 : 0;
}

static void *open_db(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* Checks the result, as careful code does (and so is not a tail call: see close_db_tail). */
static int close_db(void *db)
{
    int rc = sqlite3_close(db);
    if (rc != SQLITE_OK)
        fprintf(stderr, "twocopies[%s]: sqlite3_close: %s (%d)\n", PLUGIN_NAME, sqlite3_errstr(rc), rc);
    return rc;
}

/* The thin wrapper many bindings have: at -O2 this compiles to `jmp sqlite3_close@plt`, so the
 * return address sqlite3_close sees is in this function's CALLER (twocopies itself, which has no
 * SQLite in its scope), not in this plugin. */
__attribute__((noinline)) static int close_db_tail(void *db)
{
    return sqlite3_close(db);
}

/* One transaction; 0 ok, -1 failed (rolled back, message in err). */
static int txn(void *h, long writer, long i, long hold, char *err, size_t errlen)
{
    sqlite3 *db = h;
    sqlite3_int64 v = 0;
    err[0] = '\0';
    int bad = run_sql(db, "BEGIN", 0, 0, 0, NULL, err, errlen) != 0 ||
              run_sql(db, "SELECT v FROM counter WHERE id=1", 0, 0, 0, &v, err, errlen) != 0;
    if (!bad && hold > 0)
        sleep_ms(hold);
    bad = bad ||
          run_sql(db, "UPDATE counter SET v=? WHERE id=1", 1, v + 1, 0, NULL, err, errlen) != 0 ||
          run_sql(db, "INSERT INTO log(writer, i) VALUES(?, ?)", 2, writer, i, NULL, err,
                  errlen) != 0 ||
          run_sql(db, "COMMIT", 0, 0, 0, NULL, err, errlen) != 0;
    if (!bad)
        return 0;
    if (!sqlite3_get_autocommit(db)) {
        char ignored[256];
        if (run_sql(db, "ROLLBACK", 0, 0, 0, NULL, ignored, sizeof ignored) != 0)
            fprintf(stderr, "twocopies[%s]: rollback failed: %s\n", PLUGIN_NAME, ignored);
    }
    return -1;
}

__attribute__((visibility("default"))) const struct twocopies_plugin twocopies_plugin = {
    .name = PLUGIN_NAME,
    .header_version = header_version,
    .lib_version = lib_version,
    .versions = versions,
    .open_db = open_db,
    .close_db = close_db,
    .close_db_tail = close_db_tail,
    .txn = txn,
};

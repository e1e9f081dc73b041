/*
** What lockfix does when a connection opens, and to its busy timeout afterwards.
**
** At open: the busy timeout is raised to the floor, and a writable, file-backed database is
** switched to WAL, so readers and the writer stop blocking each other. The switch is skipped, with
** the reason logged, where WAL is impossible or unsafe (read-only, memory, temp, immutable,
** network or FUSE filesystems, a directory the -wal and -shm files cannot be created in). Whatever
** happens, the open itself succeeds as SQLite decided: lockfix never makes an open fail.
**
** A new, empty database file is not switched at open but at the connection's first write: the
** switch writes the database's first page, which fixes its page size and auto_vacuum mode, and
** a program that creates a database sets those with PRAGMAs after the open (the backup API, too,
** cannot copy a database of another page size into a WAL database).
**
** Afterwards: a timeout below the floor, set through sqlite3_busy_timeout (Python does this right
** after open) or by clearing the busy handler, is raised to the floor. A program's own busy
** handler is kept, and decides: its "give up" is final (stmt.c neither retries nor queues a
** statement of such a connection).
*/
#define _GNU_SOURCE
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "open_policy.h"
#include "base.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "hooks.h"
#include "impl.h"
#include "log.h"
#include "platform.h"
#include "resolve.h"
#include "retry.h"

/* Runs one statement of the shim's own on db; copies the first column of the first row. */
int lf_run_own(const struct lf_copy *c, sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = c->sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if (out && cap)
        out[0] = '\0';
    rc = c->sqlite3_step(st);
    if (rc == SQLITE_ROW && out && cap && c->sqlite3_column_text) {
        const unsigned char *v = c->sqlite3_column_text(st, 0);
        if (v) {
            strncpy(out, (const char *)v, cap - 1);
            out[cap - 1] = '\0';
        }
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    int frc = c->sqlite3_finalize(st);
    return rc != SQLITE_OK ? rc : frc;
}

static int truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0);
}

/* Why WAL must not be switched on for this connection, or NULL. */
static const char *wal_obstacle(const struct lf_copy *c, sqlite3 *db, const char *zfilename,
                                const char *path, char *detail, size_t cap)
{
    detail[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        int temp = zfilename == NULL || zfilename[0] == '\0';
        return temp ? "temp" : "memory";
    }
    if (c->sqlite3_uri_parameter) {
        const char *mode = c->sqlite3_uri_parameter(path, "mode");
        if (mode && strcmp(mode, "memory") == 0)
            return "memory";
        if (mode && strcmp(mode, "ro") == 0)
            return "read-only";
        if (truthy(c->sqlite3_uri_parameter(path, "immutable")))
            return "immutable";
    }
    if (c->sqlite3_db_readonly && c->sqlite3_db_readonly(db, "main") == 1)
        return "read-only";
    const char *why = lf_fs_wal_unsafe(path, detail, cap);
    if (why)
        return why;
    /* The -wal and -shm files are created beside the database: without a writable directory
    ** every later open of a WAL database would fail. */
    char dir[LF_PATH_MAX];
    strncpy(dir, path, sizeof dir - 1);
    dir[sizeof dir - 1] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    if (access(dir, W_OK) != 0)
        return "directory-not-writable";
    return NULL;
}

/* How long an open may be held up by the WAL switch. Another process busy writing can hold the
** lock the switch needs for seconds; the open must not wait that long for a change that the next
** open (of this or any other process) will try again. */
#define LF_WAL_SWITCH_MS 250

/* After the shim's own statements, leave the connection's error state as a clean open leaves
** it: a program (the sqlite3 CLI does) may check sqlite3_errcode() right after a successful open
** and would take a failed switch for a failed open. A successful prepare resets it. */
static void clear_error_state(const struct lf_copy *c, sqlite3 *db)
{
    if (c->sqlite3_errcode == NULL || c->sqlite3_errcode(db) == SQLITE_OK)
        return;
    sqlite3_stmt *st = NULL;
    if (c->sqlite3_prepare_v2(db, "SELECT 1", -1, &st, NULL) == SQLITE_OK && st != NULL)
        c->sqlite3_finalize(st);
}

/* Switch to WAL. At open (`at_open`), under a short busy timeout, then the connection's timeout is
** put back and its error state left as a clean open leaves it. At the first write the program's
** own busy timeout or handler is in force and is not touched (lockfix cannot read a handler back),
** and the program's statement, stepped next, sets the error state. */
static void switch_wal(const struct lf_copy *c, sqlite3 *db, const char *path,
                       const struct lf_config *cfg, int at_open, int timeout_after)
{
    char mode[32], now[32];
    long budget = cfg->retry_budget_ms < LF_WAL_SWITCH_MS ? cfg->retry_budget_ms : LF_WAL_SWITCH_MS;
    const char *when = at_open ? "" : " at=first-write";
    if (at_open)
        c->sqlite3_busy_timeout(db, (int)(budget / 2 > 0 ? budget / 2 : 1));
    int rc = lf_run_own(c, db, "PRAGMA journal_mode", mode, sizeof mode);
    if (rc != SQLITE_OK) {
        lf_log("wal-failed db=%s step=read-mode code=%s (the open goes on; a later open tries "
               "again)",
               path, lf_rc_name(rc));
    } else if (strcasecmp(mode, "wal") == 0) {
        /* already: nothing to do, nothing to say */
    } else if (cfg->dry_run) {
        lf_log("wal-switched db=%s from=%s%s dry_run=1", path, mode, when);
    } else {
        long long start = lf_now_ms();
        unsigned seed = (unsigned)getpid();
        for (int attempt = 1;; attempt++) {
            rc = lf_run_own(c, db, "PRAGMA journal_mode=WAL", now, sizeof now);
            long waited = (long)(lf_now_ms() - start);
            if ((rc & 0xff) != SQLITE_BUSY || waited >= budget || !at_open)
                break;
            lf_sleep_ms(lf_retry_backoff_ms(attempt, budget - waited, &seed));
        }
        if (rc != SQLITE_OK)
            lf_log("wal-failed db=%s from=%s code=%s (the open goes on in %s mode; a later open "
                   "tries again)",
                   path, mode, lf_rc_name(rc), mode);
        else if (strcasecmp(now, "wal") == 0)
            lf_log("wal-switched db=%s from=%s%s", path, mode, when);
        else
            lf_log("wal-skipped db=%s reason=unsupported mode=%s (SQLite kept it: no shared "
                   "memory in this VFS, or a transaction is open)",
                   path, now);
    }
    if (!at_open)
        return;
    /* the timeout the connection had: the floor, or SQLite's default of none */
    if (timeout_after > 0)
        c->sqlite3_busy_timeout(db, timeout_after);
    else
        c->sqlite3_busy_handler(db, NULL, NULL);
    clear_error_state(c, db);
}

/* What lockfix does to a connection just opened (called by the open hooks below). */
static void open_policy(const struct lf_copy *c, sqlite3 *db, const char *zfilename, int flags)
{
    const struct lf_config *cfg = lf_config();
    const char *path = c->sqlite3_db_filename ? c->sqlite3_db_filename(db, "main") : zfilename;
    struct lf_conn *conn = lf_conn_add(db, c, path ? path : "");
    if (conn == NULL || !lf_conn_enabled(conn))
        return;
    /* SQLITE_OPEN_READONLY binds every database the connection will ever have: ATTACH opens with
    ** the connection's flags, and a URI's mode= may narrow them, never widen them ("access mode
    ** not allowed: rw"). A URI's mode=ro, immutable=1 or a file it may not write bind only the
    ** main database: the connection can still attach a writable one. */
    if (flags & SQLITE_OPEN_READONLY)
        lf_conn_set_readonly(conn, LF_RO_OPEN);
    else if (c->sqlite3_db_readonly && c->sqlite3_db_readonly(db, "main") == 1)
        lf_conn_set_readonly(conn, LF_RO_MAIN);
    const char *shown = lf_conn_path(conn);
    int in_memory = path == NULL || path[0] == '\0';
    /* A memory or temp database has no other connection to wait for: left alone. */
    if (cfg->timeout_ms > 0 && !in_memory) {
        if (!cfg->dry_run) {
            c->sqlite3_busy_timeout(db, cfg->timeout_ms);
            lf_conn_set_timeout(conn, cfg->timeout_ms);
        }
        /* once per connection by nature, so not counted against the program's own changes */
        lf_log("timeout-raised db=%s from=0 to=%d via=open%s", shown, cfg->timeout_ms,
               cfg->dry_run ? " dry_run=1" : "");
    }
    if (!cfg->wal)
        return;
    char detail[32];
    const char *why = wal_obstacle(c, db, zfilename, path, detail, sizeof detail);
    if (why != NULL) {
        lf_log("wal-skipped db=%s reason=%s%s%s", shown, why, detail[0] ? " fs=" : "", detail);
        return;
    }
    struct stat st;
    /* (path is not NULL here: wal_obstacle answers "temp" or "memory" for a NULL path, but the
    ** analyzer does not follow that, so it is said again) */
    if (path != NULL && stat(path, &st) == 0 && st.st_size == 0) {
        lf_conn_set_wal_pending(conn, 1); /* a new database: its first write switches it */
        return;
    }
    switch_wal(c, db, shown, cfg, 1, lf_conn_timeout(conn));
}

void lf_wal_at_first_write(const struct lf_copy *c, sqlite3 *db, struct lf_conn *conn)
{
    if (!lf_conn_set_wal_pending(conn, 0))
        return; /* another thread of this connection did it */
    lf_guard++;
    switch_wal(c, db, lf_conn_path(conn), lf_config(), 0, 0);
    lf_guard--;
}

/* Opens: the real open, then the policy, with re-entered hooks passed through meanwhile. */
static int after_open(const struct lf_copy *c, int rc, sqlite3 **ppDb, const char *zname, int flags)
{
    if (rc == SQLITE_OK && ppDb && *ppDb)
        open_policy(c, *ppDb, zname, flags);
    return rc;
}

int lf_impl_sqlite3_open(const struct lf_copy *c, const char *filename, sqlite3 **ppDb)
{
    lf_guard++;
    int rc = c->sqlite3_open(filename, ppDb);
    rc = after_open(c, rc, ppDb, filename, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    lf_guard--;
    return rc;
}

int lf_impl_sqlite3_open16(const struct lf_copy *c, const void *filename, sqlite3 **ppDb)
{
    lf_guard++;
    int rc = c->sqlite3_open16(filename, ppDb);
    /* The UTF-16 name is not read: the policy asks SQLite for the file name it opened. An empty
    ** UTF-16 name means a temp database; anything else is judged by that answer. */
    const unsigned short *w = filename;
    rc =
        after_open(c, rc, ppDb, (w && w[0]) ? "?" : "", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    lf_guard--;
    return rc;
}

int lf_impl_sqlite3_open_v2(const struct lf_copy *c, const char *filename, sqlite3 **ppDb,
                            int flags, const char *zVfs)
{
    lf_guard++;
    int rc = c->sqlite3_open_v2(filename, ppDb, flags, zVfs);
    rc = after_open(c, rc, ppDb, filename, flags);
    lf_guard--;
    return rc;
}

int lf_impl_sqlite3_busy_timeout(const struct lf_copy *c, sqlite3 *db, int ms)
{
    const struct lf_config *cfg = lf_config();
    struct lf_conn *conn = db ? lf_conn_get(db, c) : NULL;
    if (conn != NULL && lf_conn_enabled(conn) && cfg->timeout_ms > 0 && ms < cfg->timeout_ms) {
        if (lf_conn_event(conn, LF_EV_TIMEOUT_RAISED))
            lf_log("timeout-raised db=%s from=%d to=%d via=busy_timeout%s", lf_conn_path(conn), ms,
                   cfg->timeout_ms, cfg->dry_run ? " dry_run=1" : "");
        if (!cfg->dry_run)
            ms = cfg->timeout_ms;
    }
    lf_guard++;
    int rc = c->sqlite3_busy_timeout(db, ms);
    lf_guard--;
    if (rc == SQLITE_OK && conn != NULL) {
        lf_conn_set_own_handler(conn, 0);
        lf_conn_set_timeout(conn, ms);
    }
    return rc;
}

int lf_impl_sqlite3_busy_handler(const struct lf_copy *c, sqlite3 *db, lf_busy_fn handler,
                                 void *arg)
{
    const struct lf_config *cfg = lf_config();
    struct lf_conn *conn = db ? lf_conn_get(db, c) : NULL;
    if (conn == NULL || !lf_conn_enabled(conn) || cfg->timeout_ms <= 0)
        return c->sqlite3_busy_handler(db, handler, arg);
    if (handler == NULL) {
        /* Clearing the handler means "fail at once": that is the error lockfix is here to end. */
        if (lf_conn_event(conn, LF_EV_TIMEOUT_RAISED))
            lf_log("timeout-raised db=%s from=0 to=%d via=busy_handler%s", lf_conn_path(conn),
                   cfg->timeout_ms, cfg->dry_run ? " dry_run=1" : "");
        if (!cfg->dry_run) {
            lf_guard++;
            int rc = c->sqlite3_busy_timeout(db, cfg->timeout_ms);
            lf_guard--;
            lf_conn_set_timeout(conn, cfg->timeout_ms);
            return rc;
        }
        return c->sqlite3_busy_handler(db, handler, arg);
    }
    if (!lf_conn_own_handler(conn))
        lf_log("busy-handler-kept db=%s (the program installed its own busy handler: it decides "
               "how long to wait; lockfix neither replaces it nor queues or retries around it)",
               lf_conn_path(conn));
    lf_conn_set_own_handler(conn, 1);
    return c->sqlite3_busy_handler(db, handler, arg);
}

/* The record is taken out before the real close: afterwards the address may already belong to
** a connection another thread opened. A close that fails (SQLITE_BUSY, statements still open)
** leaves the connection open, and its record goes back. */
static int close_common(const struct lf_copy *c, sqlite3 *db, int (*real_close)(sqlite3 *))
{
    struct lf_conn *conn = db ? lf_conn_detach(db) : NULL;
    lf_guard++;
    int rc = real_close(db);
    lf_guard--;
    if (rc == SQLITE_OK)
        lf_conn_closed(conn);
    else
        lf_conn_reattach(conn);
    (void)c;
    return rc;
}

int lf_impl_sqlite3_close(const struct lf_copy *c, sqlite3 *db)
{
    return close_common(c, db, c->sqlite3_close);
}

int lf_impl_sqlite3_close_v2(const struct lf_copy *c, sqlite3 *db)
{
    /* close_v2 always succeeds: a zombie connection cannot be used by the program any more */
    return close_common(c, db, c->sqlite3_close_v2);
}

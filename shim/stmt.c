/*
** What lockfix does to statements: prepare (rewrite, retry a busy compile), step (retry where
** safe) and exec (both, for every statement of the text).
**
** Each intervention happens once per statement whether or not SQLite's inner calls come back
** through the hooks: Debian's libsqlite3 calls sqlite3_prepare_v2 and sqlite3_step from inside
** sqlite3_exec through its PLT, static and -Bsymbolic builds do not. Rewriting is idempotent (a
** rewritten BEGIN IMMEDIATE is left alone when the inner prepare sees it), and exec retries as a
** whole only when no inner call was seen, the text is one statement, and no row was delivered.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#include "impl.h"
#include "base.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "deadline.h"
#include "handles.h"
#include "hooks.h"
#include "log.h"
#include "platform.h"
#include "queue.h"
#include "resolve.h"
#include "retry.h"
#include "rewrite.h"
#include "turn.h"

/* Counts hooked prepare/step calls on this thread, so exec can tell whether its inner calls were
** seen (and retried) by the hooks. */
static LF_TLS unsigned long inner_calls;
static LF_TLS unsigned backoff_seed;
/* Set while the program's sqlite3_exec runs: its text was already examined (and logged) whole,
** so the prepares SQLite makes inside it for each statement must not log the same rewrite. */
static LF_TLS int in_exec;

static unsigned *seed(void)
{
    if (backoff_seed == 0)
        backoff_seed = (unsigned)getpid() * 2654435761u ^ (unsigned)(uintptr_t)&backoff_seed;
    return &backoff_seed;
}

/* Log the first time(s) an event happens on a connection; count it always. */
#define LOG_EVENT(conn, ev, ...)                                                                   \
    do {                                                                                           \
        if (lf_conn_event(conn, ev))                                                               \
            lf_log(__VA_ARGS__);                                                                   \
    } while (0)

static void log_rewrite(struct lf_conn *conn, const struct lf_stmt *st, const char *via,
                        int dry_run)
{
    const char *dry = dry_run ? " dry_run=1" : "";
    if (st->kind == LF_STMT_PRAGMA_TIMEOUT)
        LOG_EVENT(conn, LF_EV_TIMEOUT_RAISED, "timeout-raised db=%s from=%lld to=%s via=pragma%s",
                  lf_conn_path(conn), st->value, st->edit_with, dry);
    else
        LOG_EVENT(conn, LF_EV_BEGIN_REWRITTEN, "begin-rewritten db=%s to=IMMEDIATE via=%s%s",
                  lf_conn_path(conn), via, dry);
}

/* At LOCKFIX_LOG_LEVEL=debug only: the statement's text (never at info level, where SQL literals
** must not reach a log). */
static void log_debug_sql(struct lf_conn *conn, const char *event, const char *sql)
{
    if (sql == NULL || !lf_log_debug_enabled())
        return;
    char clean[512];
    lf_log_sql(clean, sizeof clean, sql);
    lf_log("debug db=%s event=%s sql=\"%s\"", lf_conn_path(conn), event, clean);
}

/* Busy-retry loop shared by every call that may be re-run. `again` re-runs it and returns the new
** code; the loop stops when the code is no longer busy or the deadline has passed. Each attempt
** waits inside SQLite no longer than what is left. */
typedef int (*again_fn)(void *ctx);

static int retry_loop(struct lf_conn *conn, const struct lf_copy *c, sqlite3 *db, const char *what,
                      int rc, again_fn again, void *ctx, long long deadline)
{
    long long start = lf_now_ms();
    long wait_ms = lf_sqlite_wait_ms(conn);
    int attempt = 0;
    while ((rc & 0xff) == SQLITE_BUSY && rc != SQLITE_BUSY_SNAPSHOT) {
        long long now = lf_now_ms();
        long waited = (long)(now - start), left = (long)(deadline - now);
        if (left <= 0) {
            LOG_EVENT(conn, LF_EV_GAVE_UP,
                      "gave-up db=%s what=%s attempts=%d waited_ms=%ld code=%s", lf_conn_path(conn),
                      what, attempt, waited, lf_rc_name(rc));
            return rc;
        }
        attempt++;
        LOG_EVENT(conn, LF_EV_RETRY, "retry db=%s what=%s attempt=%d waited_ms=%ld code=%s",
                  lf_conn_path(conn), what, attempt, waited, lf_rc_name(rc));
        lf_sleep_ms(lf_retry_backoff_ms(attempt, left, seed()));
        left = (long)(deadline - lf_now_ms());
        if (wait_ms > 0 && left < wait_ms && db != NULL) {
            sqlite3_mutex *held = lf_timeout_cut(c, db, left);
            rc = again(ctx);
            lf_timeout_put_back(c, db, held, wait_ms);
        } else {
            rc = again(ctx);
        }
    }
    if (attempt > 0)
        LOG_EVENT(conn, LF_EV_RETRY_OK, "retry-ok db=%s what=%s attempts=%d waited_ms=%ld",
                  lf_conn_path(conn), what, attempt, (long)(lf_now_ms() - start));
    return rc;
}

/* ---- prepare ------------------------------------------------------------------------------ */

/*
** What a statement's first character rules out, without tokenizing: a statement that starts
** with a letter other than B is no BEGIN; one that starts with a letter other than B or P is
** neither a BEGIN nor a PRAGMA, the only statements the rewriter edits (rewrite.c). Anything
** else (blanks, comments, empty statements, a byte-order mark) goes to the tokenizer.
*/
enum { NOT_BEGIN = 1, NOT_EDITED = 2 };
#define LETTER(ch, what) [ch] = (what), [(ch) + ('a' - 'A')] = (what)
#define OTHER(ch) LETTER(ch, NOT_BEGIN | NOT_EDITED)
static const unsigned char first_letter[256] = {
    OTHER('A'), LETTER('B', 0), OTHER('C'), OTHER('D'), OTHER('E'), OTHER('F'), OTHER('G'),
    OTHER('H'), OTHER('I'), OTHER('J'), OTHER('K'), OTHER('L'), OTHER('M'), OTHER('N'),
    OTHER('O'), LETTER('P', NOT_BEGIN), OTHER('Q'), OTHER('R'), OTHER('S'), OTHER('T'),
    OTHER('U'), OTHER('V'), OTHER('W'), OTHER('X'), OTHER('Y'), OTHER('Z')};
#undef OTHER
#undef LETTER

/* The text cannot be edited: its first unit is a letter other than B or P. Reads nothing past
** an nByte of 0 (or 1 for UTF-16), where the text is empty. */
static inline int never_edited(const void *sql, int nbyte, int wide)
{
    if (nbyte >= 0 && nbyte < (wide ? 2 : 1))
        return 0;
    unsigned c0 = wide ? *(const unsigned short *)sql : *(const unsigned char *)sql;
    return c0 < 256 && (first_letter[c0] & NOT_EDITED);
}

struct prepare_call {
    const struct lf_copy *c;
    sqlite3 *db;
    const void *sql;
    int nbyte;
    unsigned flags;
    int wide, version;
    sqlite3_stmt **ppStmt;
    const void **pzTail;
};

static int prepare_call_real(const struct prepare_call *p)
{
    const struct lf_copy *c = p->c;
    const char **t8 = (const char **)p->pzTail;
    if (p->wide) {
        switch (p->version) {
        case 1:
            return c->sqlite3_prepare16(p->db, p->sql, p->nbyte, p->ppStmt, p->pzTail);
        case 2:
            return c->sqlite3_prepare16_v2(p->db, p->sql, p->nbyte, p->ppStmt, p->pzTail);
        default:
            return c->sqlite3_prepare16_v3(p->db, p->sql, p->nbyte, p->flags, p->ppStmt, p->pzTail);
        }
    }
    switch (p->version) {
    case 1:
        return c->sqlite3_prepare(p->db, p->sql, p->nbyte, p->ppStmt, t8);
    case 2:
        return c->sqlite3_prepare_v2(p->db, p->sql, p->nbyte, p->ppStmt, t8);
    default:
        return c->sqlite3_prepare_v3(p->db, p->sql, p->nbyte, p->flags, p->ppStmt, t8);
    }
}

/* The real prepare, guarded: loading the schema runs SQLite's own statements. */
static int prepare_real(void *arg)
{
    int rc;
    LF_SQLITE_CALL(rc, prepare_call_real(arg));
    return rc;
}

/* What follows the real prepare of `call` (the program's text or its rewrite) that returned rc,
** when there is something to do (prepare_and_retry's test). On a connection lockfix serves: a
** prepare SQLite found busy loading the schema is retried, and the statement is remembered as
** its copy's when several are loaded. On every connection, enabled or not: a new statement at
** the address of one step_writer reset and left for the program to reset (finalized where the
** shim did not see it) clears that mark, so that its own reset gets its own answer. */
__attribute__((noinline, cold)) static int prepare_after(struct prepare_call *call,
                                                         struct lf_conn *conn, int rc)
{
    if (lf_conn_enabled(conn)) {
        const struct lf_config *cfg = lf_config();
        if ((rc & 0xff) == SQLITE_BUSY && cfg->retry && !lf_conn_own_handler(conn)) {
            if (!cfg->dry_run)
                rc = retry_loop(conn, call->c, call->db, "prepare", rc, prepare_real, call,
                                lf_busy_deadline(conn, 0));
            else
                lf_log("retry db=%s what=prepare attempt=1 dry_run=1", lf_conn_path(conn));
        }
        if (rc == SQLITE_OK && *call->ppStmt != NULL &&
            atomic_load_explicit(&lf_ncopies, memory_order_relaxed) > 1)
            lf_stmt_owner_put(*call->ppStmt, call->c);
    }
    if (rc == SQLITE_OK && *call->ppStmt != NULL && *call->ppStmt == lf_busy_reset_stmt)
        lf_busy_reset_stmt = NULL;
    return rc;
}

/* The real prepare of `call`; prepare_after only when it came back busy, several copies are
** loaded, or the statement is where step_writer left one: most prepares (python's COMMIT every
** transaction) need nothing more. */
static int prepare_and_retry(struct prepare_call *call, struct lf_conn *conn)
{
    int rc = prepare_real(call);
    sqlite3_stmt *made = rc == SQLITE_OK ? *call->ppStmt : NULL;
    if (LF_UNLIKELY((rc & 0xff) == SQLITE_BUSY ||
                    (made != NULL && (atomic_load_explicit(&lf_ncopies, memory_order_relaxed) > 1 ||
                                      made == lf_busy_reset_stmt))))
        return prepare_after(call, conn, rc);
    return rc;
}

/* Whether a BEGIN of this connection becomes BEGIN IMMEDIATE. Not on a connection opened with
** SQLITE_OPEN_READONLY: it can never write a database file (open_policy.c), so no transaction of
** its can fail at an upgrade to a writer; its deferred BEGIN takes no lock until its first read,
** and it takes no turn (turn.c). A connection whose main database alone is read-only keeps the
** rewrite: it may attach a writable database after this BEGIN is prepared, and SQLite recompiles a
** BEGIN IMMEDIATE for the databases attached when it runs (a read transaction on each read-only
** one, so no write lock while all are), where a BEGIN left deferred would stay deferred. */
static inline int rewrite_begin(const struct lf_conn *conn, const struct lf_config *cfg)
{
    return cfg->rewrite && lf_conn_readonly(conn) != LF_RO_OPEN;
}

static int prepare_common(struct prepare_call *p)
{
    inner_calls++;
    if (p->db == NULL || p->sql == NULL || p->ppStmt == NULL)
        return prepare_real(p);
    /* The connection is looked up first, as for any text: a connection opened where the shim
    ** could not see it is learned here (lf_conn_get), and its copy recorded before a second
    ** copy may be loaded. The thread's last connection costs a compare. */
    struct lf_conn *conn = lf_conn_get(p->db, p->c);
    /* a connection lockfix leaves alone, or a text whose first character rules out an edit
    ** (python's COMMIT every transaction, every SELECT): no configuration, no rewriter */
    if (!lf_conn_enabled(conn) || never_edited(p->sql, p->nbyte, p->wide))
        return prepare_and_retry(p, conn);
    const struct lf_config *cfg = lf_config();

    struct lf_text text = {p->sql, lf_text_units(p->sql, p->nbyte, p->wide), p->wide};
    struct lf_rewritten rw;
    int changed = lf_rewrite_first(&text, cfg->timeout_ms, rewrite_begin(conn, cfg), &rw);
    if (changed == 1) {
        if (!in_exec) {
            log_rewrite(conn, &rw.st, "prepare", cfg->dry_run);
            if (!p->wide)
                log_debug_sql(conn, "rewritten", p->sql);
        }
        if (cfg->dry_run) {
            lf_rewritten_release(&rw);
            changed = 0;
        }
    }
    struct prepare_call call = *p;
    const void *tail = NULL;
    if (changed == 1) {
        call.sql = rw.p;
        call.nbyte = (int)(rw.n * (p->wide ? 2 : 1));
        call.pzTail = &tail;
    }
    int rc = prepare_and_retry(&call, conn);
    if (changed == 1) {
        /* pzTail must point into the caller's own text, where SQLite would have put it. */
        if (p->pzTail) {
            size_t w = p->wide ? 2 : 1;
            size_t off = tail ? (size_t)((const char *)tail - (const char *)rw.p) / w : rw.n;
            *p->pzTail = (const char *)p->sql + lf_rewrite_map_back(&rw, off) * w;
        }
        lf_rewritten_release(&rw);
    }
    return rc;
}

#define PREPARE_IMPL(fname, ctype, wide_, version_)                                               \
    int lf_impl_##fname(const struct lf_copy *c, sqlite3 *db, const ctype *zSql, int nByte,         \
                        sqlite3_stmt **ppStmt, const ctype **pzTail)                               \
    {                                                                                              \
        struct prepare_call p = {c, db, zSql, nByte, 0, wide_, version_, ppStmt,                   \
                                 (const void **)pzTail};                                           \
        return prepare_common(&p);                                                                 \
    }
PREPARE_IMPL(sqlite3_prepare, char, 0, 1)
PREPARE_IMPL(sqlite3_prepare_v2, char, 0, 2)
PREPARE_IMPL(sqlite3_prepare16, void, 1, 1)
PREPARE_IMPL(sqlite3_prepare16_v2, void, 1, 2)
#undef PREPARE_IMPL

int lf_impl_sqlite3_prepare_v3(const struct lf_copy *c, sqlite3 *db, const char *zSql, int nByte,
                               unsigned int prepFlags, sqlite3_stmt **ppStmt, const char **pzTail)
{
    struct prepare_call p = {c, db, zSql, nByte, prepFlags, 0, 3, ppStmt, (const void **)pzTail};
    return prepare_common(&p);
}

int lf_impl_sqlite3_prepare16_v3(const struct lf_copy *c, sqlite3 *db, const void *zSql,
                                 int nByte, unsigned int prepFlags, sqlite3_stmt **ppStmt,
                                 const void **pzTail)
{
    struct prepare_call p = {c, db, zSql, nByte, prepFlags, 1, 3, ppStmt, pzTail};
    return prepare_common(&p);
}

/* ---- step --------------------------------------------------------------------------------- */

/*
** A writing statement that SQLite stops with SQLITE_BUSY before it has the write lock is left
** running (sqlite3_stmt_busy), and while it runs it counts as one of its connection's writers.
** SQLite commits an autocommit write only when it is the connection's last running writer, so a
** statement of the same connection that completes meanwhile returns SQLITE_DONE without being
** committed, and the busy statement's reset then rolls that work back: a row the program was
** told was written, lost (shown by queue/threads_sharing_one_connection: python threads sharing
** one connection, one thread's INSERT busy, another's INSERT done in the gap before the first
** one's reset). Without lockfix that gap is as short as the program makes it; lockfix's retry
** back-off and logging widen it. So a writing statement that starts in autocommit mode is
** stepped under its connection's mutex (held by SQLite for the whole step anyway; recursive),
** and reset before the mutex is let go if it comes back busy still running: nothing of it was
** done yet, so it starts over, as the program's own reset or next step would make it. The
** program's own reset or finalize of it then returns what this reset returned (one statement per
** thread is remembered), as it would have without lockfix.
*/
LF_TLS sqlite3_stmt *lf_busy_reset_stmt;
static LF_TLS int busy_reset_rc;

static int step_writer(const struct lf_copy *c, sqlite3_stmt *stmt, sqlite3 *db)
{
    void (*leave)(sqlite3_mutex *) = c->sqlite3_mutex_leave;
    int lockable = c->sqlite3_db_mutex && c->sqlite3_mutex_enter && leave;
    sqlite3_mutex *m = NULL;
    /* A process with one thread needs no mutex: no other thread exists to step in. */
    if (lockable && !lf_single_threaded())
        m = c->sqlite3_db_mutex(db); /* NULL for a connection without one (SQLITE_OPEN_NOMUTEX) */
    if (LF_UNLIKELY(stmt == lf_busy_reset_stmt))
        lf_busy_reset_stmt = NULL; /* stepped again: its own answer counts from now on */
    int rc;
    lf_guard++;
    if (m)
        c->sqlite3_mutex_enter(m);
    rc = c->sqlite3_step(stmt);
    if (LF_UNLIKELY((rc & 0xff) == SQLITE_BUSY) && c->sqlite3_stmt_busy &&
        c->sqlite3_stmt_busy(stmt)) {
        /* A thread started inside the step (by a callback of the program's): the reset is
        ** made under the mutex from here on. Between SQLite letting its own mutex go and this
        ** one taken, that thread could run a statement of this connection: the gap the program
        ** has without lockfix between its step and its own reset, no wider. */
        if (m == NULL && lockable && !lf_single_threaded() && (m = c->sqlite3_db_mutex(db)))
            c->sqlite3_mutex_enter(m);
        if (c->sqlite3_get_autocommit(db) && !lf_config()->dry_run &&
            lf_conn_enabled(lf_conn_get(db, c))) {
            busy_reset_rc = c->sqlite3_reset(stmt);
            lf_busy_reset_stmt = stmt;
        }
    }
    if (m)
        leave(m);
    lf_guard--;
    return rc;
}

/* The program resets a statement step_writer reset after SQLITE_BUSY: the answer that reset had. */
int lf_reset_after_busy(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    int saved = busy_reset_rc;
    lf_busy_reset_stmt = NULL;
    int rc = lf_reset_holding(c, stmt);
    return rc == SQLITE_OK ? saved : rc;
}

struct step_call {
    const struct lf_copy *c;
    sqlite3_stmt *stmt;
    sqlite3 *db;
    int writer; /* stepped by step_writer */
};

static int step_again(void *arg)
{
    struct step_call *s = arg;
    int rc;
    lf_guard++;
    /* A busy COMMIT stays mid-run and is continued by stepping; anything else starts over. */
    if (!s->c->sqlite3_stmt_busy || !s->c->sqlite3_stmt_busy(s->stmt))
        s->c->sqlite3_reset(s->stmt);
    if (s->writer)
        rc = step_writer(s->c, s->stmt, s->db);
    else
        rc = s->c->sqlite3_step(s->stmt);
    lf_guard--;
    return rc;
}

/* A statement's first step: a writer's through step_writer, anything else SQLite's own. */
static inline int step_first(const struct lf_copy *c, sqlite3_stmt *stmt, sqlite3 *db, int writer)
{
    int rc;
    if (writer)
        return step_writer(c, stmt, db);
    if (LF_UNLIKELY(stmt == lf_busy_reset_stmt))
        lf_busy_reset_stmt = NULL;
    LF_SQLITE_CALL(rc, c->sqlite3_step(stmt));
    return rc;
}

/* The same with the connection's busy timeout cut to what is left of the statement's deadline (a
** queue wait took the rest): cut, step and put back under the connection's mutex (deadline.c).
** Out of line: the step's common path keeps its registers. */
__attribute__((noinline, cold)) static int step_cut(const struct lf_copy *c, sqlite3_stmt *stmt,
                                                   sqlite3 *db, int writer, long cut)
{
    sqlite3_mutex *held = lf_timeout_cut(c, db, cut);
    int rc = step_first(c, stmt, db, writer);
    lf_timeout_put_back(c, db, held, lf_sqlite_wait_ms(lf_conn_get(db, c)));
    return rc;
}

/* The slow path: a step met SQLITE_BUSY. Decide whether it may run again, and run it. */
static int step_busy(const struct lf_copy *c, sqlite3_stmt *stmt, sqlite3 *db, int rc,
                     int was_running, int was_autocommit, long long deadline)
{
    struct lf_conn *conn = lf_conn_get(db, c);
    const struct lf_config *cfg = lf_config();
    if (!lf_conn_enabled(conn) || !cfg->retry || lf_conn_own_handler(conn))
        return rc;
    struct lf_busy_ctx ctx = {rc, was_autocommit, was_running, LF_STMT_OTHER, 0};
    if (c->sqlite3_extended_errcode)
        ctx.rc = c->sqlite3_extended_errcode(db);
    if ((ctx.rc & 0xff) != SQLITE_BUSY)
        ctx.rc = rc;
    const char *sql = c->sqlite3_sql ? c->sqlite3_sql(stmt) : NULL;
    if (sql)
        ctx.kind = lf_sql_first_kind(sql);
    enum lf_retry_verdict v = lf_retry_decide(&ctx);
    if (v != LF_RETRY_YES) {
        LOG_EVENT(conn, LF_EV_GAVE_UP, "gave-up db=%s what=step attempts=0 reason=%s code=%s",
                  lf_conn_path(conn), lf_retry_verdict_name(v), lf_rc_name(ctx.rc));
        log_debug_sql(conn, "gave-up", sql);
        return rc;
    }
    if (cfg->dry_run) {
        lf_log("retry db=%s what=step attempt=1 dry_run=1", lf_conn_path(conn));
        return rc;
    }
    struct step_call s = {c, stmt, db, !was_running && was_autocommit && db != NULL &&
                                           !c->sqlite3_stmt_readonly(stmt)};
    return retry_loop(conn, c, db, "step", rc, step_again, &s, lf_busy_deadline(conn, deadline));
}

/* ---- what a statement is, for the queue --------------------------------------------------- */

static int may_write(sqlite3_stmt *stmt)
{
    (void)stmt;
    return 0; /* as sqlite3_stmt_readonly: 0 = the statement may write */
}

static const char *no_text(sqlite3_stmt *stmt)
{
    (void)stmt;
    return NULL;
}

static int columns_unknown(sqlite3_stmt *stmt)
{
    (void)stmt;
    return 0; /* as a statement without result columns: begins_write reads its text */
}

void lf_copy_stand_ins(struct lf_copy *c)
{
    if (c->sqlite3_stmt_readonly == NULL)
        c->sqlite3_stmt_readonly = may_write;
    if (c->sqlite3_sql == NULL)
        c->sqlite3_sql = no_text;
    if (c->sqlite3_column_count == NULL)
        c->sqlite3_column_count = columns_unknown;
}

/* A statement SQLite does not count as read-only that opens a transaction: BEGIN IMMEDIATE or
** EXCLUSIVE (they take its locks). Any other is a single writing statement, which holds SQLite's
** write lock from its start. No writing statement starts with a B, so a first letter decides;
** anything else (blanks, comments) goes to the tokenizer. */
static inline int opens_write_txn(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    const char *sql = c->sqlite3_sql(stmt);
    if (sql == NULL)
        return 1; /* cannot tell: the turn, as for any transaction */
    unsigned char c0 = (unsigned char)sql[0];
    if (first_letter[c0] & NOT_BEGIN)
        return 0;
    if ((c0 | 0x20) == 'b')
        return 1;
    return lf_sql_first_kind(sql) == LF_STMT_BEGIN_IMMEDIATE;
}

/* Whether a statement SQLite calls read-only, about to start in autocommit mode, begins writing:
** BEGIN IMMEDIATE/EXCLUSIVE (when a copy counts them read-only), or, while the rewrite is on, a
** SAVEPOINT that opens a transaction. Such a SAVEPOINT cannot be rewritten (a transaction opened
** by BEGIN is not ended by RELEASE), but it takes the turn like a BEGIN IMMEDIATE: no writer
** under lockfix commits between its first read and its first write, so its upgrade to a writer
** cannot fail against them. */
static inline int begins_write(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    /* BEGIN and SAVEPOINT return no result columns; a statement that has some (a SELECT, most
    ** PRAGMAs, any EXPLAIN) is neither, told by one accessor instead of its text. */
    if (c->sqlite3_column_count(stmt) > 0)
        return 0;
    const char *sql = c->sqlite3_sql(stmt);
    if (sql == NULL)
        return 0;
    /* The common case is decided without tokenizing: a statement that starts with a letter
    ** other than B (SELECT, PRAGMA, …) is not a BEGIN. Anything else (blanks, comments, empty
    ** statements, a byte-order mark) goes to the tokenizer. */
    unsigned char c0 = (unsigned char)sql[0];
    if ((first_letter[c0] & NOT_BEGIN) && !((c0 | 0x20) == 's' && (sql[1] | 0x20) == 'a'))
        return 0;
    enum lf_stmt_kind kind = lf_sql_first_kind(sql);
    return kind == LF_STMT_BEGIN_IMMEDIATE || (kind == LF_STMT_SAVEPOINT && lf_config()->rewrite);
}

/* A step met SQLITE_BUSY: the retry rule, then the turn. Rare, so out of the hot path. */
__attribute__((noinline, cold)) static int step_after_busy(const struct lf_copy *c,
                                                          sqlite3_stmt *stmt, sqlite3 *db,
                                                          int rc, int was_running,
                                                          int was_autocommit, long long deadline)
{
    if (db == NULL)
        db = c->sqlite3_db_handle(stmt);
    rc = step_busy(c, stmt, db, rc, was_running, was_autocommit, deadline);
    if (lf_turns_held())
        lf_turn_end_if_done(c, db, rc == SQLITE_DONE ? NULL : stmt);
    return rc;
}

/*
** The hot path. A step that does not meet SQLITE_BUSY costs a few calls of SQLite's own accessors
** more than without the shim: whether the statement is mid-run (rows already returned) and
** whether the connection is in autocommit mode are only knowable before the step; a statement
** starting in autocommit mode is also asked whether it writes, for the writer queue. After the
** step, only while this process holds a turn: whether the connection is back in autocommit mode.
*/
int lf_impl_sqlite3_step(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    int rc;
    inner_calls++;
    if (c->sqlite3_stmt_busy(stmt)) { /* NULL is not busy: it takes the path below */
        /* A statement continuing: it returned a row since its reset, so the retry rule needs
        ** nothing more, and it is no statement's start, so it takes no turn. */
        LF_SQLITE_CALL(rc, c->sqlite3_step(stmt));
        if (LF_UNLIKELY((rc & 0xff) == SQLITE_BUSY))
            return step_after_busy(c, stmt, NULL, rc, 1, 0, 0);
        /* A row ends no transaction; a statement still running keeps its turn (turn.c). */
        if (LF_UNLIKELY(lf_turns_held()) && rc != SQLITE_ROW)
            lf_turn_end_if_done(c, c->sqlite3_db_handle(stmt), rc == SQLITE_DONE ? NULL : stmt);
        return rc;
    }
    /* A statement starting: facts for the retry rule and the queue first. */
    sqlite3 *db = c->sqlite3_db_handle(stmt);
    if (LF_UNLIKELY(db == NULL))
        return c->sqlite3_step(stmt); /* no statement: SQLite's own answer */
    int was_autocommit = c->sqlite3_get_autocommit(db);
    long long deadline = 0;
    long cut = 0;
    int writer = was_autocommit && !c->sqlite3_stmt_readonly(stmt);
    if (was_autocommit && (lf_queue_enabled | lf_wal_pending_any())) {
        int opens_txn = writer ? opens_write_txn(c, stmt) : begins_write(c, stmt);
        if (writer || opens_txn)
            cut = lf_turn_before_write(c, db, stmt, opens_txn, &deadline);
    }
    if (LF_UNLIKELY(cut != 0))
        rc = step_cut(c, stmt, db, writer, cut);
    else
        rc = step_first(c, stmt, db, writer);
    if (LF_UNLIKELY((rc & 0xff) == SQLITE_BUSY))
        return step_after_busy(c, stmt, db, rc, 0, was_autocommit, deadline);
    /* Back in autocommit mode: the turn goes on. A row inside a transaction ends nothing; one
    ** from a statement that began in autocommit mode goes to lf_turn_end, which keeps the turn
    ** while the statement runs and remembers that a reset may have to end it. */
    if (LF_UNLIKELY(lf_turns_held()) && (rc != SQLITE_ROW || was_autocommit) &&
        c->sqlite3_get_autocommit(db))
        lf_turn_end(c, db, rc == SQLITE_DONE ? NULL : stmt);
    return rc;
}

/* A reset while this process holds a turn (the common case is lf_impl_sqlite3_reset, impl.h):
** it may end an autocommit write that was not stepped to its end. */
int lf_reset_holding(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    int rc;
    LF_SQLITE_CALL(rc, c->sqlite3_reset(stmt));
    if (stmt != NULL)
        lf_turn_end_if_done(c, c->sqlite3_db_handle(stmt), NULL);
    return rc;
}

int lf_impl_sqlite3_finalize(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    if (LF_UNLIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) > 1) && stmt != NULL)
        lf_stmt_owner_del(stmt);
    if (LF_UNLIKELY(stmt != NULL && stmt == lf_busy_reset_stmt)) {
        int saved = busy_reset_rc; /* reset by step_writer: the answer that reset had */
        lf_busy_reset_stmt = NULL;
        int rc = lf_impl_sqlite3_finalize(c, stmt);
        return rc == SQLITE_OK ? saved : rc;
    }
    int rc;
    if (LF_LIKELY(!lf_reset_may_end_turn()) || stmt == NULL) {
        LF_SQLITE_CALL(rc, c->sqlite3_finalize(stmt));
        return rc;
    }
    sqlite3 *db = c->sqlite3_db_handle(stmt);
    LF_SQLITE_CALL(rc, c->sqlite3_finalize(stmt));
    lf_turn_end_if_done(c, db, NULL);
    return rc;
}

/* ---- exec --------------------------------------------------------------------------------- */

struct exec_call {
    const struct lf_copy *c;
    sqlite3 *db;
    const char *sql;
    lf_exec_cb callback;
    void *arg;
    char **errmsg;
    unsigned long rows; /* rows handed to the program's callback */
};

static int count_rows(void *arg, int n, char **values, char **names)
{
    struct exec_call *e = arg;
    e->rows++;
    return e->callback(e->arg, n, values, names);
}

static int exec_real(void *arg)
{
    struct exec_call *e = arg;
    if (e->errmsg && *e->errmsg && e->c->sqlite3_free) {
        e->c->sqlite3_free(*e->errmsg); /* the message of the attempt being retried */
        *e->errmsg = NULL;
    }
    in_exec++;
    int rc = e->c->sqlite3_exec(e->db, e->sql, e->callback ? count_rows : NULL, e, e->errmsg);
    in_exec--;
    return rc;
}

int lf_impl_sqlite3_exec(const struct lf_copy *c, sqlite3 *db, const char *sql,
                         lf_exec_cb callback, void *arg, char **errmsg)
{
    if (db == NULL || sql == NULL)
        return c->sqlite3_exec(db, sql, callback, arg, errmsg);
    struct lf_conn *conn = lf_conn_get(db, c);
    if (!lf_conn_enabled(conn))
        return c->sqlite3_exec(db, sql, callback, arg, errmsg);
    const struct lf_config *cfg = lf_config();

    int nbegin, ntimeout, nstmts, oom;
    enum lf_stmt_kind first;
    char *rewritten = lf_rewrite_all(sql, cfg->timeout_ms, rewrite_begin(conn, cfg), &nbegin,
                                     &ntimeout, &nstmts, &first, &oom);
    if (rewritten != NULL) {
        log_debug_sql(conn, "rewritten", sql);
        struct lf_stmt st = {.kind = LF_STMT_BEGIN_DEFERRED};
        for (int i = 0; i < nbegin; i++) /* logged once, counted for each */
            log_rewrite(conn, &st, "exec", cfg->dry_run);
        if (ntimeout) {
            /* find the value for the log line */
            struct lf_text t = {sql, strlen(sql), 0};
            for (size_t pos = 0; pos < t.n; pos = st.end) {
                lf_sql_classify(&t, pos, cfg->timeout_ms, 1, &st);
                if (st.kind == LF_STMT_PRAGMA_TIMEOUT && st.edit_with[0]) {
                    log_rewrite(conn, &st, "exec", cfg->dry_run);
                    break;
                }
            }
        }
        if (cfg->dry_run) {
            free(rewritten);
            rewritten = NULL;
        }
    }
    struct exec_call e = {c, db, rewritten ? rewritten : sql, callback, arg, errmsg, 0};
    int was_autocommit = c->sqlite3_get_autocommit(db);
    unsigned long seen = inner_calls;
    in_exec++;
    int rc = c->sqlite3_exec(db, e.sql, callback ? count_rows : NULL, &e, errmsg);
    in_exec--;
    /* Retried here only where the hooks could not retry each statement themselves. */
    if ((rc & 0xff) == SQLITE_BUSY && inner_calls == seen && cfg->retry && nstmts == 1 &&
        e.rows == 0 && !lf_conn_own_handler(conn)) {
        struct lf_busy_ctx ctx = {rc, was_autocommit, 0, first, 0};
        int ext = c->sqlite3_extended_errcode ? c->sqlite3_extended_errcode(db) : rc;
        if ((ext & 0xff) == SQLITE_BUSY)
            ctx.rc = ext;
        if (lf_retry_decide(&ctx) == LF_RETRY_YES && !cfg->dry_run)
            rc = retry_loop(conn, c, db, "exec", rc, exec_real, &e, lf_busy_deadline(conn, 0));
    }
    free(rewritten);
    if (atomic_load_explicit(&lf_queue_turns_held, memory_order_relaxed) > 0)
        lf_turn_end_if_done(c, db, NULL);
    return rc;
}

/*
** The writer queue's turn, seen from the statements: when a connection takes it, keeps it and
** hands it on. A turn belongs to the program's transaction: it is taken before a writing
** statement (or BEGIN IMMEDIATE, or a transaction-opening SAVEPOINT) starts in autocommit mode,
** and handed on once the connection is back in autocommit mode. Statements SQLite runs on its own
** inside the program's call never get here (the guard, resolve.h), so nothing SQLite does inside
** a transaction can end its turn or ask for a second one. The queue itself is queue.c.
*/
#include "turn.h"
#include "base.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "deadline.h"
#include "log.h"
#include "open_policy.h"
#include "queue.h"
#include "resolve.h"

/*
** Before a writing statement starts in autocommit mode: the WAL switch a new database was waiting
** for (open_policy.c), then the turn in the queue. When the turn had to be waited for, the
** statement's deadline is fixed in *deadline, and if less is left of it than the connection's busy
** timeout, the return value is what is left: the timeout for this one step, cut by the caller
** under the connection's mutex (deadline.c; 0: no cut).
*/
/* At LOCKFIX_LOG_LEVEL=debug: what began a turn, so that a long one can be named by its SQL when
** it ends. The waiters' long-turn line names the process holding it (long_turn.c); only the holder
** knows the statement. */
_Atomic int lf_turn_kept_running;

static void note_turn_start(const struct lf_copy *c, struct lf_conn *conn, sqlite3_stmt *stmt)
{
    struct lf_turn *tn = lf_conn_turn(conn);
    const char *sql = c->sqlite3_sql(stmt);
    lf_log_sql(tn->debug_sql, sizeof tn->debug_sql, sql ? sql : "");
    tn->debug_began_ms = lf_now_ms();
}

static void report_turn_end(struct lf_conn *conn, struct lf_turn *tn)
{
    long long held = lf_now_ms() - tn->debug_began_ms;
    long limit = lf_config()->long_turn_ms;
    tn->debug_began_ms = 0;
    if (limit > 0 && held >= limit)
        lf_log("debug db=%s event=long-turn held_ms=%lld sql=\"%s\"", lf_conn_path(conn), held,
               tn->debug_sql);
}

/*
** Whether a connection can write no database another connection could write too, now: then its
** transactions and statements take no turn (and a program that only reads never creates the queue
** file). Leaving it out of the queue cannot make a write transaction fail, its own or another's:
** it never writes a shared database, and the turn keeps nobody out but the writers of the same
** queue. Its BEGIN IMMEDIATE (what lockfix made of a BEGIN, unless opened read-only: stmt.c) takes
** no write lock either: SQLite compiles it as a read transaction on each read-only database.
**
** Opened with SQLITE_OPEN_READONLY: true for good, and never asked here (lf_conn_queues answers
** LF_QUEUES_NO; open_policy.c says why). A read-only main database with writable open flags
** (python's "file:...?mode=ro", immutable=1, a file it may not write): asked at each write or
** transaction that starts, true while every database attached to it that has a file, the
** temporary one aside, is read-only, at this statement's start. The temporary and in-memory
** databases belong to this connection alone (shared-cache memory databases meet SQLITE_LOCKED,
** which no turn helps). A BEGIN IMMEDIATE is recompiled by SQLite whenever a database is
** attached or detached, so the answer follows the attached set. One case is not covered: a database attached *inside* such a transaction, then
** read and written in it, against a writer of it that queues on this connection's main database
** (the turn is the main database's queue: writers of the attached database whose main database is
** another were never kept out by it, nor by the BEGIN IMMEDIATE, which locks only the databases
** attached when it runs). Without sqlite3_db_name (SQLite before 3.39) the attached databases
** cannot be listed: such a connection queues as before.
*/
__attribute__((noinline)) static int cannot_write(const struct lf_copy *c, sqlite3 *db)
{
    if (c->sqlite3_db_name == NULL || c->sqlite3_db_filename == NULL ||
        c->sqlite3_db_readonly == NULL)
        return 0;
    int yes = 1;
    lf_guard++;
    for (int i = 0; yes; i++) {
        const char *name = c->sqlite3_db_name(db, i);
        if (name == NULL)
            break;
        if (i == 1)
            continue; /* "temp" */
        const char *file = c->sqlite3_db_filename(db, name);
        if (file != NULL && file[0] != '\0' && c->sqlite3_db_readonly(db, name) != 1)
            yes = 0;
    }
    lf_guard--;
    return yes;
}

long lf_turn_before_write(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt, int opens_txn,
                          long long *deadline)
{
    struct lf_conn *conn = lf_conn_get(db, c);
    if (!lf_conn_enabled(conn))
        return 0;
    if (lf_conn_wal_pending(conn))
        lf_wal_at_first_write(c, db, conn);
    if (!lf_queue_enabled)
        return 0;
    enum lf_conn_queues queues = lf_conn_queues(conn);
    if (queues == LF_QUEUES_NO || (queues == LF_QUEUES_IF_WRITABLE && cannot_write(c, db)))
        return 0;
    struct lf_queue *q = lf_conn_queue(conn);
    if (q == NULL)
        return 0;
    if (lf_conn_has_turn(conn) && lf_queue_resume(q, conn))
        return 0; /* its turn is still held, or kept since its last transaction */
    /* A single writing statement of a process alone on the database takes no turn: it holds
    ** SQLite's write lock from its first instruction, so nobody can commit under it, and the
    ** turn's bookkeeping would be most of what lockfix adds to it. A transaction always takes
    ** the turn: a SAVEPOINT's read-then-write would fail against a process that arrived and
    ** committed meanwhile (tests/integration/test_harm.c, measured), and its turn is what
    ** `lockfix doctor` and the long-turn line report. */
    if (!opens_txn && lf_queue_alone(q))
        return 0;
    const struct lf_config *cfg = lf_config();
    long budget = lf_statement_budget_ms(conn), waited = 0;
    int got = lf_queue_acquire(q, conn, budget, &waited);
    if (got && LF_UNLIKELY(lf_log_debug_enabled()))
        note_turn_start(c, conn, stmt);
    if (waited >= cfg->queue_log_ms)
        lf_log("queue-wait db=%s waited_ms=%ld%s", lf_conn_path(conn), waited,
               got ? "" : " (no turn: falling back to SQLite's locking)");
    if (waited <= 0)
        return 0; /* no wait, no clock read: the deadline is fixed if the step comes back busy */
    *deadline = lf_now_ms() - waited + budget;
    long left = budget - waited, wait_ms = lf_sqlite_wait_ms(conn);
    if (wait_ms == 0 || left >= wait_ms)
        return 0;
    return left > 0 ? left : 1;
}

/* The connection is back in autocommit mode: if it holds the turn, the turn goes on. `stmt` is
** the statement just stepped, if it may still be running (NULL after a reset, a finalize, or a
** step that returned SQLITE_DONE: by sqlite3_stmt_busy()'s definition it is not running then). */
void lf_turn_end(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt)
{
    struct lf_conn *conn = lf_conn_get(db, c);
    if (!lf_conn_has_turn(conn))
        return;
    if (stmt != NULL && c->sqlite3_stmt_busy(stmt)) {
        /* an autocommit write still handing out rows (RETURNING): its reset or finalize, or
        ** its last step, ends the turn */
        if (!atomic_load_explicit(&lf_turn_kept_running, memory_order_relaxed))
            atomic_store(&lf_turn_kept_running, 1);
        return;
    }
    struct lf_turn *tn = lf_conn_turn(conn);
    if (LF_UNLIKELY(tn->debug_began_ms != 0))
        report_turn_end(conn, tn);
    const struct lf_config *cfg = lf_config();
    lf_queue_txn_done(lf_conn_queue(conn), conn, cfg->queue_slice_us, cfg->queue_linger_us);
}

/* Closing ends the transaction (SQLite rolls it back) and the connection with it: nothing of it
** can write again, so keeping the turn for a next write, as lf_turn_end may, would only make the
** others wait. */
void lf_turn_end_at_close(struct lf_conn *conn, struct lf_queue *q)
{
    lf_queue_release(q, conn);
}

/* After a call that may have ended a write: back in autocommit, the turn goes on. */
void lf_turn_end_if_done(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt)
{
    if (db == NULL || !c->sqlite3_get_autocommit(db))
        return; /* inside its transaction: asked first, it is cheaper than the lookup */
    lf_turn_end(c, db, stmt);
}

/*
** One deadline per statement. Everything lockfix adds to a statement's wait — its turn in the
** queue, SQLite's busy handler inside each attempt, the retries — ends by one deadline: the
** statement's budget (LOCKFIX_RETRY_BUDGET_MS, or the connection's own busy timeout if that is
** longer) after the statement began. The clock is read only on the slow paths: when the queue
** made the statement wait, the deadline is known from then on; otherwise it is fixed when a call
** first comes back busy, counting the busy timeout SQLite may already have spent inside it. A
** connection whose program installed its own busy handler is left to that handler: its "give
** up" is final (no retries, no queue).
**
** A statement with less left of its budget than the connection's busy timeout gets the timeout cut
** for its own call, under the connection's mutex (lf_timeout_cut). Without the mutex, a thread
** sharing the connection could step in between and meet the cut: either this statement's short
** timeout, or none at all, because sqlite3_busy_timeout() clears the timeout under the mutex and
** sets the new one after letting it go. Such a step came back busy at once, with what lockfix took
** for a spent timeout, and was given up with no retry (threads sharing one Python connection,
** "database is locked"; tests/integration/test_queue.c, threads_sharing_one_connection).
*/
#include "deadline.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "resolve.h"

/* How long SQLite's busy handler may wait inside one call on this connection: its busy timeout
** as lockfix knows it, or 0 when that is unknown or the program's own handler decides. */
long lf_sqlite_wait_ms(const struct lf_conn *conn)
{
    int t = lf_conn_timeout(conn);
    return t > 0 && !lf_conn_own_handler(conn) ? t : 0;
}

/* The longest one statement may wait, in all. */
long lf_statement_budget_ms(const struct lf_conn *conn)
{
    long budget = lf_config()->retry_budget_ms, t = lf_conn_timeout(conn);
    return t > budget ? t : budget;
}

/* The deadline of a statement whose call just came back busy: the one its queue wait fixed, or
** its budget counted from when the call may have started waiting inside SQLite. */
long long lf_busy_deadline(const struct lf_conn *conn, long long deadline)
{
    if (deadline != 0)
        return deadline;
    return lf_now_ms() + lf_statement_budget_ms(conn) - lf_sqlite_wait_ms(conn);
}

/* Set the connection's busy timeout to `ms` without the hooks seeing it. */
void lf_set_timeout(const struct lf_copy *c, sqlite3 *db, long ms)
{
    int rc;
    LF_SQLITE_CALL(rc, c->sqlite3_busy_timeout(db, (int)(ms > 0 ? ms : 1)));
    (void)rc;
}

sqlite3_mutex *lf_timeout_cut(const struct lf_copy *c, sqlite3 *db, long ms)
{
    sqlite3_mutex *m = NULL;
    /* NULL for a connection without a mutex (SQLITE_OPEN_NOMUTEX, a single-thread build): no
    ** other thread may use it. The mutex is recursive: the call made under it takes it again. */
    if (c->sqlite3_db_mutex && c->sqlite3_mutex_enter && c->sqlite3_mutex_leave)
        m = c->sqlite3_db_mutex(db);
    if (m)
        c->sqlite3_mutex_enter(m);
    lf_set_timeout(c, db, ms);
    return m;
}

void lf_timeout_put_back(const struct lf_copy *c, sqlite3 *db, sqlite3_mutex *held, long ms)
{
    lf_set_timeout(c, db, ms);
    if (held)
        c->sqlite3_mutex_leave(held);
}

/*
** One deadline per statement (deadline.c) for everything lockfix adds to its wait: the queue,
** the retries, SQLite's own busy timeout.
*/
#ifndef LOCKFIX_DEADLINE_H
#define LOCKFIX_DEADLINE_H

#include <sqlite3.h>

#pragma GCC visibility push(hidden)

struct lf_copy;
struct lf_conn;

/* SQLite's busy timeout on this connection as lockfix knows it; 0 if unknown or an own handler. */
long lf_sqlite_wait_ms(const struct lf_conn *conn);
/* The longest one statement may wait in all: the budget, or the connection's timeout if longer. */
long lf_statement_budget_ms(const struct lf_conn *conn);
/* The deadline of a statement whose call just came back busy (`deadline`: one already fixed). */
long long lf_busy_deadline(const struct lf_conn *conn, long long deadline);
/* Set the connection's busy timeout without the hooks seeing it. */
void lf_set_timeout(const struct lf_copy *c, sqlite3 *db, long ms);
/* Cut the connection's busy timeout to `ms` for one call of this thread: the connection's mutex
** is held from here until lf_timeout_put_back, which sets `ms` back and lets it go. */
sqlite3_mutex *lf_timeout_cut(const struct lf_copy *c, sqlite3 *db, long ms);
void lf_timeout_put_back(const struct lf_copy *c, sqlite3 *db, sqlite3_mutex *held, long ms);

#pragma GCC visibility pop

#endif

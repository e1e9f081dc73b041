/*
** When a connection takes the writer queue's turn, keeps it and hands it on (turn.c).
*/
#ifndef LOCKFIX_TURN_H
#define LOCKFIX_TURN_H

#include <sqlite3.h>
#include <stdatomic.h>

#pragma GCC visibility push(hidden)

struct lf_copy;
struct lf_conn;
struct lf_queue;

/* Before a writing statement starts in autocommit mode: the WAL switch a new database waits for,
** then the turn. `opens_txn`: the statement opens a transaction (BEGIN IMMEDIATE, SAVEPOINT),
** not a single writing statement. Fixes *deadline when the turn had to be waited for; returns
** what is left of it when that is less than the connection's busy timeout: the timeout to cut for
** the step (lf_timeout_cut; 0: none). */
long lf_turn_before_write(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt, int opens_txn,
                          long long *deadline);
/* The connection is back in autocommit mode: its turn goes on. `stmt`: the statement just
** stepped if it may still be running (an autocommit RETURNING write keeps the turn), else NULL. */
void lf_turn_end(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt);
/* The same, after asking whether the connection is back in autocommit mode. */
void lf_turn_end_if_done(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt);
/* The connection is closed, or its handle was reused after a close lockfix did not see, maybe
** inside a transaction: a turn it holds goes on at once, with no time slice kept. `q` is the queue
** it took the turn in (conn.c's, passed because asking lf_conn_queue would open one). */
void lf_turn_end_at_close(struct lf_conn *conn, struct lf_queue *q);
/* Set, once and for good, when lf_turn_end kept a turn because its autocommit statement was
** still running (a RETURNING write handing out rows, a busy write left mid-run): only from then
** on can a reset or finalize be what ends a turn, so only then do they ask (impl.h). */
extern _Atomic int lf_turn_kept_running;

#pragma GCC visibility pop

#endif

/*
** The fair cross-process writer queue (queue.c): one per database, in `<db>-lockfix`, and a
** connection's turn in it.
*/
#ifndef LOCKFIX_QUEUE_H
#define LOCKFIX_QUEUE_H

#include <stdatomic.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

struct lf_queue;
struct lf_conn;

/* A connection's turn (kept in its lf_conn). A connection may be used by several threads, and
** the shim's code around SQLite's calls is not under SQLite's mutex: the turn's operations take
** `lock`, so that a turn is taken, kept and handed on exactly once. */
enum lf_turn_state { LF_TURN_NONE, LF_TURN_HOLDING, LF_TURN_LINGERING };
struct lf_turn {
    _Atomic int lock;
    _Atomic int state; /* enum lf_turn_state; read without the lock only as a hint */
    uint32_t ticket;
    int64_t began_ns; /* when a contended turn began; 0 if it was free when asked for */
    /* At LOCKFIX_LOG_LEVEL=debug only (turn.c): when the turn's transaction began, and its SQL. */
    long long debug_began_ms;
    char debug_sql[200];
};
/* The queue of the database at dbpath, mapped once for the process's life (a connection may
** reopen soon); NULL when there can be none. */
struct lf_queue *lf_queue_open(const char *dbpath);
/* Wait for conn's turn; 1 when held, 0 when the queue was bypassed (SQLite's locking decides). */
int lf_queue_acquire(struct lf_queue *q, struct lf_conn *conn, long budget_ms, long *waited_ms);
/* Hand conn's turn on now (a close); does nothing when it holds none. */
void lf_queue_release(struct lf_queue *q, struct lf_conn *conn);
/* A connection that used the queue is gone: when no connection of any process uses the queue any
** more, its file is removed, as SQLite removes a WAL database's -shm at the last close. */
void lf_queue_put(struct lf_queue *q);
/* conn is back in autocommit mode: hand its turn on, or keep it a little (time slices). */
void lf_queue_txn_done(struct lf_queue *q, struct lf_conn *conn, long slice_us, long linger_us);
/* conn starts a write: 1 if it holds a turn (kept since its last transaction), else 0. */
int lf_queue_resume(struct lf_queue *q, struct lf_conn *conn);
/* How many turns this process holds now: while 0, nothing needs releasing (the fast path). */
extern _Atomic int lf_queue_turns_held;

/* Whether this process holds a turn now: while it holds none, no call can have a turn to end. */
static inline int lf_turns_held(void)
{
    return atomic_load_explicit(&lf_queue_turns_held, memory_order_relaxed) > 0;
}

#pragma GCC visibility pop

#endif

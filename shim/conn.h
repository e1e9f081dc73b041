/*
** What lockfix knows about each connection (conn.c): its path and copy, its busy handler and
** timeout, its event counts, its queue and turn, and the WAL switch a new database waits for.
*/
#ifndef LOCKFIX_CONN_H
#define LOCKFIX_CONN_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>

#include "events.def.h"
#include "queue.h"

#pragma GCC visibility push(hidden)

struct lf_copy;

/* The counted events (events.def.h): LF_EV_BEGIN_REWRITTEN, ..., then LF_EV_COUNT. */
#define LF_EV_ENUM(id, name, key) LF_EV_##id,
enum lf_event { LF_COUNTED_EVENTS(LF_EV_ENUM) LF_EV_COUNT };
#undef LF_EV_ENUM
struct lf_conn; /* opaque */
/* Register a connection after a successful open (path may be "" for memory/temp). */
struct lf_conn *lf_conn_add(sqlite3 *db, const struct lf_copy *copy, const char *path);
/* Find a connection; if unknown (opened where the shim could not see), register it. */
struct lf_conn *lf_conn_get(sqlite3 *db, const struct lf_copy *copy);
struct lf_conn *lf_conn_detach(sqlite3 *db);
void lf_conn_reattach(struct lf_conn *c);
void lf_conn_closed(struct lf_conn *c);
/* The copy recorded for a connection, or NULL if it is not known. */
const struct lf_copy *lf_conn_copy_of(sqlite3 *db);
const char *lf_conn_path(const struct lf_conn *c);
/* Whether lockfix acts on the connection: a file database selected by include/exclude. A private
** in-memory or temporary database cannot be contended: it is left exactly as the program made it. */
int lf_conn_enabled(const struct lf_conn *c);
int lf_conn_own_handler(const struct lf_conn *c);
void lf_conn_set_own_handler(struct lf_conn *c, int on);
int lf_conn_timeout(const struct lf_conn *c);
void lf_conn_set_timeout(struct lf_conn *c, int ms);
/* Count an event; returns 1 if it should be logged (the first log_repeat times). */
int lf_conn_event(struct lf_conn *c, enum lf_event ev);
/* What a connection can write, known at open (open_policy.c): LF_RO_OPEN, opened with
** SQLITE_OPEN_READONLY, can never write a database file; LF_RO_MAIN, its main database is
** read-only (URI mode=ro, immutable=1, a file it may not write) but it may attach a writable
** one (turn.c). Fixed for the connection's life: SQLite decides it when it opens the file. */
enum lf_conn_readonly { LF_RO_NO = 0, LF_RO_MAIN, LF_RO_OPEN };
enum lf_conn_readonly lf_conn_readonly(const struct lf_conn *c);
void lf_conn_set_readonly(struct lf_conn *c, enum lf_conn_readonly ro);
/* Whether a write of the connection queues (turn.c), in one call on the write's path: never with
** a busy handler of the program's own (its "give up" is final) nor when opened read-only; with a
** read-only main database, only while some database it has attached can be written. */
enum lf_conn_queues { LF_QUEUES_NO, LF_QUEUES_YES, LF_QUEUES_IF_WRITABLE };
enum lf_conn_queues lf_conn_queues(const struct lf_conn *c);
/* A new, empty database file is switched to WAL at its connection's first write, not at open
** (open_policy.c): until then the program may still choose its page size and auto_vacuum. */
int lf_conn_wal_pending(const struct lf_conn *c);
/* Set or clear it; returns what it was (so that one thread alone does the switch). */
int lf_conn_set_wal_pending(struct lf_conn *c, int on);
/* How many connections wait for that switch (read on the hot path: while 0, nothing to do). */
extern _Atomic int lf_wal_pending_conns;
static inline int lf_wal_pending_any(void)
{
    return atomic_load_explicit(&lf_wal_pending_conns, memory_order_relaxed) != 0;
}
void lf_conn_report_all(void); /* summaries of connections still open, at exit */

/* The connection's queue and turn. */
struct lf_queue *lf_conn_queue(struct lf_conn *c);
struct lf_turn *lf_conn_turn(struct lf_conn *c); /* NULL for NULL */
/* Whether conn holds a turn, kept or not (a hint: read without the turn's lock). */
static inline int lf_conn_has_turn(struct lf_conn *c)
{
    struct lf_turn *t = lf_conn_turn(c);
    return t != NULL && atomic_load_explicit(&t->state, memory_order_relaxed) != LF_TURN_NONE;
}

#pragma GCC visibility pop

#endif

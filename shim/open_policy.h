/*
** At open (open_policy.c): WAL where safe, the busy-timeout floor; and the statements of its own
** lockfix runs on a connection for them.
*/
#ifndef LOCKFIX_OPEN_POLICY_H
#define LOCKFIX_OPEN_POLICY_H

#include <sqlite3.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

struct lf_copy;
struct lf_conn;

/* Run one statement of lockfix's own on db (the caller sets the guard); copies the first column
** of the first row into out. Returns SQLite's code. */
int lf_run_own(const struct lf_copy *c, sqlite3 *db, const char *sql, char *out, size_t cap);
/* The WAL switch deferred at open, done before the connection's first write (in autocommit). */
void lf_wal_at_first_write(const struct lf_copy *c, sqlite3 *db, struct lf_conn *conn);

#pragma GCC visibility pop

#endif

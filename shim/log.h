/*
** One line per event (log.c): formatted whole on the stack, one write(), never stdout.
*/
#ifndef LOCKFIX_LOG_H
#define LOCKFIX_LOG_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Format one line "lockfix[pid]: ..." in a stack buffer and write it with one write().
** Never allocates, never calls SQLite, drops the line if called recursively. */
void lf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug-level lines (may contain SQL text): only with LOCKFIX_LOG_LEVEL=debug. */
int lf_log_debug_enabled(void);
/* Copy `sql` into dst (at most cap-1 bytes) with control characters replaced, for debug logs. */
void lf_log_sql(char *dst, size_t cap, const char *sql);

#pragma GCC visibility pop

#endif

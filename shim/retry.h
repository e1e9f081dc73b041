/*
** When a busy statement may be run again, and how long to wait first (retry.c, pure).
*/
#ifndef LOCKFIX_RETRY_H
#define LOCKFIX_RETRY_H

#include "rewrite.h"

#pragma GCC visibility push(hidden)

struct lf_busy_ctx {
    int rc;             /* what the call returned (extended code when known) */
    int was_autocommit; /* connection in autocommit mode before the call */
    int was_running;    /* statement had returned a row since its last reset */
    enum lf_stmt_kind kind;
    int is_prepare; /* the failed call was a prepare: nothing ran */
};
enum lf_retry_verdict {
    LF_RETRY_YES,
    LF_RETRY_NOT_BUSY,     /* not SQLITE_BUSY */
    LF_RETRY_SNAPSHOT,     /* SQLITE_BUSY_SNAPSHOT: only a rollback helps */
    LF_RETRY_IN_TXN,       /* inside an explicit transaction: program must roll back */
    LF_RETRY_ROWS_RETURNED /* rows already went to the program */
};
enum lf_retry_verdict lf_retry_decide(const struct lf_busy_ctx *ctx);
const char *lf_retry_verdict_name(enum lf_retry_verdict v);
/* Sleep before attempt `attempt` (1-based): exponential from 1 ms to 100 ms, with jitter, never
** past what is left of the budget. `seed` is per-thread state. Returns the chosen ms. Pure. */
long lf_retry_backoff_ms(int attempt, long remaining_ms, unsigned *seed);
/* The name of a result code the retry rule tells apart, for logs ("other" for the rest). */
const char *lf_rc_name(int rc);

#pragma GCC visibility pop

#endif

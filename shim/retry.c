/*
** The retry rule: when a call that met SQLITE_BUSY may be made again, pure.
**
** SQLite's documentation (sqlite3_step) allows retrying a statement that got SQLITE_BUSY when
** it ran outside an explicit transaction, or when it is a COMMIT: in autocommit mode a busy
** statement has been rolled back whole, and a busy COMMIT leaves its transaction intact. Inside
** an explicit transaction the program must roll back instead (the busy handler was not even
** called if waiting could deadlock), and SQLITE_BUSY_SNAPSHOT means the transaction's snapshot
** is stale: only a rollback helps. A statement that already handed rows to the program is never
** re-run, and neither is one that changed data: in autocommit mode a busy write made no change.
*/
#include <sqlite3.h>

#include "retry.h"
#include "rewrite.h"

enum lf_retry_verdict lf_retry_decide(const struct lf_busy_ctx *ctx)
{
    if ((ctx->rc & 0xff) != SQLITE_BUSY)
        return LF_RETRY_NOT_BUSY;
    if (ctx->rc == SQLITE_BUSY_SNAPSHOT)
        return LF_RETRY_SNAPSHOT;
    if (ctx->is_prepare)
        return LF_RETRY_YES; /* compiling needs the schema; nothing has run */
    /* Before the rows check: a busy COMMIT stays mid-run (sqlite3_stmt_busy() is true), so a
    ** COMMIT the program steps again arrives with was_running set, yet it returns no rows and
    ** stepping it again just continues the commit. */
    if (ctx->kind == LF_STMT_COMMIT)
        return LF_RETRY_YES; /* the transaction stays active after a busy COMMIT */
    if (ctx->was_running)
        return LF_RETRY_ROWS_RETURNED;
    /* anything else, BEGIN included, only when the connection was not inside a transaction */
    return ctx->was_autocommit ? LF_RETRY_YES : LF_RETRY_IN_TXN;
}

const char *lf_retry_verdict_name(enum lf_retry_verdict v)
{
    switch (v) {
    case LF_RETRY_YES:
        return "retry";
    case LF_RETRY_NOT_BUSY:
        return "not-busy";
    case LF_RETRY_SNAPSHOT:
        return "busy-snapshot";
    case LF_RETRY_IN_TXN:
        return "inside-transaction";
    case LF_RETRY_ROWS_RETURNED:
        return "rows-returned";
    }
    return "?";
}

/* A small xorshift generator: deterministic in tests, and no libc state shared with the host. */
static unsigned next_random(unsigned *seed)
{
    unsigned x = *seed ? *seed : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *seed = x;
    return x;
}

long lf_retry_backoff_ms(int attempt, long remaining_ms, unsigned *seed)
{
    long cap = 1;
    for (int i = 1; i < attempt && cap < 100; i++)
        cap *= 2;
    if (cap > 100)
        cap = 100;
    /* full jitter between cap/2 and cap: waiters spread out instead of waking together */
    long ms = cap / 2 + (long)(next_random(seed) % (unsigned)(cap / 2 + 1));
    if (ms < 1)
        ms = 1;
    if (ms > remaining_ms)
        ms = remaining_ms > 0 ? remaining_ms : 0;
    return ms;
}

const char *lf_rc_name(int rc)
{
    switch (rc) {
    case SQLITE_BUSY:
        return "SQLITE_BUSY";
    case SQLITE_BUSY_SNAPSHOT:
        return "SQLITE_BUSY_SNAPSHOT";
#ifdef SQLITE_BUSY_RECOVERY
    case SQLITE_BUSY_RECOVERY:
        return "SQLITE_BUSY_RECOVERY";
#endif
#ifdef SQLITE_BUSY_TIMEOUT
    case SQLITE_BUSY_TIMEOUT:
        return "SQLITE_BUSY_TIMEOUT";
#endif
    case SQLITE_LOCKED:
        return "SQLITE_LOCKED";
    case SQLITE_OK:
        return "SQLITE_OK";
    case SQLITE_ERROR:
        return "SQLITE_ERROR";
    default:
        return "other";
    }
}

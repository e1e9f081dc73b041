/*
** retry.c: the retry verdict for every combination of outcome and connection state, and the
** backoff schedule (bounded by the remaining budget, at least 1 ms when the budget allows,
** growing to at most 100 ms).
*/
#include <criterion/criterion.h>
#include <limits.h>
#include <sqlite3.h>
#include <string.h>

#include "retry.h"
#include "rewrite.h"

static const int all_rcs[] = {
    SQLITE_OK,           SQLITE_ERROR,          SQLITE_BUSY,
    SQLITE_BUSY_RECOVERY /* 261 */, SQLITE_BUSY_SNAPSHOT /* 517 */, SQLITE_BUSY_TIMEOUT /* 773 */,
    SQLITE_LOCKED,       SQLITE_LOCKED_SHAREDCACHE, SQLITE_IOERR_BLOCKED, SQLITE_DONE,
    SQLITE_ROW,          SQLITE_CONSTRAINT,     SQLITE_MISUSE,
};
static const enum lf_stmt_kind all_kinds[] = {
    LF_STMT_EMPTY,  LF_STMT_OTHER,    LF_STMT_BEGIN_DEFERRED, LF_STMT_BEGIN_IMMEDIATE,
    LF_STMT_COMMIT, LF_STMT_ROLLBACK, LF_STMT_PRAGMA_TIMEOUT,
};

/* The rule, written out from SQLite's documentation of sqlite3_step and the header comment:
** not busy -> no; BUSY_SNAPSHOT -> only a rollback helps; a failed prepare ran nothing -> yes;
** a COMMIT may always be retried (the transaction stays active, and a COMMIT returns no rows,
** even though a busy COMMIT stays mid-run); rows already delivered -> no; otherwise only in
** autocommit mode. */
static enum lf_retry_verdict oracle(const struct lf_busy_ctx *c)
{
    if ((c->rc & 0xff) != SQLITE_BUSY)
        return LF_RETRY_NOT_BUSY;
    if (c->rc == SQLITE_BUSY_SNAPSHOT)
        return LF_RETRY_SNAPSHOT;
    if (c->is_prepare)
        return LF_RETRY_YES;
    if (c->kind == LF_STMT_COMMIT)
        return LF_RETRY_YES;
    if (c->was_running)
        return LF_RETRY_ROWS_RETURNED;
    return c->was_autocommit ? LF_RETRY_YES : LF_RETRY_IN_TXN;
}

Test(retry_decide, every_combination_matches_the_rule)
{
    int n = 0;
    for (size_t r = 0; r < sizeof all_rcs / sizeof all_rcs[0]; r++)
        for (size_t k = 0; k < sizeof all_kinds / sizeof all_kinds[0]; k++)
            for (int ac = 0; ac <= 1; ac++)
                for (int run = 0; run <= 1; run++)
                    for (int prep = 0; prep <= 1; prep++) {
                        struct lf_busy_ctx c = {all_rcs[r], ac, run, all_kinds[k], prep};
                        enum lf_retry_verdict got = lf_retry_decide(&c), want = oracle(&c);
                        cr_expect_eq(got, want,
                                     "rc=%d kind=%d autocommit=%d running=%d prepare=%d: got %s, "
                                     "want %s",
                                     c.rc, c.kind, ac, run, prep, lf_retry_verdict_name(got),
                                     lf_retry_verdict_name(want));
                        n++;
                    }
    cr_assert_eq(n, 13 * 7 * 8);
}

Test(retry_decide, not_busy_codes_are_never_retried)
{
    int codes[] = {SQLITE_LOCKED, SQLITE_LOCKED_SHAREDCACHE, SQLITE_OK, SQLITE_ERROR,
                   SQLITE_IOERR_BLOCKED, SQLITE_DONE, SQLITE_ROW};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct lf_busy_ctx c = {codes[i], 1, 0, LF_STMT_OTHER, 1};
        cr_expect_eq(lf_retry_decide(&c), LF_RETRY_NOT_BUSY, "rc=%d", codes[i]);
    }
}

Test(retry_decide, busy_snapshot_is_never_retried)
{
    for (int prep = 0; prep <= 1; prep++)
        for (size_t k = 0; k < sizeof all_kinds / sizeof all_kinds[0]; k++) {
            struct lf_busy_ctx c = {SQLITE_BUSY_SNAPSHOT, 1, 0, all_kinds[k], prep};
            cr_expect_eq(lf_retry_decide(&c), LF_RETRY_SNAPSHOT);
        }
}

Test(retry_decide, busy_recovery_and_timeout_count_as_busy)
{
    int codes[] = {SQLITE_BUSY, SQLITE_BUSY_RECOVERY, SQLITE_BUSY_TIMEOUT};
    for (size_t i = 0; i < 3; i++) {
        struct lf_busy_ctx auto_ = {codes[i], 1, 0, LF_STMT_OTHER, 0};
        struct lf_busy_ctx txn = {codes[i], 0, 0, LF_STMT_OTHER, 0};
        cr_expect_eq(lf_retry_decide(&auto_), LF_RETRY_YES, "rc=%d", codes[i]);
        cr_expect_eq(lf_retry_decide(&txn), LF_RETRY_IN_TXN, "rc=%d", codes[i]);
    }
}

Test(retry_decide, named_cases)
{
    /* autocommit write: SQLite rolled it back whole */
    struct lf_busy_ctx c1 = {SQLITE_BUSY, 1, 0, LF_STMT_OTHER, 0};
    cr_expect_eq(lf_retry_decide(&c1), LF_RETRY_YES);
    /* inside BEGIN ... : the program must roll back */
    struct lf_busy_ctx c2 = {SQLITE_BUSY, 0, 0, LF_STMT_OTHER, 0};
    cr_expect_eq(lf_retry_decide(&c2), LF_RETRY_IN_TXN);
    /* a SELECT that already returned rows */
    struct lf_busy_ctx c3 = {SQLITE_BUSY, 1, 1, LF_STMT_OTHER, 0};
    cr_expect_eq(lf_retry_decide(&c3), LF_RETRY_ROWS_RETURNED);
    /* a busy COMMIT (connection not in autocommit) */
    struct lf_busy_ctx c4 = {SQLITE_BUSY, 0, 0, LF_STMT_COMMIT, 0};
    cr_expect_eq(lf_retry_decide(&c4), LF_RETRY_YES);
    /* a busy BEGIN IMMEDIATE in autocommit mode; and a BEGIN inside a transaction */
    struct lf_busy_ctx c5 = {SQLITE_BUSY, 1, 0, LF_STMT_BEGIN_IMMEDIATE, 0};
    cr_expect_eq(lf_retry_decide(&c5), LF_RETRY_YES);
    struct lf_busy_ctx c6 = {SQLITE_BUSY, 0, 0, LF_STMT_BEGIN_DEFERRED, 0};
    cr_expect_eq(lf_retry_decide(&c6), LF_RETRY_IN_TXN);
    /* a busy prepare inside a transaction: nothing ran, compiling may be retried */
    struct lf_busy_ctx c7 = {SQLITE_BUSY, 0, 0, LF_STMT_OTHER, 1};
    cr_expect_eq(lf_retry_decide(&c7), LF_RETRY_YES);
    /* ROLLBACK inside a transaction is not retried */
    struct lf_busy_ctx c8 = {SQLITE_BUSY, 0, 0, LF_STMT_ROLLBACK, 0};
    cr_expect_eq(lf_retry_decide(&c8), LF_RETRY_IN_TXN);
}

/* A COMMIT that met SQLITE_BUSY stays mid-run (sqlite3_stmt_busy() is true: checked against
** SQLite 3.40), so when the program steps it again the step hook sees was_running=1. A COMMIT
** returns no rows and SQLite documents it as retryable: the verdict must not be "rows-returned". */
Test(retry_decide, busy_commit_stepped_again_is_retryable)
{
    struct lf_busy_ctx c = {SQLITE_BUSY, 0, 1, LF_STMT_COMMIT, 0};
    cr_expect_eq(lf_retry_decide(&c), LF_RETRY_YES, "got %s",
                 lf_retry_verdict_name(lf_retry_decide(&c)));
}

Test(retry_names, every_verdict_and_code_has_a_name)
{
    enum lf_retry_verdict v[] = {LF_RETRY_YES, LF_RETRY_NOT_BUSY, LF_RETRY_SNAPSHOT,
                                 LF_RETRY_IN_TXN, LF_RETRY_ROWS_RETURNED};
    const char *want[] = {"retry", "not-busy", "busy-snapshot", "inside-transaction",
                          "rows-returned"};
    for (size_t i = 0; i < 5; i++)
        cr_expect_str_eq(lf_retry_verdict_name(v[i]), want[i]);
    cr_expect_str_eq(lf_retry_verdict_name((enum lf_retry_verdict)99), "?");
    cr_expect_str_eq(lf_rc_name(SQLITE_BUSY), "SQLITE_BUSY");
    cr_expect_str_eq(lf_rc_name(SQLITE_BUSY_SNAPSHOT), "SQLITE_BUSY_SNAPSHOT");
    cr_expect_str_eq(lf_rc_name(SQLITE_BUSY_RECOVERY), "SQLITE_BUSY_RECOVERY");
    cr_expect_str_eq(lf_rc_name(SQLITE_BUSY_TIMEOUT), "SQLITE_BUSY_TIMEOUT");
    cr_expect_str_eq(lf_rc_name(SQLITE_LOCKED), "SQLITE_LOCKED");
    cr_expect_str_eq(lf_rc_name(SQLITE_OK), "SQLITE_OK");
    cr_expect_str_eq(lf_rc_name(SQLITE_ERROR), "SQLITE_ERROR");
    cr_expect_str_eq(lf_rc_name(12345), "other");
}

/* ---- backoff ---------------------------------------------------------------------------- */

static long cap_of(int attempt)
{
    long cap = 1;
    for (int i = 1; i < attempt && cap < 100; i++)
        cap *= 2;
    return cap > 100 ? 100 : cap;
}

Test(retry_backoff, never_exceeds_remaining_budget)
{
    long budgets[] = {LONG_MIN, -100, -1, 0, 1, 2, 3, 7, 50, 99, 100, 101, 1000, LONG_MAX};
    unsigned seed = 12345;
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++)
        for (int attempt = -2; attempt < 40; attempt++)
            for (int rep = 0; rep < 50; rep++) {
                long ms = lf_retry_backoff_ms(attempt, budgets[b], &seed);
                cr_assert(ms >= 0, "attempt %d budget %ld: %ld", attempt, budgets[b], ms);
                if (budgets[b] <= 0)
                    cr_assert_eq(ms, 0, "no budget left: must not sleep (got %ld)", ms);
                else
                    cr_assert(ms >= 1 && ms <= budgets[b],
                              "attempt %d budget %ld: %ld out of [1, budget]", attempt,
                              budgets[b], ms);
                cr_assert(ms <= 100, "attempt %d: %ld above 100 ms", attempt, ms);
            }
}

Test(retry_backoff, grows_exponentially_with_jitter_up_to_100ms)
{
    unsigned seed = 1;
    for (int attempt = 1; attempt <= 64; attempt++) {
        long cap = cap_of(attempt), lo = cap / 2 < 1 ? 1 : cap / 2, min = LONG_MAX, max = 0;
        for (int rep = 0; rep < 2000; rep++) {
            long ms = lf_retry_backoff_ms(attempt, 1000000, &seed);
            cr_assert(ms >= lo && ms <= cap, "attempt %d: %ld outside [%ld, %ld]", attempt, ms,
                      lo, cap);
            min = ms < min ? ms : min;
            max = ms > max ? ms : max;
        }
        /* the jitter really spreads over the range (2000 draws of at most 51 values) */
        cr_expect_eq(min, lo, "attempt %d: lowest %ld never reached", attempt, lo);
        cr_expect_eq(max, cap, "attempt %d: highest %ld never reached", attempt, cap);
    }
    cr_assert_eq(cap_of(1), 1);
    cr_assert_eq(cap_of(2), 2);
    cr_assert_eq(cap_of(7), 64);
    cr_assert_eq(cap_of(8), 100);
}

Test(retry_backoff, first_attempt_is_one_ms)
{
    unsigned seed = 0; /* a zero seed must work too */
    for (int rep = 0; rep < 100; rep++)
        cr_assert_eq(lf_retry_backoff_ms(1, 30000, &seed), 1);
    cr_assert_neq(seed, 0u);
}

Test(retry_backoff, huge_attempt_numbers_stay_capped)
{
    unsigned seed = 7;
    int attempts[] = {100, 1000, INT_MAX - 1, INT_MAX};
    for (size_t i = 0; i < 4; i++) {
        long ms = lf_retry_backoff_ms(attempts[i], 30000, &seed);
        cr_assert(ms >= 50 && ms <= 100, "attempt %d: %ld", attempts[i], ms);
    }
}

Test(retry_backoff, deterministic_for_a_seed_and_advances_it)
{
    unsigned a = 42, b = 42;
    for (int attempt = 1; attempt < 20; attempt++)
        cr_assert_eq(lf_retry_backoff_ms(attempt, 5000, &a), lf_retry_backoff_ms(attempt, 5000, &b));
    cr_assert_eq(a, b);
    unsigned before = a;
    (void)lf_retry_backoff_ms(3, 5000, &a);
    cr_assert_neq(a, before);
}

/* The whole schedule of one retry loop, as stmt.c runs it, never sleeps past the budget. */
Test(retry_backoff, a_loop_never_overruns_its_budget)
{
    long budgets[] = {1, 2, 5, 37, 100, 250, 1000, 30000};
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++)
        for (unsigned s = 1; s < 200; s++) {
            unsigned seed = s;
            long waited = 0;
            int attempt = 0;
            while (waited < budgets[b]) {
                long ms = lf_retry_backoff_ms(++attempt, budgets[b] - waited, &seed);
                cr_assert(ms >= 1, "budget %ld: a zero sleep would spin", budgets[b]);
                waited += ms;
            }
            cr_assert_eq(waited, budgets[b]);
        }
}

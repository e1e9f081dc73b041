/*
** What the exported trampolines (exports.c, generated from hooks.h) call: the internal function
** behind each hook, in the file of its concern; the answer when a caller has no real function;
** and the stand-ins that spare the hot path a NULL check.
*/
#ifndef LOCKFIX_IMPL_H
#define LOCKFIX_IMPL_H

#include <stdatomic.h>
#include <stddef.h>

#include "base.h"
#include "hooks.h"
#include "queue.h"
#include "resolve.h"
#include "turn.h"

#pragma GCC visibility push(hidden)

/* The internal function behind each hook: same parameters, preceded by the caller's copy. */
#define LF_UNPAREN(...) __VA_ARGS__
#define LF_IMPL_DECL(ret, name, params, on_missing, ...)                                           \
    ret lf_impl_##name(const struct lf_copy *c, LF_UNPAREN params);
LF_HOOKS_COLD(LF_IMPL_DECL)
#undef LF_IMPL_DECL
int lf_impl_sqlite3_step(const struct lf_copy *c, sqlite3_stmt *stmt);
/* reset (and finalize) end an autocommit write that was not stepped to its end (a RETURNING
** write reset after its first rows), which only a process holding a turn that a step kept for a
** running statement can need (turn.h): a transaction's turn ends in the step that leaves it (its
** COMMIT, or the error that rolled it back), a lingering one when its time is over (queue.c). Both
** flags are read before the reset, so that the common case is a plain jump to SQLite: a reset
** takes no turn, and a turn its connection holds was taken by an earlier step, which the program
** ordered before this reset. */
static inline int lf_reset_may_end_turn(void)
{
    return LF_UNLIKELY(atomic_load_explicit(&lf_turn_kept_running, memory_order_relaxed)) &&
           lf_turns_held();
}
/* stmt.c. The rare paths of the reset trampoline stay calls (noinline): inlined by the link-time
** optimiser, they cost the common path a saved register (+5 instructions a reset, callgrind). */
__attribute__((noinline, cold)) int lf_reset_holding(const struct lf_copy *c, sqlite3_stmt *stmt);
/* A statement the step hook reset itself after SQLITE_BUSY (stmt.c, step_writer), on this thread:
** the program's own reset of it returns what that reset returned. */
extern LF_TLS sqlite3_stmt *lf_busy_reset_stmt;
__attribute__((noinline, cold)) int lf_reset_after_busy(const struct lf_copy *c,
                                                        sqlite3_stmt *stmt);
static inline int lf_impl_sqlite3_reset(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    if (LF_UNLIKELY(stmt == lf_busy_reset_stmt && stmt != NULL))
        return lf_reset_after_busy(c, stmt);
    if (LF_LIKELY(!lf_reset_may_end_turn())) {
        int rc; /* a reset may end an autocommit write, whose commit runs SQLite's own statements */
        LF_SQLITE_CALL(rc, c->sqlite3_reset(stmt));
        return rc;
    }
    return lf_reset_holding(c, stmt);
}

/* lf_missing* (exports.c): no real function for this caller: log once, fail with an SQLite
** error. */
int lf_missing(const char *name);
int lf_missing_open(const char *name, sqlite3 **ppDb);
int lf_missing_stmt(const char *name, sqlite3_stmt **ppStmt);
sqlite3_backup *lf_missing_backup(const char *name);

/* stmt.c: stand-ins for accessors a copy lacks, with the answer the writer queue assumes
** without them (every statement may write; no text): then the hot path needs no NULL check. */
void lf_copy_stand_ins(struct lf_copy *c);

#pragma GCC visibility pop

#endif

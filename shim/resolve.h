/*
** One SQLite copy, and how a caller finds its own (resolve.c; darwin.c on macOS): the hot path's
** one compare against the range this thread hit last, and the guard around the shim's calls into
** SQLite.
*/
#ifndef LOCKFIX_RESOLVE_H
#define LOCKFIX_RESOLVE_H

#include <stdatomic.h>
#include <stdint.h>

#include "base.h"
#include "hooks.h"

#pragma GCC visibility push(hidden)

/* The real functions of one SQLite copy (one loaded object that defines sqlite3_*). */
struct lf_copy {
#define LF_SLOT_X(ret, name, params, on_missing, ...) ret(*name) params;
#define LF_SLOT_H(ret, name, params) ret(*name) params;
    LF_HOOKS(LF_SLOT_X)
    LF_HELPERS(LF_SLOT_H)
#undef LF_SLOT_X
#undef LF_SLOT_H
    /* sqlite3_stmt_readonly, sqlite3_sql and sqlite3_column_count are never NULL:
    ** lf_copy_stand_ins() (stmt.c) fills in what a copy lacks. */
    const char *path; /* file the copy was loaded from, for logs */
    int passthrough;  /* forward only: too old for the accessors the retry rule needs, or
                      ** LOCKFIX_DISABLE=1 */
    uintptr_t base;   /* load address of that object: identifies the copy */
    int pending;      /* a compiled-in copy whose functions other than the opens are not patched
                      ** yet: the first open through it patches them (static.c). Read atomically */
};

/* The copy the code at return address `ra` would have called without the shim, or NULL. */
const struct lf_copy *lf_copy_for(const void *ra);

/* A calling object's code range, [lo, lo + len), and the copy it reaches (never NULL: a range is
** cached only once a copy is found). */
struct lf_range {
    uintptr_t lo, len;
    const struct lf_copy *copy;
};
/* A copy of the range this thread hit last (all zeros, matching nothing, until the first hit):
** the hot path is one compare against it, inlined into every trampoline, then one against the
** range before it; lf_copy_for() does the rest. Cached ranges never change, so a copy of one
** stays true. */
extern LF_TLS struct lf_range lf_last_range;
/* The range it hit before that one: calls often alternate between two callers (a python
** program's steps come from its _sqlite3 module, FTS5's statements inside them from libsqlite3,
** which calls its own exported functions, several times a statement). */
extern LF_TLS struct lf_range lf_prev_range;
static inline int lf_in_last_range(const void *ra)
{
    return (uintptr_t)ra - lf_last_range.lo < lf_last_range.len;
}
static inline int lf_in_prev_range(const void *ra)
{
    return (uintptr_t)ra - lf_prev_range.lo < lf_prev_range.len;
}
static inline const struct lf_copy *lf_copy_fast(const void *ra)
{
    if (LF_LIKELY(lf_in_last_range(ra)))
        return lf_last_range.copy;
    if (lf_in_prev_range(ra))
        return lf_prev_range.copy;
    return lf_copy_for(ra);
}
/* The copy a handle belongs to. A call's return address can mislead: a wrapper that tail-calls
** sqlite3_close returns straight to its own caller, whose scope may hold no SQLite or another
** copy. A connection's copy is recorded at open, and, once a process holds more than one copy, a
** statement's at prepare; with a single copy the return address is all it takes. */
/* How many copies have been resolved. */
extern _Atomic int lf_ncopies;
const struct lf_copy *lf_copy_by_db_slow(const void *ra, sqlite3 *db);
const struct lf_copy *lf_copy_by_stmt_slow(const void *ra, sqlite3_stmt *stmt);
static inline const struct lf_copy *lf_copy_by_db(const void *ra, sqlite3 *db)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1))
        return lf_copy_fast(ra);
    return lf_copy_by_db_slow(ra, db);
}
static inline const struct lf_copy *lf_copy_by_stmt(const void *ra, sqlite3_stmt *stmt)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1))
        return lf_copy_fast(ra);
    return lf_copy_by_stmt_slow(ra, stmt);
}
/* backup.c: the copy a backup belongs to (recorded at sqlite3_backup_init) */
const struct lf_copy *lf_copy_by_backup_slow(const void *ra, sqlite3_backup *p);
static inline const struct lf_copy *lf_copy_by_backup(const void *ra, sqlite3_backup *p)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1))
        return lf_copy_fast(ra);
    return lf_copy_by_backup_slow(ra, p);
}

/* Whether any hooked call has been seen (for the exit-time "unreachable" check). */
int lf_any_call_seen(void);

/* "Inside SQLite or the shim" on this thread. While set, re-entered hooks pass straight through to
** the real function. It is set while the shim runs statements of its own (PRAGMA journal_mode),
** and around every real call the shim makes for the program except sqlite3_exec: whatever reaches
** a hook during a program's sqlite3_step, prepare, reset or finalize is SQLite running statements
** of its own on the program's connection (VACUUM's BEGIN and ATTACH, FTS3/4/5 and R-tree
** shadow-table statements, schema loading, ALTER TABLE's re-parse), or a callback of the
** program's (a user function, a busy handler) running inside SQLite: neither is a statement that
** starts or ends the program's transaction, so nothing may be rewritten, retried, queued or
** logged for it. sqlite3_exec is the exception: the statements it prepares and steps are the
** program's own. */
extern LF_TLS int lf_guard;
/* Call into SQLite for the program, with the guard set (see above). */
#define LF_SQLITE_CALL(rc, call)                                                                   \
    do {                                                                                           \
        lf_guard++;                                                                                \
        rc = (call);                                                                               \
        lf_guard--;                                                                                \
    } while (0)

#pragma GCC visibility pop

#endif

/*
** The exported sqlite3_* functions: thin trampolines, generated from the hook table.
**
** Each finds the SQLite copy its caller would have reached, then either forwards the call
** unchanged (while the shim is running its own statements, when lockfix is disabled, or for a
** copy too old to work with) or hands it to the internal function that applies the policy.
** If no copy can be found the call fails with an SQLite error code and a log line; it never
** jumps to NULL.
*/
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "impl.h"
#include "base.h"
#include "config.h"
#include "conn.h"
#include "hooks.h"
#include "log.h"
#include "resolve.h"
#include "static.h"
#include "unreachable.h"

#ifdef __APPLE__
/* On macOS the hooks carry other names; darwin.c maps SQLite's names to them. */
#define LF_EXPORT_NAME(name) lf_dy_##name
#else
#define LF_EXPORT_NAME(name) name
#endif
#define LF_EXPORT __attribute__((visibility("default")))

/* A compiled-in copy whose first open this is has the rest of its functions patched first
** (static.c): only an open can reach a pending copy, every other hook needs a handle it made. */
#ifdef __APPLE__
#define LF_COMPLETE(c) ((void)0)
#else
#define LF_COMPLETE(c)                                                                             \
    do {                                                                                           \
        if (LF_UNLIKELY(__atomic_load_n(&(c)->pending, __ATOMIC_ACQUIRE)))                         \
            lf_static_complete(c);                                                                 \
    } while (0)
#endif

#define LF_TRAMPOLINE(ret, name, params, on_missing, owner, ...)                                   \
    LF_EXPORT ret LF_EXPORT_NAME(name) params                                                      \
    {                                                                                              \
        const void *ra = __builtin_return_address(0);                                              \
        const struct lf_copy *c = owner;                                                           \
        if (LF_UNLIKELY(c == NULL || c->name == NULL))                                             \
            return on_missing;                                                                     \
        LF_COMPLETE(c);                                                                            \
        if (LF_UNLIKELY(lf_guard | c->passthrough))                                                \
            return c->name(__VA_ARGS__);                                                           \
        return lf_impl_##name(c, __VA_ARGS__);                                                     \
    }
LF_HOOKS_COLD(LF_TRAMPOLINE)
#undef LF_TRAMPOLINE

/* The per-statement calls (step, reset) take the common case first: one SQLite copy, a caller in
** the range this thread hit last or the one before (lf_copy_fast's two compares, written out so
** that a miss goes to the general path, not to lf_copy_for), no guard, a copy not passed through
** (LOCKFIX_DISABLE=1 is part of passthrough: resolve.c). That copy has the real function (hooks.h)
** and a cached range always has a copy, so nothing else needs checking. Under the guard, or passed
** through, the call goes straight to that copy, as the general path would send it: SQLite's own
** statements (FTS5 steps and resets its own about 27 times per row written) pay one more test.
** Anything else takes the general path. */
#define LF_TRAMPOLINE_HOT(ret, name, params, on_missing, owner, ...)                               \
    __attribute__((noinline)) static ret lf_general_##name(const void *ra, LF_UNPAREN params)     \
    {                                                                                              \
        const struct lf_copy *c = owner;                                                           \
        if (LF_UNLIKELY(c == NULL))                                                                \
            return on_missing;                                                                     \
        if (LF_UNLIKELY(lf_guard | c->passthrough))                                                \
            return c->name ? c->name(__VA_ARGS__) : on_missing;                                    \
        return lf_impl_##name(c, __VA_ARGS__);                                                     \
    }                                                                                              \
    LF_EXPORT ret LF_EXPORT_NAME(name) params                                                      \
    {                                                                                              \
        const void *ra = __builtin_return_address(0);                                              \
        if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1)) {             \
            const struct lf_copy *c;                                                               \
            if (LF_LIKELY(lf_in_last_range(ra)))                                                   \
                c = lf_last_range.copy;                                                            \
            else if (lf_in_prev_range(ra))                                                         \
                c = lf_prev_range.copy;                                                            \
            else                                                                                   \
                return lf_general_##name(ra, __VA_ARGS__);                                         \
            if (LF_LIKELY(!(lf_guard | c->passthrough)))                                           \
                return lf_impl_##name(c, __VA_ARGS__);                                             \
            return c->name(__VA_ARGS__);                                                           \
        }                                                                                          \
        return lf_general_##name(ra, __VA_ARGS__);                                                 \
    }
LF_HOOKS_HOT(LF_TRAMPOLINE_HOT)
#undef LF_TRAMPOLINE_HOT

/* The same hooks under hidden names, for the entries static.c patches to jump to: a reference
** to an exported name is a symbol the dynamic linker looks up at every load (20 lookups, in every
** process), and would bind to another object's sqlite3_* where one comes first in the search
** order; a hidden alias is this library's own function, relocated by its load address alone. */
#ifndef __APPLE__
#define LF_HOOK_ALIAS(ret, name, ...)                                                              \
    extern __typeof(name) lf_hook_##name __attribute__((alias(#name), visibility("hidden")));
LF_HOOKS(LF_HOOK_ALIAS)
#undef LF_HOOK_ALIAS
#endif

/* Logged once per function: a call that found no SQLite to go to. */
static void log_missing_once(const char *name)
{
    static unsigned char said[64];
    unsigned h = 0;
    for (const char *p = name; *p; p++)
        h = h * 31 + (unsigned char)*p;
    if (__atomic_exchange_n(&said[h % sizeof said], 1, __ATOMIC_RELAXED) == 0)
        lf_log("no-sqlite fn=%s: no SQLite copy is reachable from the calling code; the call "
               "fails with an error",
               name);
}

int lf_missing(const char *name)
{
    log_missing_once(name);
    return SQLITE_ERROR;
}

int lf_missing_open(const char *name, sqlite3 **ppDb)
{
    log_missing_once(name);
    if (ppDb)
        *ppDb = NULL;
    return SQLITE_CANTOPEN;
}

sqlite3_backup *lf_missing_backup(const char *name)
{
    log_missing_once(name);
    return NULL;
}

int lf_missing_stmt(const char *name, sqlite3_stmt **ppStmt)
{
    log_missing_once(name);
    if (ppStmt)
        *ppStmt = NULL;
    return SQLITE_ERROR;
}

/* At exit: the counts of events that were not all logged, for connections still open. */
/* At exit: the counts of events that were not all logged, for connections still open; or, if
** no SQLite call ever came through the shim, whether a copy it could not reach is loaded. */
LF_ONCE __attribute__((destructor)) static void lf_at_exit(void)
{
    lf_guard++;
    if (lf_any_call_seen()) {
        if (!lf_disabled)
            lf_conn_report_all();
    } else {
        lf_report_unreachable(); /* logs (and so reads the configuration) only if it finds one */
    }
    lf_guard--;
}

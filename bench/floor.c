/*
 * The floor cost of interposing sqlite3_step and sqlite3_reset: what any LD_PRELOAD shim pays
 * per statement before it does anything useful. bench/floor.py runs bench/overhead.c under
 * callgrind with this library preloaded, to tell whether a target such as "uncontended overhead
 * <= 1% instructions per statement" is reachable at all for cheap statements.
 *
 * One source, two variants:
 *   (default)        FORWARD: sqlite3_step and sqlite3_reset only call the real functions, found
 *                    once with dlsym(RTLD_NEXT) in a constructor. The cost of interposition.
 *   -DFLOOR_FACTS    FACTS: as FORWARD, but before each step asks SQLite (through the real
 *                    functions) what a "retry only where provably safe" + "queue writers" rule
 *                    needs: is the statement already running, its connection, is that connection
 *                    in autocommit mode, and for a statement starting in autocommit mode whether
 *                    it writes. Nothing after the step. The least such a shim must ask.
 *
 * Compiled against sqlite3.h for types and constants only: never linked to libsqlite3.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sqlite3.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

static int (*real_step)(sqlite3_stmt *);
static int (*real_reset)(sqlite3_stmt *);

#ifdef FLOOR_FACTS
static int (*real_stmt_busy)(sqlite3_stmt *);
static sqlite3 *(*real_db_handle)(sqlite3_stmt *);
static int (*real_get_autocommit)(sqlite3 *);
static int (*real_stmt_readonly)(sqlite3_stmt *);
/* Written on every step so the compiler cannot drop the calls. */
static volatile int fact_busy, fact_autocommit, fact_readonly;
static sqlite3 *volatile fact_db;
#endif

/* POSIX guarantees dlsym's void * converts to a function pointer; __typeof__ names the type. */
#define RESOLVE(var, name) ((var) = (__typeof__(var))dlsym(RTLD_NEXT, name))

__attribute__((constructor)) static void resolve(void)
{
    RESOLVE(real_step, "sqlite3_step");
    RESOLVE(real_reset, "sqlite3_reset");
#ifdef FLOOR_FACTS
    RESOLVE(real_stmt_busy, "sqlite3_stmt_busy");
    RESOLVE(real_db_handle, "sqlite3_db_handle");
    RESOLVE(real_get_autocommit, "sqlite3_get_autocommit");
    RESOLVE(real_stmt_readonly, "sqlite3_stmt_readonly");
    if (!real_stmt_busy || !real_db_handle || !real_get_autocommit || !real_stmt_readonly)
        real_step = NULL; /* cannot ask: report misuse rather than step blind */
#endif
}

EXPORT int sqlite3_step(sqlite3_stmt *st)
{
    if (!real_step)
        return SQLITE_MISUSE;
#ifdef FLOOR_FACTS
    int busy = real_stmt_busy(st);
    sqlite3 *db = real_db_handle(st);
    int autocommit = real_get_autocommit(db);
    fact_busy = busy;
    fact_db = db;
    fact_autocommit = autocommit;
    if (!busy && autocommit)
        fact_readonly = real_stmt_readonly(st);
#endif
    return real_step(st);
}

EXPORT int sqlite3_reset(sqlite3_stmt *st)
{
    return real_reset ? real_reset(st) : SQLITE_MISUSE;
}

/*
** macOS: what the Linux build gets from resolve.c, queue.c, unreachable.c and platform.c.
**
** NOT TESTED IN CI: the project's machines are Linux. This file is compiled only on Darwin (see
** the Makefile) and was written from Apple's documented interfaces.
**
** How it differs: DYLD_INSERT_LIBRARIES loads the library, and dyld's __DATA,__interpose records
** (one per hook, generated from the same table as everything else) redirect every image's calls
** to sqlite3_* — but never the interposing library's own calls, so inside this file
** `&sqlite3_step` is the real function. With two-level namespaces each image is bound to the
** library it was linked against, and interposing applies to all of them: a process with several
** SQLite copies is served by the copy that the interposed name resolves to, the first loaded.
** That is why the per-caller resolution of the Linux build is not repeated here; a process with
** two SQLite copies is outside what the macOS build promises. Flat-namespace tricks are not used
** (they stopped working in macOS 12). The fair writer queue needs Linux futexes: on macOS
** LOCKFIX_QUEUE has no effect and writers contend through SQLite's locks.
*/
#ifdef __APPLE__
#include <dlfcn.h>
#include <errno.h>
#include <mach-o/dyld.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <time.h>
#include <unistd.h>

#include "fs_list.h"
#include "lockfix.h"

/* ---- interpose records --------------------------------------------------------------------- */
struct lf_interpose {
    const void *replacement;
    const void *original;
};
#define LF_DECLARE_HOOK(ret, name, params, on_missing, ...) ret lf_dy_##name params;
LF_HOOKS(LF_DECLARE_HOOK)
#undef LF_DECLARE_HOOK
#define LF_INTERPOSE(ret, name, params, on_missing, ...)                                           \
    __attribute__((used, section("__DATA,__interpose"))) static const struct lf_interpose         \
        lf_interpose_##name = {(const void *)&lf_dy_##name, (const void *)&name};
LF_HOOKS(LF_INTERPOSE)
#undef LF_INTERPOSE

/* ---- the one copy -------------------------------------------------------------------------- */
static struct lf_copy the_copy;
static int copy_state; /* 0 unresolved, 1 resolved, -1 none */
LF_TLS int lf_guard;
LF_TLS struct lf_range lf_last_range;
static struct lf_range everything = {0, UINTPTR_MAX, NULL};

const struct lf_copy *lf_copy_for(const void *ra)
{
    (void)ra;
    if (__atomic_load_n(&copy_state, __ATOMIC_ACQUIRE) == 0) {
        (void)lf_config();
        struct lf_copy c;
        memset(&c, 0, sizeof c);
        /* our own references are not interposed: they name the real functions, weakly linked */
#define LF_TAKE_X(ret, name, params, on_missing, ...) c.name = &name;
#define LF_TAKE_H(ret, name, params) c.name = &name;
        LF_HOOKS(LF_TAKE_X)
        LF_HELPERS(LF_TAKE_H)
#undef LF_TAKE_X
#undef LF_TAKE_H
        Dl_info info;
        c.path = dladdr((const void *)c.sqlite3_step, &info) ? info.dli_fname : "libsqlite3";
        c.base = (uintptr_t)info.dli_fbase;
        /* as in resolve.c: the hot trampolines rely on sqlite3_reset in a copy not passed
        ** through, and LOCKFIX_DISABLE=1 is part of passthrough */
        c.passthrough = c.sqlite3_stmt_busy == NULL || c.sqlite3_db_handle == NULL ||
                        c.sqlite3_get_autocommit == NULL || c.sqlite3_reset == NULL ||
                        lf_disabled;
        lf_copy_stand_ins(&c);
        the_copy = c;
        everything.copy = c.sqlite3_step ? &the_copy : NULL;
        __atomic_store_n(&copy_state, c.sqlite3_step ? 1 : -1, __ATOMIC_RELEASE);
    }
    if (everything.copy != NULL) /* a cached range always has a copy (lockfix.h) */
        lf_last_range = everything;
    return everything.copy;
}

/* One copy: a handle can only belong to it. */
_Atomic int lf_ncopies;
const struct lf_copy *lf_copy_by_db_slow(const void *ra, sqlite3 *db)
{
    (void)db;
    return lf_copy_for(ra);
}
const struct lf_copy *lf_copy_by_stmt_slow(const void *ra, sqlite3_stmt *stmt)
{
    (void)stmt;
    return lf_copy_for(ra);
}

int lf_any_call_seen(void)
{
    return __atomic_load_n(&copy_state, __ATOMIC_ACQUIRE) != 0;
}

/* ---- no queue, no exit scan ----------------------------------------------------------------- */
_Atomic int lf_queue_turns_held;
struct lf_queue *lf_queue_open(const char *dbpath)
{
    (void)dbpath;
    return NULL;
}
int lf_queue_acquire(struct lf_queue *q, struct lf_conn *conn, long budget_ms, long *waited_ms)
{
    (void)q, (void)conn, (void)budget_ms;
    *waited_ms = 0;
    return 0;
}
void lf_queue_release(struct lf_queue *q, struct lf_conn *conn)
{
    (void)q, (void)conn;
}
void lf_queue_txn_done(struct lf_queue *q, struct lf_conn *conn, long slice_us, long linger_us)
{
    (void)q, (void)conn, (void)slice_us, (void)linger_us;
}
int lf_queue_resume(struct lf_queue *q, struct lf_conn *conn)
{
    (void)q, (void)conn;
    return 0;
}
void lf_report_unreachable(void)
{
}

/* ---- platform ------------------------------------------------------------------------------- */
int lf_secure_exec(void)
{
    return issetugid();
}

const char *lf_fs_wal_unsafe(const char *path, char *fsname, size_t cap)
{
    if (cap > 0)
        fsname[0] = '\0';
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return NULL;
    strncpy(fsname, sf.f_fstypename, cap - 1);
    fsname[cap - 1] = '\0';
    static const struct {
        const char *name, *reason;
    } unsafe[] = {
#define LF_FS_ROW(name, reason) {name, reason},
        LF_WAL_UNSAFE_FS_DARWIN(LF_FS_ROW)
#undef LF_FS_ROW
    };
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
        if (strncmp(sf.f_fstypename, unsafe[i].name, strlen(unsafe[i].name)) == 0)
            return unsafe[i].reason;
    return NULL;
}
#endif /* __APPLE__ */

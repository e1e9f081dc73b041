/*
** Finding the real SQLite function for each caller.
**
** A process may hold several SQLite copies (a system libsqlite3, a bundled copy inside a node
** module, libsqlcipher), some loaded in a local dlopen scope where dlsym(RTLD_NEXT) cannot see
** them. A handle made by one copy must only ever reach that copy's code. So the shim does what
** the dynamic linker did for the caller: it takes the return address of the hooked call, finds
** the loaded object that contains it, and looks the symbol up in that object's scope — first the
** global scope (skipping this library), then the object's own local scope, which holds the
** libsqlite3 it was linked with. All functions of one copy come from the one object that defines
** them, never mixed.
**
** Results are cached by the address range of the calling object's code, so the hot path is a
** compare against the last range this thread hit. The calling object and the copy are kept
** loaded (a dlopen reference) so a cached range can never come to mean another object.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "resolve.h"
#include "base.h"
#include "config.h"
#include "conn.h"
#include "handles.h"
#include "hooks.h"
#include "impl.h"
#include "static.h"

#define LF_MAX_RANGES 256
#define LF_MAX_COPIES 64
#define LF_ANCHOR "sqlite3_libversion_number" /* not hooked, so a lookup never finds us */

static struct lf_range ranges[LF_MAX_RANGES];
LF_START_DATA static atomic_uint nranges; /* read at every exit (lf_any_call_seen): on the start page */
static struct lf_copy copies[LF_MAX_COPIES];
static _Atomic int ndynamic;  /* copies[] filled, under resolve_lock */
_Atomic int lf_ncopies;       /* all copies: dynamic and compiled in */
static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;
static struct link_map *self_map;
/* Copies compiled into objects (static.c): see lf_copy_register_static. */
#define LF_MAX_STATIC 16
#define LF_MAX_STATIC_RANGES 64
static struct lf_copy static_copies[LF_MAX_STATIC];
static struct lf_range static_ranges[LF_MAX_STATIC_RANGES];
static _Atomic int nstatic;
static atomic_uint nstatic_ranges;

LF_TLS int lf_guard;
LF_TLS struct lf_range lf_last_range;
LF_TLS struct lf_range lf_prev_range;

/* `r` becomes this thread's last range, the last one the one before (resolve.h). */
static void remember_range(const struct lf_range *r)
{
    lf_prev_range = lf_last_range;
    lf_last_range = *r;
}

/* The compiled-in copy whose object holds `ra`, or NULL. The range is remembered as this
** thread's last, so the hot path finds it with one compare. */
static const struct lf_copy *static_copy_for(uintptr_t ra)
{
    unsigned n = atomic_load_explicit(&nstatic_ranges, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        if (ra - static_ranges[i].lo < static_ranges[i].len) {
            remember_range(&static_ranges[i]);
            return static_ranges[i].copy;
        }
    }
    return NULL;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define LF_HAVE_FIND_OBJECT 1
typedef int (*lf_find_object_fn)(void *, struct dl_find_object *);
static const void *find_object_looked_up; /* under resolve_lock: NULL, or the answer below */
static lf_find_object_fn find_object;
#endif

/*
** The loaded object holding `addr` (its link_map identifies it while it stays loaded).
** glibc 2.35's _dl_find_object answers from the loader's sorted table of objects; dladdr1 also
** searches the object's symbols for the nearest one, which nobody here needs: 1.8 million
** instructions for python3's first connection, measured (docs/benchmarks.md). It is looked up
** at run time, so a build still loads where the C library is older; there dladdr1 answers.
*/
static struct link_map *object_of(const void *addr)
{
    if (addr == NULL)
        return NULL;
#ifdef LF_HAVE_FIND_OBJECT
    if (find_object_looked_up == NULL) {
        void *f = dlsym(RTLD_DEFAULT, "_dl_find_object");
        memcpy(&find_object, &f, sizeof f);
        find_object_looked_up = &find_object_looked_up;
    }
    struct dl_find_object fo;
    if (find_object != NULL && find_object((void *)(uintptr_t)addr, &fo) == 0)
        return fo.dlfo_link_map;
#endif /* no answer: dladdr1 has the last word */
    Dl_info info;
    struct link_map *lm = NULL;
    if (dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) == 0)
        return NULL;
    return lm;
}

static int is_self(const void *addr)
{
    if (self_map == NULL)
        self_map = object_of((const void *)&lf_copy_for);
    return object_of(addr) == self_map;
}

struct find_ctx {
    uintptr_t ra;
    uintptr_t lo, hi;
    char name[LF_PATH_MAX];
    int found, is_main;
};

/* dl_iterate_phdr callback: the executable segment that contains ctx->ra. */
static int find_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_ctx *ctx = arg;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ctx->ra >= lo && ctx->ra < hi) {
            ctx->lo = lo;
            ctx->hi = hi;
            ctx->is_main = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
            if (!ctx->is_main) {
                strncpy(ctx->name, info->dlpi_name, sizeof ctx->name - 1);
                ctx->name[sizeof ctx->name - 1] = '\0';
            }
            ctx->found = 1;
            return 1;
        }
    }
    return 0;
}

/* The last touches of a copy whose functions are found. Accessors the step hook reads before
** every step (SQLite 3.7.10 and later have them). With LOCKFIX_DISABLE=1 (read before any copy is
** resolved: lf_copy_for) every copy passes through, so the trampolines test one flag for both. */
static void copy_finish(struct lf_copy *c)
{
    c->passthrough = c->sqlite3_stmt_busy == NULL || c->sqlite3_db_handle == NULL ||
                     c->sqlite3_get_autocommit == NULL || c->sqlite3_reset == NULL ||
                     c->sqlite3_finalize == NULL || c->sqlite3_busy_timeout == NULL ||
                     lf_disabled;
    lf_copy_stand_ins(c);
}

/* The copy defined by the object `lm`, resolving it the first time. */
static const struct lf_copy *copy_for_object(struct link_map *lm)
{
    int n = atomic_load_explicit(&ndynamic, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (copies[i].base == (uintptr_t)lm)
            return &copies[i];
    if (n >= LF_MAX_COPIES)
        return NULL;

    /* The main program's own symbols are searched through the global handle; any other
    ** object through its own handle, whose scope starts with the object itself. The handle is
    ** kept: the copy stays loaded as long as the shim may call into it. */
    int is_main = lm->l_name == NULL || lm->l_name[0] == '\0';
    void *h = dlopen(is_main ? NULL : lm->l_name, RTLD_NOLOAD | RTLD_LAZY);
    if (h == NULL)
        return NULL;
    struct lf_copy *c = &copies[n];
    memset(c, 0, sizeof *c);
#define LF_LOOKUP(field, symname)                                                                  \
    do {                                                                                           \
        void *p = dlsym(h, symname);                                                               \
        if (p != NULL && object_of(p) == lm)                                                       \
            memcpy(&c->field, &p, sizeof p);                                                       \
    } while (0)
#define LF_LOOKUP_X(ret, fname, params, on_missing, ...) LF_LOOKUP(fname, #fname);
#define LF_LOOKUP_H(ret, fname, params) LF_LOOKUP(fname, #fname);
    LF_HOOKS(LF_LOOKUP_X)
    LF_HELPERS(LF_LOOKUP_H)
#undef LF_LOOKUP_X
#undef LF_LOOKUP_H
#undef LF_LOOKUP
    if (c->sqlite3_step == NULL || c->sqlite3_prepare_v2 == NULL) {
        dlclose(h);
        return NULL;
    }
    copy_finish(c);
    c->base = (uintptr_t)lm;
    c->path = is_main ? "(main program)" : lm->l_name;
    atomic_store_explicit(&ndynamic, n + 1, memory_order_release);
    atomic_fetch_add_explicit(&lf_ncopies, 1, memory_order_release);
    return c;
}

/* The copy that defines the anchor symbol as seen from handle `h`, if any. */
static const struct lf_copy *copy_via(void *h)
{
    void *p = dlsym(h, LF_ANCHOR);
    if (p == NULL || is_self(p))
        return NULL;
    struct link_map *lm = object_of(p);
    return lm ? copy_for_object(lm) : NULL;
}

#define LF_MAX_OBJECTS 1024
struct objects_ctx {
    const char *name[LF_MAX_OBJECTS];
    int n;
};

/* dl_iterate_phdr callback: the names of the loaded libraries (the loader is not re-entered
** from inside the iteration; they are opened afterwards). */
static int list_objects(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct objects_ctx *ctx = arg;
    (void)size;
    if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0' && ctx->n < LF_MAX_OBJECTS)
        ctx->name[ctx->n++] = info->dlpi_name;
    return 0;
}

/* The only loaded object that defines SQLite itself, or NULL if there are none or several. */
static struct link_map *only_definer(void)
{
    static struct objects_ctx objs; /* under resolve_lock */
    struct link_map *found = NULL;
    int count = 0;
    objs.n = 0;
    dl_iterate_phdr(list_objects, &objs);
    for (int i = 0; i < objs.n; i++) {
        void *h = dlopen(objs.name[i], RTLD_NOLOAD | RTLD_LAZY);
        if (h == NULL)
            continue;
        void *p = dlsym(h, LF_ANCHOR);
        struct link_map *lm = p ? object_of(p) : NULL, *hm = NULL;
        if (lm != NULL && !is_self(p) && dlinfo(h, RTLD_DI_LINKMAP, &hm) == 0 && hm == lm &&
            lm != found) {
            count++;
            found = lm;
        }
        dlclose(h);
    }
    return count == 1 ? found : NULL;
}

/* Resolve the copy for the code around `ra`, under resolve_lock. */
static const struct lf_copy *resolve_slow(uintptr_t ra)
{
    /* A compiled-in copy registered since the caller looked (static.c, under the loader's lock) */
    const struct lf_copy *sc = static_copy_for(ra);
    if (sc != NULL)
        return sc;

    struct find_ctx ctx = {.ra = ra};
    dl_iterate_phdr(find_segment, &ctx);
    if (!ctx.found)
        return NULL; /* JIT or anonymous code: handled by the caller as "no copy" */

    /* 1. The global scope, as the dynamic linker searched it for the caller (not our hook). */
    const struct lf_copy *c = copy_via(RTLD_DEFAULT);
    /* 2. The caller's local scope: the libsqlite3 it was linked with, or itself. */
    if (c == NULL && !ctx.is_main) {
        void *h = dlopen(ctx.name, RTLD_NOLOAD | RTLD_LAZY);
        if (h != NULL) {
            c = copy_via(h);
            /* the reference is kept: the range cached below must keep meaning this object */
        }
    }
    /* 3. Code with no SQLite in its scope calling through a pointer it was given (libffi, a
    ** wrapper): if exactly one copy is loaded, that is the only one it can mean. */
    if (c == NULL) {
        struct link_map *only = only_definer();
        int ns = atomic_load_explicit(&nstatic, memory_order_acquire);
        if (only != NULL && ns == 0)
            c = copy_for_object(only);
        /* A compiled-in copy counts too: a module that tail-calls its SQLite (better-sqlite3's
        ** close) returns straight to code outside it. */
        if (only == NULL && ns == 1)
            c = &static_copies[0];
    }

    /* "No SQLite in reach" is not cached: the caller's SQLite may simply not be loaded yet. */
    unsigned n = atomic_load_explicit(&nranges, memory_order_relaxed);
    if (c != NULL && n < LF_MAX_RANGES) {
        ranges[n].lo = ctx.lo;
        ranges[n].len = ctx.hi - ctx.lo;
        ranges[n].copy = c;
        atomic_store_explicit(&nranges, n + 1, memory_order_release);
        remember_range(&ranges[n]);
    }
    return c;
}

/*
** The copy the code at `ra` reaches, past the two ranges this thread hit last (resolve.h,
** lf_copy_fast): a scan of the few cached ranges; only a new calling object takes the lock and
** asks the loader.
*/
const struct lf_copy *lf_copy_for(const void *ra_ptr)
{
    uintptr_t ra = (uintptr_t)ra_ptr;
    const struct lf_copy *sc = static_copy_for(ra);
    if (sc != NULL)
        return sc;
    unsigned n = atomic_load_explicit(&nranges, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        if (ra - ranges[i].lo < ranges[i].len) {
            remember_range(&ranges[i]);
            return ranges[i].copy;
        }
    }
    /* The configuration is read before the first real call goes anywhere. */
    (void)lf_config();
    pthread_mutex_lock(&resolve_lock);
    int saved_guard = lf_guard;
    lf_guard = 1; /* nothing the shim calls while resolving is the program's business */
    const struct lf_copy *c = NULL;
    int hit = 0;
    n = atomic_load_explicit(&nranges, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        if (ra - ranges[i].lo < ranges[i].len) {
            c = ranges[i].copy;
            hit = 1;
            break;
        }
    }
    if (!hit)
        c = resolve_slow(ra);
    lf_guard = saved_guard;
    pthread_mutex_unlock(&resolve_lock);
    return c;
}

LF_ONCE int lf_any_call_seen(void)
{
    return atomic_load_explicit(&nranges, memory_order_acquire) > 0;
}

/* With several copies loaded: the copy recorded for the handle, else the caller's. */
const struct lf_copy *lf_copy_by_db_slow(const void *ra, sqlite3 *db)
{
    const struct lf_copy *c = db ? lf_conn_copy_of(db) : NULL;
    return c ? c : lf_copy_fast(ra);
}

const struct lf_copy *lf_copy_by_stmt_slow(const void *ra, sqlite3_stmt *stmt)
{
    const struct lf_copy *c = stmt ? lf_stmt_owner_get(stmt) : NULL;
    return c ? c : lf_copy_fast(ra);
}

/*
** A copy compiled into an object and redirected at load (static.c): every caller inside the
** object's code reaches it, exactly as a caller finds its dynamic copy, but found without asking
** the loader. Registered before any of the object's code runs, so no range of that object can
** have been cached for another copy.
**
** Registration happens inside the dynamic linker's load notification, under its lock, while a
** thread in resolve_slow() may hold resolve_lock and wait for the loader (dlopen RTLD_NOLOAD):
** so it must not take resolve_lock. Compiled-in copies have tables of their own, appended to
** only here (static.c calls this under its own lock, and loads are serialized by the loader)
** and read without a lock: an entry is complete before the count that publishes it.
*/
const struct lf_copy *lf_copy_register_static(const struct lf_copy *proto, const uintptr_t *lo,
                                              const uintptr_t *hi, int nlo)
{
    int n = atomic_load_explicit(&nstatic, memory_order_relaxed);
    unsigned r = atomic_load_explicit(&nstatic_ranges, memory_order_relaxed);
    if (n >= LF_MAX_STATIC || r + (unsigned)nlo > LF_MAX_STATIC_RANGES)
        return NULL;
    struct lf_copy *c = &static_copies[n];
    *c = *proto;
    copy_finish(c);
    for (int i = 0; i < nlo; i++) {
        static_ranges[r + i].lo = lo[i];
        static_ranges[r + i].len = hi[i] - lo[i];
        static_ranges[r + i].copy = c;
    }
    atomic_fetch_add_explicit(&lf_ncopies, 1, memory_order_release);
    atomic_store_explicit(&nstatic, n + 1, memory_order_release);
    atomic_store_explicit(&nstatic_ranges, r + (unsigned)nlo, memory_order_release);
    return c;
}

/* static.c's first open of a pending copy: its trampolines replace the functions' entries in the
** copy (the entries are about to jump to the hooks) before any entry is written, so a thread
** that read a slot before sees a function that still works: the entry, then through the hook. */
void lf_copy_static_slot(const struct lf_copy *c, int i, void *fn)
{
    void **slot = (void **)(void *)&static_copies[c - static_copies];
    __atomic_store_n(&slot[i], fn, __ATOMIC_RELEASE);
}

void lf_copy_static_settle(const struct lf_copy *c, int refused)
{
    struct lf_copy *m = &static_copies[c - static_copies];
    if (refused)
        __atomic_store_n(&m->passthrough, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&m->pending, 0, __ATOMIC_RELEASE);
}

/*
** Reaching a SQLite that is compiled into the program.
**
** uv's Python, Node's node:sqlite and better-sqlite3 carry SQLite inside the executable or a
** module, with hidden symbols: no call ever goes through the dynamic linker, so the exported hooks
** never see one. If the object still has its full symbol table (.symtab), its sqlite3_* entries
** can be found by name (symtab.c) and redirected: each hooked function's entry is overwritten
** with a jump to the exported hook of the same name (patch.c), and the real function stays
** callable through a trampoline. The hook then finds this copy as it finds any other, by its
** caller's return address (resolve.c): every caller inside the object reaches this copy, whose
** hooked functions are the trampolines and whose helpers are its own local functions.
**
** When: every object loaded at start-up is examined by the constructor, and every object loaded
** later when the dynamic linker tells the debugger that its new objects are mapped (r_debug's
** r_brk, _dl_debug_state, called with RT_CONSISTENT after mapping and before relocation and
** constructors): so a dlopen'ed module's copy is patched before any of its code runs. The
** debugger hook is a one-byte `ret` followed by alignment padding; patching it is the only change
** made to the dynamic linker, and nothing is exported for it (see docs/how-it-works.md).
**
** An object that holds SQLite but has no symbol names for it (Bun, Deno, a stripped build) gets
** one "unreachable" line at the moment it is found, not at exit: such programs may leave through
** quick_exit or _exit, where no destructor runs.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "static.h"
#include "base.h"
#include "config.h"
#include "insn_a64.h"
#include "log.h"
#include "options.h"
#include "patch.h"
#include "platform.h"
#include "resolve.h"

/* The names searched for: the hooks, then the helpers, in the order of struct lf_copy. */
#define NAME_X(ret, name, ...) #name,
#define NAME_H(ret, name, params) #name,
static const char *const names[] = {LF_HOOKS(NAME_X) LF_HELPERS(NAME_H)};
#undef NAME_X
#undef NAME_H
#define INDEX_X(ret, name, ...) HOOK_INDEX_##name,
enum { LF_HOOKS(INDEX_X) N_HOOKS }; /* N_HOOKS: how many hooks there are */
#undef INDEX_X
enum { N_NAMES = sizeof names / sizeof names[0] };
_Static_assert(N_NAMES <= LF_OBJ_MAX_NAMES, "LF_OBJ_MAX_NAMES is too small");

/* The exported hook for hook i: where a patched entry jumps (by its hidden alias, exports.c). */
#define ALIAS_X(ret, name, ...) extern __typeof(name) lf_hook_##name;
LF_HOOKS(ALIAS_X)
#undef ALIAS_X
static void *hook_address(int i)
{
#define ADDR_X(ret, name, ...) (void *)&lf_hook_##name,
    static void *const addr[] = {LF_HOOKS(ADDR_X)};
#undef ADDR_X
    return addr[i];
}

static int name_index(const char *name)
{
    for (int i = 0; i < N_NAMES; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

#define MAX_SEEN 1024
#define MAX_SEGS 4

/* A loaded object, as dl_iterate_phdr describes it. */
struct object {
    const char *path;  /* file to read ("/proc/self/exe" for the main program) */
    const char *shown; /* name for the log (the loader's string: valid while it is loaded) */
    uintptr_t base;
    uintptr_t lo; /* its lowest mapped address: trampolines are placed just below it */
    uintptr_t seg_lo[MAX_SEGS], seg_hi[MAX_SEGS]; /* executable segments */
    uintptr_t ro_lo[MAX_SEGS], ro_hi[MAX_SEGS];   /* readable segments */
    int nseg, nro, is_main;
    int have_st; /* st already taken (the main program's, by main_path) */
    struct stat st;
};

/* Objects already examined, by load base and program headers (a new object at the address of an
** unloaded one has its own program headers in its own mapping... or the same address: then its
** name decides). */
struct seen {
    uintptr_t base;
    const void *phdr;
    unsigned long name_hash;
};
/* The first ones on the page of start-up state (LF_START_DATA): a process with few objects
** touches no page of .bss for them. */
#define SEEN_FIRST 32
LF_START_DATA static struct seen seen_first[SEEN_FIRST];
static struct seen seen_more[MAX_SEEN - SEEN_FIRST];
#define SEEN(i) ((i) < SEEN_FIRST ? &seen_first[(i)] : &seen_more[(i) - SEEN_FIRST])
LF_START_DATA static int nseen;
LF_START_DATA static pthread_mutex_t static_lock = PTHREAD_MUTEX_INITIALIZER;
static LF_TLS int in_scan;   /* a loader event raised by our own scan is not a new object */
static int static_on = 1;    /* LOCKFIX_STATIC */
LF_START_DATA static unsigned long long last_adds;

LF_ONCE static unsigned long hash_name(const char *s)
{
    unsigned long h = 5381;
    while (s && *s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

LF_ONCE static int seen_before(uintptr_t base, const void *phdr, const char *name)
{
    unsigned long h = hash_name(name);
    for (int i = 0; i < nseen; i++)
        if (SEEN(i)->base == base && SEEN(i)->phdr == phdr && SEEN(i)->name_hash == h)
            return 1;
    if (nseen < MAX_SEEN) {
        struct seen *s = SEEN(nseen);
        s->base = base;
        s->phdr = phdr;
        s->name_hash = h;
        nseen++;
    }
    return 0;
}

/* Whether a loaded segment of the object holds addr. */
LF_ONCE static int contains(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && addr - lo < ph->p_memsz)
            return 1;
    }
    return 0;
}

/* A path for the main program's file: `execfn` if it is the ELF file mapped (its section
** headers end where the file ends, as they do in every linked object), else /proc/self/exe. */
LF_ONCE static const char *main_path(const struct dl_phdr_info *info, const char *execfn,
                                     struct object *o)
{
    const ElfW(Ehdr) *eh = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_offset == 0) {
            eh = (const ElfW(Ehdr) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
            break;
        }
    struct stat *st = &o->st;
    if (execfn != NULL && eh != NULL && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
        lf_sys_stat(execfn, st) == 0 &&
        (uint64_t)st->st_size == eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize) {
        o->have_st = 1;
        return execfn;
    }
    return "/proc/self/exe";
}

struct collect {
    struct object *obj;
    int n, cap;
    unsigned long long adds;
};

/* dl_iterate_phdr callback: the objects not examined yet (nothing is opened from inside it). */
LF_ONCE static int collect_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct collect *c = arg;
    (void)size;
    c->adds = info->dlpi_adds;
    int is_main = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
    if (contains(info, (uintptr_t)&lf_copy_for) || contains(info, (uintptr_t)&_r_debug))
        return 0; /* lockfix itself, and the dynamic linker */
    if (!is_main && info->dlpi_name[0] != '/')
        return 0; /* the vDSO: no file to read */
    if (c->n >= c->cap)
        return 0; /* the next round of scan_new_objects() takes it */
    if (seen_before(info->dlpi_addr, info->dlpi_phdr, is_main ? "" : info->dlpi_name))
        return 0;
    struct object *o = &c->obj[c->n];
    memset(o, 0, sizeof *o);
    o->base = info->dlpi_addr;
    o->is_main = is_main;
    if (is_main) {
        /* The name it was started by: a stat of /proc/self/exe in a new process costs ~40 us.
        ** For a script (#!) it is the script's: then /proc/self/exe after all (main_path). */
        const char *fn = (const char *)getauxval(AT_EXECFN);
        o->path = main_path(info, fn, o);
        o->shown = fn ? fn : "(main program)";
    } else {
        o->path = o->shown = info->dlpi_name;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (o->lo == 0 || lo < o->lo)
            o->lo = lo;
        if ((ph->p_flags & PF_X) && o->nseg < MAX_SEGS) {
            o->seg_lo[o->nseg] = lo;
            o->seg_hi[o->nseg++] = hi;
        }
        if ((ph->p_flags & PF_R) && o->nro < MAX_SEGS) {
            o->ro_lo[o->nro] = lo;
            o->ro_hi[o->nro++] = lo + ph->p_filesz;
        }
    }
    c->n++;
    return 0;
}

/* Whether hook i opens a connection. Every other hooked function takes a handle that only an open
** of the same copy can have made: until a copy's first open, its other entries are never reached
** with one, and patching them can wait until then (lf_static_complete). */
static int opens(int i)
{
    return i == HOOK_INDEX_sqlite3_open || i == HOOK_INDEX_sqlite3_open16 ||
           i == HOOK_INDEX_sqlite3_open_v2;
}

static uint32_t names_hash(void);

/* A copy whose opens are patched and the rest not yet: what its first open needs to finish. */
struct pending {
    const struct lf_copy *copy;
    const char *shown;
    uintptr_t base, object_lo;
    int nfirst;
    struct stat st;           /* the object's file, and */
    struct lf_obj_verdict v;  /* its record: the functions to patch, rewritten if refused */
};
#define MAX_PENDING 8
static struct pending pendings[MAX_PENDING]; /* appended to under static_lock */
static int npending;
static pthread_mutex_t complete_lock = PTHREAD_MUTEX_INITIALIZER;

/* A fork while another thread patches a copy's rest would leave the child a locked mutex and
** half-written entries: the fork waits for it. */
static void complete_before_fork(void)
{
    pthread_mutex_lock(&complete_lock);
}
static void complete_after_fork(void)
{
    pthread_mutex_unlock(&complete_lock);
}

enum which { ALL, OPENS, REST };

/* The patches for the hooked functions of the copy `v` describes, loaded at `base`: all, the opens
** only, or all but the opens. Fills p[] and hook_of[], returns how many. */
static int list_patches(const struct lf_obj_verdict *v, uintptr_t base, uintptr_t object_lo,
                        enum which which, struct lf_patch *p, int *hook_of)
{
    int n = 0;
    memset(p, 0, sizeof *p * N_HOOKS);
    for (int i = 0; i < N_HOOKS; i++) {
        if (!v->sym[i].found)
            continue; /* an older SQLite without this function: nothing to redirect */
        if ((which == OPENS && !opens(i)) || (which == REST && opens(i)))
            continue;
        p[n].target = (void *)(base + (uintptr_t)v->sym[i].value);
        p[n].hook = hook_address(i);
        p[n].size = (size_t)v->sym[i].size;
        p[n].object_lo = object_lo;
        hook_of[n++] = i;
    }
    return n;
}

/* Prepare and write p[0..n), all or none; 0, or -1 after one static-refused line. With `fill`
** (a pending copy), its slots get the trampolines before any entry is written: from then on an
** entry may jump to its hook, which calls them; a refused write leaves them there (a trampoline
** runs its function, patched or not). */
static int patch_all(struct lf_patch *p, const int *hook_of, int n, const char *shown,
                     const struct lf_copy *fill)
{
    char why[160];
    size_t failed = 0;
    if (lf_patch_prepare_all(p, (size_t)n, &failed, why, sizeof why) != 0) {
        lf_log("static-refused object=%s fn=%s reason=\"%s\": this compiled-in SQLite is "
               "left as it is (all of its functions or none are redirected)",
               shown, names[hook_of[failed]], why);
        return -1;
    }
    for (int k = 0; fill && k < n; k++)
        lf_copy_static_slot(fill, hook_of[k], p[k].trampoline);
    if (lf_patch_apply(p, (size_t)n, why, sizeof why) != 0) {
        for (int k = 0; !fill && k < n; k++)
            lf_patch_discard(&p[k]);
        lf_log("static-refused object=%s reason=\"%s\": this compiled-in SQLite is left as it is",
               shown, why);
        return -1;
    }
    return 0;
}

/* Patch the hooked functions of the copy found in `o` and register the copy: all of them (all or
** none), or, when an earlier process patched this file's copy whole (v->patched_whole), only its
** opens, the rest at the first open (at every start, each patched entry costs a page of the
** program's code copied: Node 26's 20 took ~0.5 ms). Returns 1 when all were patched. */
static int patch_copy(const struct object *o, const struct stat *st, const struct lf_obj_verdict *v)
{
    struct lf_patch patch[N_HOOKS];
    int hook_of[N_HOOKS];
    char why[160];
    int np = list_patches(v, o->base, o->lo, OPENS, patch, hook_of);
    struct pending *pe = v->patched_whole && np > 0 && npending < MAX_PENDING
                             ? &pendings[npending]
                             : NULL;
    if (pe == NULL)
        np = list_patches(v, o->base, o->lo, ALL, patch, hook_of);
    if (patch_all(patch, hook_of, np, o->shown, NULL) != 0)
        return 0;

    /* The copy: trampolines for the hooked functions patched, the entries of those not yet
    ** patched (they are the functions themselves until then), local functions for the helpers. */
    struct lf_copy proto;
    memset(&proto, 0, sizeof proto);
    void **slot = (void **)(void *)&proto;
    for (int k = 0; k < np; k++)
        memcpy(&slot[hook_of[k]], &patch[k].trampoline, sizeof(void *));
    for (int i = 0; pe && i < N_HOOKS; i++) {
        if (!v->sym[i].found || opens(i))
            continue;
        void *fn = (void *)(o->base + (uintptr_t)v->sym[i].value);
        memcpy(&slot[i], &fn, sizeof fn);
    }
    for (int i = N_HOOKS; i < N_NAMES; i++) {
        if (!v->sym[i].found)
            continue;
        void *fn = (void *)(o->base + (uintptr_t)v->sym[i].value);
        memcpy(&slot[i], &fn, sizeof fn);
    }
    proto.path = strdup(o->shown);
    proto.base = o->base;
    proto.pending = pe != NULL;
    const struct lf_copy *c = lf_copy_register_static(&proto, o->seg_lo, o->seg_hi, o->nseg);
    if (c == NULL) {
        /* the entries already jump to the hooks, which would find no copy: undo */
        lf_patch_revert(patch, (size_t)np, why, sizeof why);
        lf_log("static-refused object=%s reason=\"too many SQLite copies\"", o->shown);
        return 0;
    }
    if (pe) {
        if (npending == 0)
            pthread_atfork(complete_before_fork, complete_after_fork, complete_after_fork);
        pe->copy = c;
        pe->shown = c->path ? c->path : "?";
        pe->base = o->base;
        pe->object_lo = o->lo;
        pe->st = *st;
        pe->nfirst = np;
        pe->v = *v;
        __atomic_store_n(&npending, npending + 1, __ATOMIC_RELEASE);
        return 0;
    }
    if (lf_log_debug_enabled())
        lf_log("static-patched object=%s functions=%d", o->shown, np);
    return 1;
}

/* The first open through a pending copy: the rest of its functions patched (all or none) before
** that open runs, under a lock every concurrent first open waits on. Refused (the code in memory
** is no longer what the earlier process patched), the copy passes through: the opens stay
** patched (other threads may be running them) and their hook forwards to the trampolines, which
** run the functions unchanged; the record forgets that the copy patched whole. */
void lf_static_complete(const struct lf_copy *c)
{
    pthread_mutex_lock(&complete_lock);
    struct pending *pe = NULL;
    /* The copy is registered a moment before its entry here is published (static_lock's holder is
    ** between the two, and waits for nothing): wait for it rather than open an incomplete copy. */
    for (int tries = 0; pe == NULL && tries < 100000; tries++) {
        int n = __atomic_load_n(&npending, __ATOMIC_ACQUIRE);
        for (int i = 0; i < n && !pe; i++)
            if (pendings[i].copy == c)
                pe = &pendings[i];
        if (pe == NULL)
            sched_yield();
    }
    if (pe == NULL || !__atomic_load_n(&c->pending, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&complete_lock);
        return;
    }
    struct lf_patch patch[N_HOOKS];
    int hook_of[N_HOOKS] = {0};
    int nrest = list_patches(&pe->v, pe->base, pe->object_lo, REST, patch, hook_of);
    int refused = patch_all(patch, hook_of, nrest, pe->shown, c) != 0;
    if (!refused && lf_log_debug_enabled())
        lf_log("static-patched object=%s functions=%d", pe->shown, pe->nfirst + nrest);
    lf_copy_static_settle(c, refused);
    pthread_mutex_unlock(&complete_lock);
    if (refused) {
        pthread_mutex_lock(&static_lock);
        pe->v.patched_whole = 0;
        lf_objcache_put(&pe->st, names_hash(), &pe->v);
        lf_objcache_done();
        pthread_mutex_unlock(&static_lock);
    }
}

/* The search itself: what the object open as fd holds. */
static void search(const struct object *o, int fd, struct lf_obj_verdict *v)
{
    struct lf_symtab_want want[N_NAMES];
    memset(want, 0, sizeof want);
    for (int i = 0; i < N_NAMES; i++)
        want[i].name = names[i];
    int step = name_index("sqlite3_step"), prep = name_index("sqlite3_prepare_v2");
    if (lf_symtab_find(fd, want, N_NAMES) > 0 && want[step].found && want[prep].found) {
        /* Exported copies are served by the dynamic path. */
        struct lf_symtab_want exp[1] = {{.name = "sqlite3_step"}};
        v->kind = want[step].global && lf_dynsym_find(fd, exp, 1) > 0 ? LF_OBJ_EXPORTED
                                                                       : LF_OBJ_COPY;
        v->has_symtab = 1;
        for (int i = 0; i < N_NAMES; i++) {
            v->sym[i].found = want[i].found;
            v->sym[i].global = want[i].global;
            v->sym[i].value = want[i].value;
            v->sym[i].size = want[i].size;
        }
        return;
    }

    /* No names: SQLite may still be there, recognised by its strings in .rodata. */
    int has_symtab;
    uint64_t ro_addr, ro_size;
    if (lf_symtab_layout(fd, &has_symtab, &ro_addr, &ro_size) != 0 || ro_size == 0)
        return;
    v->has_symtab = has_symtab;
    uintptr_t lo = o->base + (uintptr_t)ro_addr, hi = lo + (uintptr_t)ro_size;
    int mapped = 0;
    for (int i = 0; i < o->nro; i++)
        mapped |= lo >= o->ro_lo[i] && hi <= o->ro_hi[i] && hi > lo;
    if (mapped && lf_rodata_has_sqlite((const void *)lo, (size_t)(hi - lo), v->version,
                                       sizeof v->version)) {
        struct lf_symtab_want exp[1] = {{.name = "sqlite3_libversion_number"}};
        v->kind = lf_dynsym_find(fd, exp, 1) > 0 ? LF_OBJ_EXPORTED : LF_OBJ_UNREACHABLE;
    }
}

/* Bumped whenever what a verdict means changes (v2: SQLite's strings need two of its messages). */
#define VERDICT_VERSION 2u

/* A hash of the names searched for: cached entries of another list are not used. Computed once
** (~4,000 instructions for each object otherwise). */
LF_ONCE static uint32_t names_hash(void)
{
    LF_START_DATA static uint32_t memo;
    if (memo != 0)
        return memo;
    uint32_t h = 2166136261u ^ VERDICT_VERSION;
    for (int i = 0; i < N_NAMES; i++)
        for (const char *p = names[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
    h ^= (uint32_t)sizeof(struct lf_obj_verdict);
    memo = h != 0 ? h : 1;
    return memo;
}

/* Look at one object: a compiled-in copy to patch, one that cannot be reached, or neither.
** The object's file is opened only when the cache does not know it: opening and closing a
** mapped executable costs more than everything else here together (~15 us measured). */
LF_ONCE static void examine(const struct object *o)
{
    struct stat st = o->st;
    struct lf_obj_verdict v;
    if (!o->have_st && lf_sys_stat(o->path, &st) != 0)
        return;
    int known = lf_objcache_get(&st, names_hash(), &v);
    if (!known) {
        int fd = lf_sys_open(o->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return;
        memset(&v, 0, sizeof v);
        search(o, fd, &v);
        lf_sys_close(fd);
    }
    if (v.kind == LF_OBJ_COPY && static_on && patch_copy(o, &st, &v) && !v.patched_whole) {
        v.patched_whole = 1; /* the next process patches the opens at load, the rest later */
        known = 0;
    }
    if (!known)
        lf_objcache_put(&st, names_hash(), &v);
    if (v.kind == LF_OBJ_COPY && !static_on)
        lf_report_unreachable_object(o->shown, v.version, "LOCKFIX_STATIC=0 is set");
    else if (v.kind == LF_OBJ_UNREACHABLE)
        lf_report_unreachable_object(o->shown, v.version,
                                     v.has_symtab ? "its symbol table names no SQLite function"
                                                  : "it has no symbol table (stripped)");
}

/* Examine the objects loaded since the last time. */
LF_ONCE static void scan_new_objects(void)
{
    enum { CAP = 64 };
    /* under static_lock; on a page of its own: the few objects of a small process touch one page
    ** of .bss, not the two it would straddle (a fault costs 1 to 16 us, bench/pagefault.c) */
    static struct object batch[CAP] __attribute__((aligned(4096)));
    pthread_mutex_lock(&static_lock);
    in_scan++;
    for (;;) {
        struct collect c = {.obj = batch, .cap = CAP};
        dl_iterate_phdr(collect_object, &c);
        last_adds = c.adds;
        for (int i = 0; i < c.n; i++)
            examine(&batch[i]);
        if (c.n < CAP)
            break;
    }
    lf_objcache_done();
    in_scan--;
    pthread_mutex_unlock(&static_lock);
}

/* Called instead of _dl_debug_state (which does nothing): after a load maps its objects. */
static void on_loader_event(void)
{
    if (_r_debug.r_state != RT_CONSISTENT || in_scan)
        return;
    scan_new_objects();
}

#if defined(__x86_64__) || defined(__aarch64__)
/* Write `len` bytes of jump over the debugger hook at p, whose first instruction (`first`
** bytes) is its `ret`: the bytes after it first (padding nothing runs), made visible to
** instruction fetch, then that instruction with one store, so a thread calling the hook meanwhile
** runs either the `ret` or the whole jump. The pages are writable only for the moment. */
LF_ONCE static int write_hook_jump(unsigned char *p, const unsigned char *jump, size_t len,
                                   size_t first, char *why, size_t cap)
{
    size_t page = (size_t)getauxval(AT_PAGESZ); /* sysconf: two more pages of libc faulted in */
    uintptr_t lo = (uintptr_t)p & ~(page - 1);
    uintptr_t hi = ((uintptr_t)(p + len) + page - 1) & ~(page - 1);
    if (lf_sys_mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        snprintf(why, cap, "mprotect: the dynamic linker's code cannot be made writable");
        return -1;
    }
    memcpy(p + first, jump + first, len - first);
    __builtin___clear_cache((char *)p + first, (char *)p + len);
    if (first == 4) {
        uint32_t word;
        memcpy(&word, jump, 4);
        __atomic_store_n((uint32_t *)(void *)p, word, __ATOMIC_RELEASE);
    } else {
        __atomic_store_n(p, jump[0], __ATOMIC_RELEASE);
    }
    __builtin___clear_cache((char *)p, (char *)p + first);
    lf_sys_mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC);
    return 0;
}
#endif

#if defined(__x86_64__)
/* Length of the x86 NOP (padding) instruction at p, or 0: 90, cc, and the multi-byte forms
** 0f 1f /0 that compilers and assemblers emit for alignment (with 66 and 2e prefixes). */
LF_ONCE static size_t nop_len(const unsigned char *p, size_t room)
{
    size_t k = 0;
    if (room >= 1 && (p[0] == 0x90 || p[0] == 0xcc))
        return 1;
    while (k < room && k < 8 && (p[k] == 0x66 || p[k] == 0x2e))
        k++;
    if (k + 3 > room || p[k] != 0x0f || p[k + 1] != 0x1f)
        return 0;
    unsigned char modrm = p[k + 2];
    size_t len = k + 3;
    if (modrm == 0x00)
        return len;
    if (modrm == 0x40 && len + 1 <= room && p[len] == 0)
        return len + 1;
    if (modrm == 0x44 && len + 2 <= room && p[len] == 0 && p[len + 1] == 0)
        return len + 2;
    if (modrm == 0x80 && len + 4 <= room && !memcmp(p + len, "\0\0\0\0", 4))
        return len + 4;
    if (modrm == 0x84 && len + 5 <= room && !memcmp(p + len, "\0\0\0\0\0", 5))
        return len + 5;
    return 0;
}

/* x86-64: `ret` (after an endbr64, which stays), followed by alignment padding up to the next
** 16-byte boundary. The `ret` and the padding become a jmp rel32 (5 bytes) or, farther than
** 2 GiB, jmp *0(%rip); .quad (14 bytes), if that much padding is there. */
LF_ONCE static int redirect_x86(unsigned char *f, void *to, char *why, size_t cap)
{
    size_t at = memcmp(f, "\xf3\x0f\x1e\xfa", 4) == 0 ? 4 : 0; /* endbr64 stays */
    if (f[at] != 0xc3) {
        snprintf(why, cap, "_dl_debug_state is not a bare return (%02x)", f[at]);
        return -1;
    }
    uintptr_t end = ((uintptr_t)(f + at + 1) + 15) & ~(uintptr_t)15;
    size_t room = (size_t)(end - (uintptr_t)(f + at)), k = 1;
    while (k < room) {
        size_t n = nop_len(f + at + k, room - k);
        if (n == 0)
            break;
        k += n;
    }
    room = k;
    unsigned char jump[14];
    size_t len;
    intptr_t rel = (intptr_t)to - (intptr_t)(f + at + 5);
    if (rel == (int32_t)rel) {
        jump[0] = 0xe9;
        int32_t r32 = (int32_t)rel;
        memcpy(jump + 1, &r32, 4);
        len = 5;
    } else {
        memcpy(jump, "\xff\x25\0\0\0\0", 6);
        memcpy(jump + 6, &to, 8);
        len = 14;
    }
    if (room < len) {
        snprintf(why, cap, "only %zu bytes of padding after _dl_debug_state", room);
        return -1;
    }
    return write_hook_jump(f + at, jump, len, 1, why, cap);
}
#endif

#if defined(__aarch64__)
#define A64_RET 0xd65f03c0u
#define A64_NOP 0xd503201fu

LF_ONCE static uint32_t a64_word(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* Whether the word at p is padding after _dl_debug_state: a nop or zero (the fill assemblers
** and linkers use) that no symbol covers (the dynamic linker has only .dynsym: what it exports). */
LF_ONCE static int a64_padding(const unsigned char *p)
{
    Dl_info info;
    uint32_t w = a64_word(p);
    if (w != A64_NOP && w != 0)
        return 0;
    return !dladdr(p, &info) || info.dli_sname == NULL;
}

/* aarch64: `ret` (after a bti c, which stays). glibc 2.36 (Debian 12) has the next function right
** after it, no padding: the `ret` becomes a `b` (one word, one store), which reaches +-128 MiB,
** where the dynamic linker and lockfix are mapped. Farther, ldr x16, #8; br x16; .quad (16
** bytes) needs the 12 bytes after the `ret` to be padding up to the next 16-byte boundary; else
** refused. A `paciasp` at the entry is refused too: on_loader_event would return with the return
** address still signed. (Arm promises concurrent modification and execution only between a few
** instructions, b and nop among them, not ret: like other aarch64 patchers this relies on one
** aligned store, at a moment when normally no other thread is loading anything.) */
LF_ONCE static int redirect_a64(unsigned char *f, void *to, char *why, size_t cap)
{
    size_t at = lf_a64_landing_pad(f, 4);
    uint32_t w = a64_word(f + at);
    if (w != A64_RET) {
        snprintf(why, cap, "_dl_debug_state is not a bare return (%08x)", w);
        return -1;
    }
    unsigned char jump[16];
#ifdef LF_STATIC_TEST_FAR /* make a64-test: the refusal of the far form, whatever the distance */
    size_t len = lf_a64_jump_abs(jump, (uint64_t)(uintptr_t)to);
#else
    size_t len = lf_a64_jump(jump, (uint64_t)(uintptr_t)(f + at), (uint64_t)(uintptr_t)to);
#endif
    if (len > 4) {
        uintptr_t end = ((uintptr_t)(f + at + 4) + 15) & ~(uintptr_t)15;
        size_t room = 4;
        while (room < len && (uintptr_t)(f + at + room) < end && a64_padding(f + at + room))
            room += 4;
        if (room < len) {
            snprintf(why, cap,
                     "on_loader_event is beyond a branch's reach, and only %zu bytes of "
                     "padding follow _dl_debug_state",
                     room - 4);
            return -1;
        }
    }
    return write_hook_jump(f + at, jump, len, 4, why, cap);
}
#endif

/*
** Redirect the dynamic linker's debugger hook, _dl_debug_state, to on_loader_event. The function
** is empty: a `ret`, after a landing pad on some systems. Nothing of it needs to survive, so no
** trampoline is built: the `ret` (and padding after it, where the jump needs more room) is
** replaced by a jump. Anything else at that address (a debugger's breakpoint, another libc) is
** left alone. x86-64 and aarch64; elsewhere modules loaded later are not examined.
*/
LF_ONCE static int redirect_debug_hook(unsigned char *f, void *to, char *why, size_t cap)
{
#if defined(__x86_64__)
    return redirect_x86(f, to, why, cap);
#elif defined(__aarch64__)
    return redirect_a64(f, to, why, cap);
#else
    (void)f;
    (void)to;
    snprintf(why, cap, "not implemented on this architecture");
    return -1;
#endif
}

/* ThreadSanitizer's runtime intercepts the dynamic linker's own calls: a TSan build (make tsan)
** leaves its debugger hook alone, and misses only copies in modules loaded later. */
#if defined(__SANITIZE_THREAD__)
#define LF_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LF_UNDER_TSAN 1
#endif
#endif

/* Examine every object the dynamic linker maps from now on, before it runs. */
LF_ONCE static void watch_loads(void)
{
#ifdef LF_UNDER_TSAN
    return;
#endif
    char why[160];
    if (_r_debug.r_brk == 0)
        return;
    if (redirect_debug_hook((unsigned char *)_r_debug.r_brk, (void *)&on_loader_event, why,
                            sizeof why) != 0)
        lf_log("static-late-loads reason=\"%s\": SQLite compiled into modules loaded later "
               "(dlopen) is not reached",
               why);
}

LF_ONCE __attribute__((constructor)) static void lf_static_init(void)
{
    if ((lf_config_env_present(LF_OPT_LOCKFIX_STATIC) ||
         lf_config_env_present(LF_OPT_LOCKFIX_DISABLE)) &&
        !lf_secure_exec()) {
        const struct lf_config *cfg = lf_config();
        if (cfg->disable)
            return;
        static_on = cfg->static_copies;
    }
    scan_new_objects();
    watch_loads();
}

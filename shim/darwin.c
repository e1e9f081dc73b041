/*
** macOS: finding each caller's SQLite, and the platform services (what the Linux build gets from
** resolve.c, unreachable.c and platform.c; the queue's wait is wait_darwin.c).
**
** NOT RUN ON A MAC. Written from Apple's documented formats and interfaces; `make macos-check`
** compiles it for arm64 and x86_64 against tests/macos-sdk, and the Mach-O reading it relies on
** (macho.c) is tested on Linux against lld-linked images. See docs/how-it-works.md, "macOS".
**
** Rebinding, not interposing. dyld's __interpose records redirect only calls bound to the very
** function a record names (the libsqlite3 this library would be linked with), so they miss
** Homebrew's libsqlite3, pyenv's, and any second copy. Instead, for every image, at start and
** whenever one is added (_dyld_register_func_for_add_image calls back after the image's fixups
** are applied and before its initializers run), lockfix reads which of its pointer slots dyld
** bound to a hooked sqlite3_* name, notes which loaded image defines the function each slot
** points to (that image is the caller's own SQLite copy), and points the slot at lockfix's hook.
** A hook then finds its copy as on Linux: by the calling image's code range (lf_copy_for), or by
** the handle. The policy code is shared; only this file and wait_darwin.c are macOS's.
**
** Which slots: images with classic bind opcodes list every slot in LC_DYLD_INFO (mapped with
** __LINKEDIT). Images with fixup chains list them in the chains, which dyld has overwritten with
** the bound pointers by the time the callback runs: the chains are read from the image's file
** (the same UUID), and where the file cannot be read, the indirect symbol table of the mapped
** image still names the __got/__la_symbol_ptr slots every call through a stub reads (function
** pointers kept in data are then missed, and logged).
**
** Not rebound: Apple's images in the shared cache (their callers of SQLite are Apple's own
** frameworks), arm64e images (their slots hold signed pointers), and pointers a program got from
** dlsym() (they point at SQLite itself). Compiled-in copies (python.org, uv): see patch_image().
*/
#ifdef __APPLE__
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <mach-o/dyld.h>
#include <mach/mach.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darwin.h"
#include "base.h"
#include "config.h"
#include "conn.h"
#include "fs_list.h"
#include "handles.h"
#include "hooks.h"
#include "impl.h"
#include "log.h"
#include "macho.h"
#include "platform.h"
#include "resolve.h"
#include "unreachable.h"

#define LF_MAX_IMAGES 1024
#define LF_MAX_COPIES 64
#define LF_MAX_SLOTS 512 /* hooked slots in one image */
#define LF_MH_DYLIB_IN_CACHE 0x80000000u
#define LF_CPU_SUBTYPE_ARM64E 2u
#define LF_CPU_SUBTYPE_MASK 0x00ffffffu

/* ---- the hooks, by the names images import ------------------------------------------------ */
#define LF_DECLARE_HOOK(ret, name, params, on_missing, ...) ret lf_dy_##name params;
LF_HOOKS(LF_DECLARE_HOOK)
#undef LF_DECLARE_HOOK

/* The hooked names as images import them (with the leading '_'), and the hooks, in one order. */
static const char *const hook_names[] = {
#define LF_HOOK_NAME(ret, name, params, on_missing, ...) "_" #name,
    LF_HOOKS(LF_HOOK_NAME)
#undef LF_HOOK_NAME
};
static void *const hook_fns[] = {
#define LF_HOOK_FN(ret, name, params, on_missing, ...) (void *)&lf_dy_##name,
    LF_HOOKS(LF_HOOK_FN)
#undef LF_HOOK_FN
};
#define NHOOKS ((int)(sizeof hook_names / sizeof hook_names[0]))

static int hook_index(const char *name)
{
    for (int i = 0; i < NHOOKS; i++)
        if (strcmp(name, hook_names[i]) == 0)
            return i;
    return -1;
}

static int is_hook(const void *p)
{
    for (int i = 0; i < NHOOKS; i++)
        if (p == hook_fns[i])
            return 1;
    return 0;
}

/* ---- copies and images --------------------------------------------------------------------- */

/* A copy is known by the header of the image that defines it; its functions are looked up on
** first use (lf_copy_for), never inside dyld's callback. */
struct dy_copy {
    uintptr_t base;
    _Atomic int state; /* 0 not looked up, 1 ready, -1 unusable */
    struct lf_copy c;
};
/* An image whose slots were rebound: its __TEXT range and the copy it was bound to. */
struct dy_image {
    uintptr_t lo, len;
    int copy;
    _Atomic int pinned; /* dlopen reference taken: the range keeps meaning this image */
};

static struct dy_copy copies[LF_MAX_COPIES];
static struct dy_image images[LF_MAX_IMAGES];
static _Atomic unsigned nimages;
_Atomic int lf_ncopies;
/* Lock order: copy_lock may call into dyld; dyld's own lock is held around on_add_image, which
** takes image_lock and calls nothing while holding it. So image_lock is innermost. */
static pthread_mutex_t image_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int call_seen;

LF_TLS int lf_guard;
LF_TLS struct lf_range lf_last_range;
LF_TLS struct lf_range lf_prev_range; /* never set here: matches nothing */

/* The copy defined by the image at `base`, registered if new (under image_lock). */
static int copy_index(uintptr_t base)
{
    int n = atomic_load_explicit(&lf_ncopies, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (copies[i].base == base)
            return i;
    if (n >= LF_MAX_COPIES)
        return -1;
    copies[n].base = base;
    atomic_store_explicit(&lf_ncopies, n + 1, memory_order_release);
    return n;
}

/* Look the copy's functions up in its image, once. All must come from that one image. */
static const struct lf_copy *ready_copy(int i)
{
    struct dy_copy *d = &copies[i];
    int state = atomic_load_explicit(&d->state, memory_order_acquire);
    if (state != 0)
        return state > 0 ? &d->c : NULL;
    pthread_mutex_lock(&copy_lock);
    int saved_guard = lf_guard;
    lf_guard = 1;
    if (atomic_load(&d->state) == 0) {
        Dl_info info;
        void *h = NULL;
        if (dladdr((const void *)d->base, &info) && info.dli_fname != NULL)
            h = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY); /* kept: the copy stays loaded */
        struct lf_copy *c = &d->c;
        memset(c, 0, sizeof *c);
#define LF_LOOKUP(field, symname)                                                                  \
    do {                                                                                           \
        void *p = h ? dlsym(h, symname) : NULL;                                                    \
        Dl_info pi;                                                                                \
        if (p != NULL && dladdr(p, &pi) && (uintptr_t)pi.dli_fbase == d->base && !is_hook(p))      \
            memcpy(&c->field, &p, sizeof p);                                                       \
    } while (0)
#define LF_LOOKUP_X(ret, fname, params, on_missing, ...) LF_LOOKUP(fname, #fname);
#define LF_LOOKUP_H(ret, fname, params) LF_LOOKUP(fname, #fname);
        LF_HOOKS(LF_LOOKUP_X)
        LF_HELPERS(LF_LOOKUP_H)
#undef LF_LOOKUP_X
#undef LF_LOOKUP_H
#undef LF_LOOKUP
        int ok = c->sqlite3_step != NULL && c->sqlite3_prepare_v2 != NULL;
        /* as in resolve.c: what the step hook reads before every step, and LOCKFIX_DISABLE=1 */
        c->passthrough = c->sqlite3_stmt_busy == NULL || c->sqlite3_db_handle == NULL ||
                         c->sqlite3_get_autocommit == NULL || c->sqlite3_reset == NULL ||
                         c->sqlite3_finalize == NULL || c->sqlite3_busy_timeout == NULL ||
                         lf_disabled;
        lf_copy_stand_ins(c);
        c->base = d->base;
        c->path = h && info.dli_fname ? info.dli_fname : "(unknown image)";
        if (!ok)
            lf_log("no-sqlite image=%s: the functions its callers were bound to cannot be looked "
                   "up; their calls fail with an error",
                   c->path);
        atomic_store_explicit(&d->state, ok ? 1 : -1, memory_order_release);
    }
    lf_guard = saved_guard;
    pthread_mutex_unlock(&copy_lock);
    return atomic_load(&d->state) > 0 ? &d->c : NULL;
}

/* Keep a calling image loaded once its range is cached (outside dyld's callback). */
static void pin(struct dy_image *im)
{
    if (atomic_exchange(&im->pinned, 1))
        return;
    Dl_info info;
    if (dladdr((const void *)im->lo, &info) && info.dli_fname != NULL)
        (void)dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY); /* the reference is kept */
}

/*
** The copy the code at `ra` reaches: the one its image was bound to. Code in no rebound image
** (a pointer handed on, code made at run time) reaches the only copy if there is one.
*/
const struct lf_copy *lf_copy_for(const void *ra)
{
    (void)lf_config(); /* read before the first real call goes anywhere */
    uintptr_t a = (uintptr_t)ra;
    unsigned n = atomic_load_explicit(&nimages, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        struct dy_image *im = &images[i];
        uintptr_t len = __atomic_load_n(&im->len, __ATOMIC_ACQUIRE); /* 0 once unloaded */
        if (a - im->lo < len) {
            const struct lf_copy *c = ready_copy(im->copy);
            if (c != NULL) {
                pin(im);
                lf_last_range = (struct lf_range){im->lo, len, c};
                atomic_store_explicit(&call_seen, 1, memory_order_relaxed);
            }
            return c;
        }
    }
    if (atomic_load_explicit(&lf_ncopies, memory_order_acquire) == 1) {
        atomic_store_explicit(&call_seen, 1, memory_order_relaxed);
        return ready_copy(0);
    }
    return NULL;
}

int lf_any_call_seen(void)
{
    return atomic_load_explicit(&call_seen, memory_order_relaxed);
}

/* With several copies: the copy recorded for the handle, else the caller's (as resolve.c). */
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

/* ---- writing a slot ------------------------------------------------------------------------ */

/* Store `value` in the pointer slot at `slot`. __DATA_CONST is read-only once dyld has bound it:
** make its page writable for the store (a private copy if need be: VM_PROT_COPY), then give the
** page its protection back. An aligned 8-byte store is atomic: a thread calling through the slot
** meanwhile reads the old pointer or the new one. */
static int write_slot(void **slot, void *value, const char **why)
{
    mach_port_t task = mach_task_self();
    mach_vm_address_t at = (mach_vm_address_t)(uintptr_t)slot;
    mach_vm_size_t size = 0;
    vm_region_basic_info_data_64_t info;
    mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
    mach_port_t object = MACH_PORT_NULL;
    if (mach_vm_region(task, &at, &size, VM_REGION_BASIC_INFO_64, (vm_region_info_t)&info, &count,
                       &object) != KERN_SUCCESS ||
        at > (mach_vm_address_t)(uintptr_t)slot) {
        *why = "slot not in a mapped region";
        return -1;
    }
    uintptr_t page_size = (uintptr_t)getpagesize();
    mach_vm_address_t page = (mach_vm_address_t)((uintptr_t)slot & ~(page_size - 1));
    int writable = (info.protection & VM_PROT_WRITE) != 0;
    if (!writable &&
        mach_vm_protect(task, page, page_size, FALSE, VM_PROT_READ | VM_PROT_WRITE) !=
            KERN_SUCCESS &&
        mach_vm_protect(task, page, page_size, FALSE,
                        VM_PROT_READ | VM_PROT_WRITE | VM_PROT_COPY) != KERN_SUCCESS) {
        *why = "slot page cannot be made writable";
        return -1;
    }
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (!writable)
        (void)mach_vm_protect(task, page, page_size, FALSE, info.protection);
    return 0;
}

/* ---- the slots of one image ---------------------------------------------------------------- */

/* The image's file, mapped, and parsed at the slice for `cputype`: 0, or -1 (nothing mapped). */
static int map_file(const char *path, uint32_t cputype, struct lf_macho *f, void **map,
                    size_t *maplen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    size_t off, len;
    const char *why;
    if (lf_macho_slice(p, (size_t)st.st_size, cputype, &off, &len, &why) != 0 ||
        lf_macho_parse(f, (const char *)p + off, len, 0, &why) != 0) {
        munmap(p, (size_t)st.st_size);
        return -1;
    }
    *map = p;
    *maplen = (size_t)st.st_size;
    return 0;
}

/* The header of the loaded image whose install name is `install`, or 0. */
static uintptr_t image_named(const char *install)
{
    uint32_t n = _dyld_image_count();
    for (uint32_t i = 0; i < n; i++) {
        const struct mach_header *h = _dyld_get_image_header(i);
        struct lf_macho o;
        const char *why;
        if (h != NULL && lf_macho_parse(&o, h, 0, 1, &why) == 0 && o.id_name != NULL &&
            strcmp(o.id_name, install) == 0)
            return (uintptr_t)h;
    }
    return 0;
}

/* The image defining what the slot binds. A bound slot points into it; a lazy slot not yet bound
** points into its own image's stub helper: then the library its ordinal names, or for a flat
** lookup whatever dlsym finds first, as dyld would. */
static uintptr_t definer(const struct lf_macho *m, const struct lf_macho_slot *sl, void *value,
                         uintptr_t lo, uintptr_t len)
{
    Dl_info info;
    if ((uintptr_t)value - lo >= len)
        return dladdr(value, &info) ? (uintptr_t)info.dli_fbase : 0;
    const char *install = lf_macho_dylib(m, sl->ordinal);
    uintptr_t base = install ? image_named(install) : 0;
    if (base != 0)
        return base;
    void *p = dlsym(RTLD_DEFAULT, hook_names[sl->name] + 1);
    return p && !is_hook(p) && dladdr(p, &info) ? (uintptr_t)info.dli_fbase : 0;
}

static uint64_t text_size(const struct lf_macho *m)
{
    for (int i = 0; i < m->nseg; i++)
        if (strcmp(m->seg[i].name, "__TEXT") == 0)
            return m->seg[i].vmsize;
    return 0;
}

static void patch_image(const struct lf_macho *m, const struct mach_header *mh, intptr_t slide,
                        const char *path);

/* Rebind one image's hooked slots. Called by dyld for every image, present and added later. */
static void rebind_image(const struct lf_macho *m, const struct mach_header *mh, intptr_t slide,
                         const char *path)
{
    struct lf_macho_slot slots[LF_MAX_SLOTS]; /* 8 KB of the loading thread's stack */
    struct lf_macho file;
    void *map = NULL;
    size_t maplen = 0;
    int have_file = m->has_chained && map_file(path, m->cputype, &file, &map, &maplen) == 0;
    int dropped = 0;
    const char *partial = NULL, *why = NULL;
    int n = lf_macho_import_slots(m, have_file ? &file : NULL, hook_names, NHOOKS, slots,
                                  LF_MAX_SLOTS, &dropped, &partial, &why);
    if (map != NULL)
        munmap(map, maplen);
    if (n < 0)
        lf_log("image-skipped image=%s: its imports cannot be read (%s)", path, why);
    if (n <= 0)
        return;
    if (partial != NULL)
        lf_log("image-partial image=%s: %s; only its __got/__la_symbol_ptr slots are rebound, "
               "function pointers it keeps in data still reach SQLite directly",
               path, partial);
    if (dropped)
        lf_log("image-partial image=%s: more than %d SQLite slots; %d left alone", path,
               LF_MAX_SLOTS, dropped);

    uintptr_t lo = (uintptr_t)mh, len = (uintptr_t)text_size(m);
    /* the image's copy: the definer of its first bound slot; a slot bound elsewhere is left
    ** alone (a hook tells copies apart by the calling image) */
    uintptr_t base = 0;
    void *todo[LF_MAX_SLOTS];
    int hooked = 0, mixed = 0;
    for (int i = 0; i < n; i++) {
        void *value = *(void **)(uintptr_t)(slots[i].vmaddr + (uint64_t)slide);
        todo[i] = NULL;
        if (value == NULL || is_hook(value))
            continue; /* a weak import that is absent, or already ours */
        uintptr_t d = definer(m, &slots[i], value, lo, len);
        if (d == 0 || d == (uintptr_t)mh)
            continue; /* nothing to forward to, or the image's own export: its copy, not a caller */
        if (base == 0)
            base = d;
        if (d != base) {
            mixed++;
            continue;
        }
        todo[i] = hook_fns[slots[i].name];
    }
    if (base == 0)
        return;
    pthread_mutex_lock(&image_lock);
    int copy = copy_index(base);
    unsigned count = atomic_load(&nimages);
    if (copy >= 0 && count < LF_MAX_IMAGES) {
        /* registered before any slot changes: a hook called at once finds its copy */
        images[count] = (struct dy_image){.lo = lo, .len = len, .copy = copy};
        atomic_store_explicit(&nimages, count + 1, memory_order_release);
    } else {
        copy = -1;
    }
    pthread_mutex_unlock(&image_lock);
    if (copy < 0) {
        lf_log("image-skipped image=%s: too many images or SQLite copies", path);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (todo[i] == NULL)
            continue;
        void **slot = (void **)(uintptr_t)(slots[i].vmaddr + (uint64_t)slide);
        if (write_slot(slot, todo[i], &why) == 0)
            hooked++;
        else
            lf_log("slot-skipped image=%s fn=%s: %s", path, hook_names[slots[i].name] + 1, why);
    }
    if (mixed)
        lf_log("image-partial image=%s: %d SQLite slots bound to another copy were left alone",
               path, mixed);
    if (lf_log_debug_enabled())
        lf_log("image-rebound image=%s slots=%d", path, hooked);
}

static const struct mach_header *self_header(void)
{
    Dl_info info;
    return dladdr((const void *)&lf_copy_for, &info) ? info.dli_fbase : NULL;
}

static void on_add_image(const struct mach_header *mh, intptr_t slide)
{
    struct lf_macho m;
    const char *why;
    (void)lf_config(); /* LOCKFIX_DISABLE=1 changes nothing in the process, not even a slot */
    if (lf_disabled || mh == NULL || mh == self_header() || lf_macho_parse(&m, mh, 0, 1, &why) != 0)
        return;
    if (m.flags & LF_MH_DYLIB_IN_CACHE)
        return; /* Apple's libraries: their SQLite callers are Apple's frameworks */
    Dl_info info;
    const char *path = dladdr(mh, &info) && info.dli_fname ? info.dli_fname : "(unnamed image)";
    if (m.cputype == LF_MACHO_CPU_ARM64 &&
        (((const uint32_t *)(const void *)mh)[2] & LF_CPU_SUBTYPE_MASK) == LF_CPU_SUBTYPE_ARM64E) {
        lf_log("image-skipped image=%s: arm64e (signed pointers) is not supported", path);
        return;
    }
    rebind_image(&m, mh, slide, path);
    patch_image(&m, mh, slide, path);
}

/* An image unloaded before any hook call pinned it: its range must not name a later image. */
static void on_remove_image(const struct mach_header *mh, intptr_t slide)
{
    (void)slide;
    pthread_mutex_lock(&image_lock);
    unsigned n = atomic_load(&nimages);
    for (unsigned i = 0; i < n; i++)
        if (images[i].lo == (uintptr_t)mh)
            __atomic_store_n(&images[i].len, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&image_lock);
}

__attribute__((constructor)) static void lf_darwin_init(void)
{
    /* calls on_add_image for every image loaded now, then for each one loaded later */
    _dyld_register_func_for_add_image(on_add_image);
    _dyld_register_func_for_remove_image(on_remove_image);
}

/* ---- compiled-in copies --------------------------------------------------------------------- */

/*
** A SQLite compiled into an image with hidden symbols (python.org's installer, uv's
** python-build-standalone) exports and imports nothing: only entry patching reaches it, as on
** Linux (issue 12). macOS adds code signing. A process signed with the hardened runtime, or
** with CS_KILL/CS_HARD, is killed when it executes a page whose signature no longer matches, so
** lockfix refuses there and says so. Without them (ad-hoc and linker-signed binaries), Apple's
** documentation and tools that patch code on Apple silicon indicate that a text page may be made
** writable as a private copy (VM_PROT_COPY), written, and made executable again: the page's
** signature becomes invalid, and the process keeps running. Not verified here (no Mac).
** Trampolines live in MAP_JIT memory, which a process without the hardened runtime may map
** (with it, only under com.apple.security.cs.allow-jit), written between
** pthread_jit_write_protect_np(0) and (1) on arm64.
**
** Here: find the copy in the symbol table and check the signatures; then lf_patch_copy
** (patch_darwin.c: issue 12's patcher, patch.c, over macOS's memory primitives) redirects every
** hooked entry, all or none, and the copy is registered with its trampolines.
*/
static const char *const helper_names[] = {
#define LF_HELPER_NAME(ret, name, params) "_" #name,
    LF_HELPERS(LF_HELPER_NAME)
#undef LF_HELPER_NAME
};
#define NHELPERS ((int)(sizeof helper_names / sizeof helper_names[0]))

#define LF_MAX_REFUSED 8
static const char *refused[LF_MAX_REFUSED];
static _Atomic int nrefused;

static void refuse(const char *path, const char *why)
{
    lf_log("unreachable image=%s: SQLite is compiled in and %s", path, why);
    int i = atomic_fetch_add(&nrefused, 1);
    if (i < LF_MAX_REFUSED)
        refused[i] = path;
}

/* Code-signature flags that make patched code fatal or impossible. */
#define LF_CS_FORBIDS (LF_CS_RUNTIME | LF_CS_KILL | LF_CS_HARD | LF_CS_ENFORCEMENT | LF_CS_RESTRICT)

static void patch_image(const struct lf_macho *m, const struct mach_header *mh, intptr_t slide,
                        const char *path)
{
    uint64_t at[NHOOKS];
    int exported[NHOOKS];
    const char *why = NULL;
    int found = lf_macho_defined(m, hook_names, NHOOKS, at, exported, &why);
    if (found <= 0 || at[hook_index("_sqlite3_step")] == 0)
        return; /* no SQLite here, or no symbols left to find it by */
    for (int i = 0; i < NHOOKS; i++)
        if (at[i] != 0 && exported[i])
            return; /* exported: its callers import it, and are rebound */
    const char *off = lf_secure_exec() ? NULL : getenv("LOCKFIX_STATIC"); /* issue 12's switch */
    if (off != NULL && strcmp(off, "0") == 0)
        return;
    struct lf_macho main_image;
    const struct mach_header *exe = _dyld_get_image_header(0);
    long flags = exe && lf_macho_parse(&main_image, exe, 0, 1, &why) == 0
                     ? lf_macho_codesign_flags(&main_image)
                     : -1;
    long own = lf_macho_codesign_flags(m);
    if ((flags > 0 && (flags & LF_CS_FORBIDS)) || (own > 0 && (own & LF_CS_FORBIDS))) {
        refuse(path, "the process is hardened (code signature flags forbid changed code)");
        return;
    }
    if (found < NHOOKS) {
        refuse(path, "not all of its hooked functions have symbols");
        return;
    }
    /* Patched entries jump to hooks that must find the copy: there must be room to register it
    ** (add-image callbacks run one at a time, so the room is still there afterwards). */
    if (atomic_load(&nimages) >= LF_MAX_IMAGES ||
        atomic_load(&lf_ncopies) >= LF_MAX_COPIES) {
        refuse(path, "there are too many images or SQLite copies to register another");
        return;
    }
    void *fns[NHOOKS], *hooks_for[NHOOKS], *tramp[NHOOKS];
    size_t sizes[NHOOKS];
    for (int i = 0; i < NHOOKS; i++) {
        fns[i] = (void *)(uintptr_t)(at[i] + (uint64_t)slide);
        sizes[i] = (size_t)lf_macho_function_size(m, at[i]); /* symbols carry none */
        hooks_for[i] = hook_fns[i];
    }
    if (lf_patch_copy(path, fns, sizes, hooks_for, NHOOKS, tramp, &why) != 0) {
        refuse(path, why ? why : "its entries could not be patched");
        return;
    }
    /* The copy: its hooked functions are now the trampolines (the originals' relocated first
    ** instructions); the helpers, never patched, are called where they are. It is complete before
    ** the image is registered as its caller. */
    uint64_t hat[NHELPERS];
    int hexp[NHELPERS];
    if (lf_macho_defined(m, helper_names, NHELPERS, hat, hexp, &why) < 0)
        for (int i = 0; i < NHELPERS; i++)
            hat[i] = 0;
    struct lf_copy c;
    memset(&c, 0, sizeof c);
    int k = 0;
#define LF_TAKE_X(ret, name, params, on_missing, ...) memcpy(&c.name, &tramp[k++], sizeof(void *));
    LF_HOOKS(LF_TAKE_X)
#undef LF_TAKE_X
    k = 0;
#define LF_TAKE_H(ret, name, params)                                                               \
    if (hat[k] != 0) {                                                                             \
        void *p = (void *)(uintptr_t)(hat[k] + (uint64_t)slide);                                   \
        memcpy(&c.name, &p, sizeof p);                                                             \
    }                                                                                              \
    k++;
    LF_HELPERS(LF_TAKE_H)
#undef LF_TAKE_H
    c.passthrough = c.sqlite3_stmt_busy == NULL || c.sqlite3_db_handle == NULL ||
                    c.sqlite3_get_autocommit == NULL || lf_disabled;
    lf_copy_stand_ins(&c);
    c.base = (uintptr_t)mh;
    c.path = path;
    pthread_mutex_lock(&image_lock);
    int copy = copy_index((uintptr_t)mh);
    unsigned n = atomic_load(&nimages);
    if (copy >= 0 && n < LF_MAX_IMAGES) {
        copies[copy].c = c;
        atomic_store_explicit(&copies[copy].state, 1, memory_order_release);
        images[n] =
            (struct dy_image){.lo = (uintptr_t)mh, .len = (uintptr_t)text_size(m), .copy = copy};
        atomic_store_explicit(&nimages, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&image_lock);
    lf_log("compiled-in image=%s: %d SQLite entries patched", path, NHOOKS);
}

/* At exit, when no SQLite call came through: the compiled-in copies that were refused. */
void lf_report_unreachable(void)
{
    int n = atomic_load(&nrefused);
    for (int i = 0; i < n && i < LF_MAX_REFUSED; i++)
        lf_log("unreachable image=%s: no SQLite call reached lockfix (see the line logged when "
               "it was loaded)",
               refused[i]);
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

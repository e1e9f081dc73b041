/*
** Reaching a SQLite compiled into the program (static.c, symtab.c): internal interfaces.
*/
#ifndef LOCKFIX_STATIC_H
#define LOCKFIX_STATIC_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Code that runs once in every process, at start or at exit: kept together in .text.startup
** (where the compiler puts constructors), so that it touches as few pages as possible. A page of
** code touched is a page fault, about 5 us on the virtual machines measured (docs/benchmarks.md),
** and a process that never uses SQLite pays it. */
#ifdef __APPLE__
#define LF_ONCE /* Mach-O names sections "segment,section": the grouping is Linux's */
#else
#define LF_ONCE __attribute__((section(".text.startup")))
#endif

/* The few system calls made at start in every process, through the one libc function syscall():
** each distinct libc wrapper is code on another page of libc, faulted in on first use. */
#ifndef __APPLE__ /* (static.c and its helpers are Linux's; exports.c reads LF_ONCE only) */
#include <sys/syscall.h>
#include <unistd.h>
#define lf_sys_stat(path, st) syscall(SYS_newfstatat, AT_FDCWD, (path), (st), 0)
#define lf_sys_lstat(path, st) syscall(SYS_newfstatat, AT_FDCWD, (path), (st), AT_SYMLINK_NOFOLLOW)
#define lf_sys_open(path, flags) ((int)syscall(SYS_openat, AT_FDCWD, (path), (flags), 0))
#define lf_sys_read(fd, buf, n) syscall(SYS_read, (fd), (buf), (n))
#define lf_sys_pread(fd, buf, n, off) syscall(SYS_pread64, (fd), (buf), (n), (off))
#define lf_sys_close(fd) syscall(SYS_close, (fd))
#define lf_sys_mprotect(p, n, prot) syscall(SYS_mprotect, (p), (n), (prot))
#endif

/* symtab.c: one function looked up by name in an object's .symtab */
struct lf_symtab_want {
    const char *name;
    int found;
    int global;      /* defined with default or protected visibility (may be exported) */
    uintptr_t value; /* st_value: the address relative to the object's load base */
    size_t size;     /* st_size */
};
/* Find the wanted function definitions in the .symtab of the ELF file open as fd; returns how
** many were found (0: no .symtab, or none of them), -1 if it is not an ELF file of this class. */
int lf_symtab_find(int fd, struct lf_symtab_want *want, size_t nwant);
/* The same in .dynsym: a definition found there is exported, served by the dynamic path. */
int lf_dynsym_find(int fd, struct lf_symtab_want *want, size_t nwant);
/* Whether the file has a .symtab, and where its .rodata is (address relative to the load base). */
int lf_symtab_layout(int fd, int *has_symtab, uint64_t *rodata_addr, uint64_t *rodata_size);

/* What an object holds (static.c), as remembered across processes (objcache.c). */
#define LF_OBJ_MAX_NAMES 48
enum lf_obj_kind {
    LF_OBJ_NONE,        /* no SQLite */
    LF_OBJ_COPY,        /* a compiled-in copy with its functions named in .symtab */
    LF_OBJ_EXPORTED,    /* a copy that exports its functions: the dynamic path serves it */
    LF_OBJ_UNREACHABLE, /* SQLite without names */
};
struct lf_obj_verdict {
    int32_t kind;
    int32_t has_symtab;
    int32_t patched_whole; /* LF_OBJ_COPY: every hooked function was patched in an earlier
                           ** process: a later one patches the opens at load, the rest at the
                           ** first open (static.c) */
    int32_t reserved_;
    char version[24];
    struct {
        uint64_t value, size; /* st_value (relative to the load base), st_size */
        int32_t found, global;
    } sym[LF_OBJ_MAX_NAMES]; /* in the order of static.c's names[] */
};
struct stat;
/* 1 and *v filled when the cache holds the answer for the file `obj` describes. */
int lf_objcache_get(const struct stat *obj, uint32_t names_hash, struct lf_obj_verdict *v);
void lf_objcache_put(const struct stat *obj, uint32_t names_hash, const struct lf_obj_verdict *v);
/* At the end of a scan: the new records written, the cache's files closed. */
void lf_objcache_done(void);

/* resolve.c: make every call from [lo, hi) reach `proto` (a copy found in that object), as a
** copy found through the dynamic linker is reached. Returns the registered copy, or NULL when the
** tables are full. */
struct lf_copy;
const struct lf_copy *lf_copy_register_static(const struct lf_copy *proto, const uintptr_t *lo,
                                              const uintptr_t *hi, int nranges);

/* resolve.c, for a copy registered pending (static.c's first open): slot `i` of struct lf_copy
** now holds fn; then settled, patched whole (refused = 0) or passed through (refused = 1). */
void lf_copy_static_slot(const struct lf_copy *c, int i, void *fn);
void lf_copy_static_settle(const struct lf_copy *c, int refused);
/* static.c: patch the rest of a pending copy (c->pending), or pass it through if that is refused.
** Called by a hook reached through one of its opens, before it does anything else. */
void lf_static_complete(const struct lf_copy *c);

/* unreachable.c: SQLite code in a loaded object, found by its strings (the object's mapped
** .rodata at [p, p + n)); writes its version guess into version (cap bytes; "" if none). */
int lf_rodata_has_sqlite(const void *p, size_t n, char *version, size_t cap);
/* The one "unreachable" line for an object holding SQLite that lockfix cannot patch. */
void lf_report_unreachable_object(const char *object, const char *version, const char *why);
/* Objects already reported at start-up or load (the exit-time check skips them). */
extern int lf_unreachable_reported;

#pragma GCC visibility pop

#endif

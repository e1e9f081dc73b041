/*
** The memory primitives of the entry patcher (patch.c), one implementation per system:
** patch_linux.c (mprotect, /proc/self/mem) and patch_darwin.c (MAP_JIT, mach_vm_protect with
** VM_PROT_COPY). patch.c, the part every system shares, decides what to write and where; these
** only map trampoline memory and write code.
*/
#ifndef LOCKFIX_PATCH_OS_H
#define LOCKFIX_PATCH_OS_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* `size` bytes of memory for trampolines (executable once written through
** lf_patch_os_write_tramp) exactly at `want`, or NULL: never over an existing mapping. */
void *lf_patch_os_map_at(uint64_t want, size_t size);

/* The same, anywhere, or NULL. */
void *lf_patch_os_map_any(size_t size);

/* What makes a run of trampoline writes cheaper than one each (Linux: one descriptor of
** /proc/self/mem), for lf_patch_prepare_all: a session to pass to lf_patch_os_write_tramp until
** lf_patch_os_tramp_end, or -1 when there is nothing to share (then each write is on its own). */
int lf_patch_os_tramp_begin(void);
void lf_patch_os_tramp_end(int session);

/* Write len bytes at dst in a slot just taken from lf_patch_os_map_* memory (no thread runs it
** yet; other trampolines in the same page may be running meanwhile); the instruction cache is
** made to see them. session: from lf_patch_os_tramp_begin, or -1. 0, or -1 with the reason. */
int lf_patch_os_write_tramp(int session, void *dst, const void *src, size_t len, char *why,
                            size_t cap);

/* Write len bytes of a program's code at dst (refused if len is 0 or more than a page: a write
** then touches exactly one or two pages), and give its pages their protection back; the
** instruction cache is made to see them. 0, or -1 with the reason (nothing written). */
int lf_patch_os_write_code(void *dst, const void *src, size_t len, char *why, size_t cap);

/* One write of lf_patch_os_write_codes. */
struct lf_patch_os_code {
    void *dst;
    const void *src;
    size_t len;
};

/* The most writes one lf_patch_os_write_codes call takes. */
#define LF_PATCH_OS_CODES_MAX 64

/* w[0..n) (n <= LF_PATCH_OS_CODES_MAX) written as by lf_patch_os_write_code, in order, but
** cheaper together where the system allows it (Linux: one read of the memory map for all, and one
** mprotect span when all lie in one mapping). *done: how many were written, the first ones, all
** of them on success. 0, or -1 with the reason of the one refused. */
int lf_patch_os_write_codes(const struct lf_patch_os_code *w, size_t n, size_t *done, char *why,
                            size_t cap);

#pragma GCC visibility pop

#endif

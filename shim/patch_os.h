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

/* Write len bytes at dst in memory from lf_patch_os_map_*; the instruction cache is made to see
** them. Other trampolines in the same page may be running meanwhile. 0, or -1 with the reason. */
int lf_patch_os_write_tramp(void *dst, const void *src, size_t len, char *why, size_t cap);

/* Write len (<= 256) bytes of a program's code at dst, and give its pages their protection back;
** the instruction cache is made to see them. 0, or -1 with the reason (nothing written). */
int lf_patch_os_write_code(void *dst, const void *src, size_t len, char *why, size_t cap);

#pragma GCC visibility pop

#endif

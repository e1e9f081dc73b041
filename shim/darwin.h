/*
** What darwin.c and the entry patcher of issue 12 (shim/patch.h) say to each other on macOS.
** patch.c's memory layer is Linux's and is not built on macOS yet: lf_patch_copy is the one call
** darwin.c makes, defined weakly in darwin.c to refuse, so that a macOS port's definition (over
** lf_patch_prepare/lf_patch_apply) replaces it at link time; the lf_darwin_* functions are the
** macOS ways to write code that such a port needs.
*/
#ifndef LOCKFIX_DARWIN_H
#define LOCKFIX_DARWIN_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Patch the entries fns[0..n) of one compiled-in copy in `image` to jump to hooks_for[i], all or
** none; trampolines[i] then calls the original function. 0, or -1 with *why (nothing changed). */
int lf_patch_copy(const char *image, void *const fns[], void *const hooks_for[], int n,
                  void *trampolines[], const char **why);

/* Write `len` bytes of code at `at` in a mapped image: the page becomes a private, writable copy
** (VM_PROT_COPY), then read+execute again; the instruction cache is flushed. 0, or -1 + *why. */
int lf_darwin_write_code(void *at, const void *bytes, size_t len, const char **why);

/* Executable memory for trampolines (MAP_JIT), or NULL; written only with lf_darwin_code_write. */
void *lf_darwin_code_alloc(size_t len);
void lf_darwin_code_write(void *dst, const void *src, size_t len);

#pragma GCC visibility pop

#endif

/*
** What darwin.c and the entry patcher of issue 12 (shim/patch.h) say to each other on macOS:
** lf_patch_copy, defined in patch_darwin.c over patch.c's lf_patch_prepare/lf_patch_apply and
** macOS's memory primitives (MAP_JIT trampolines, code pages written as private copies).
*/
#ifndef LOCKFIX_DARWIN_H
#define LOCKFIX_DARWIN_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Patch the entries fns[0..n) of one compiled-in copy in `image` to jump to hooks_for[i], all or
** none; trampolines[i] then calls the original function. sizes[i] is the function's size in bytes
** (lf_macho_function_size), 0 if unknown. 0, or -1 with *why (nothing changed). */
int lf_patch_copy(const char *image, void *const fns[], const size_t sizes[],
                  void *const hooks_for[], int n, void *trampolines[], const char **why);

#pragma GCC visibility pop

#endif

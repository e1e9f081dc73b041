/*
** What differs between systems (platform.c on Linux, darwin.c on macOS): whether the
** environment may be trusted and whether WAL is safe where a database lives, at open; whether
** the process has one thread, per write (stmt.c).
*/
#ifndef LOCKFIX_PLATFORM_H
#define LOCKFIX_PLATFORM_H

#include <stddef.h>

#if defined(__linux__)
/* glibc 2.32 and later: true while the process has a single thread (set false by the first
** pthread_create). Weak: NULL in a C library without it (musl), which then counts as threaded. */
extern char __libc_single_threaded __attribute__((weak, visibility("default")));
/* No other thread exists now: nothing can use a connection between two of this thread's calls. */
static inline int lf_single_threaded(void)
{
    return &__libc_single_threaded != NULL && __libc_single_threaded;
}
#else
static inline int lf_single_threaded(void)
{
    return 0;
}
#endif

#pragma GCC visibility push(hidden)

int lf_secure_exec(void); /* set-uid/set-gid/capabilities: ignore the environment */
/* Why WAL is unsafe on the filesystem holding `path`, or NULL if it is fine. */
const char *lf_fs_wal_unsafe(const char *path, char *fsname, size_t cap);

#pragma GCC visibility pop

#endif

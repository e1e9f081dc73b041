/*
** What differs between systems at open (platform.c on Linux, darwin.c on macOS): whether the
** environment may be trusted, and whether WAL is safe where a database lives.
*/
#ifndef LOCKFIX_PLATFORM_H
#define LOCKFIX_PLATFORM_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

int lf_secure_exec(void); /* set-uid/set-gid/capabilities: ignore the environment */
/* Why WAL is unsafe on the filesystem holding `path`, or NULL if it is fine. */
const char *lf_fs_wal_unsafe(const char *path, char *fsname, size_t cap);

#pragma GCC visibility pop

#endif

/*
** Platform services on Linux: the set-uid check and the filesystem test for WAL. Their macOS
** counterparts are in darwin.c; the Makefile builds one or the other (time is in clock.c).
*/
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include <sys/auxv.h>
#include <sys/vfs.h>

#include "platform.h"
#include "fs_list.h"

int lf_secure_exec(void)
{
    return getauxval(AT_SECURE) != 0;
}

/* Filesystems on which SQLite's WAL is unsafe (fs_list.h). */
static const struct {
    unsigned long magic;
    const char *name, *reason;
} unsafe_fs[] = {
#define LF_FS_ROW(magic, name, reason) {magic, name, reason},
    LF_WAL_UNSAFE_FS(LF_FS_ROW)
#undef LF_FS_ROW
};

const char *lf_fs_wal_unsafe(const char *path, char *fsname, size_t cap)
{
    if (cap > 0)
        fsname[0] = '\0';
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof unsafe_fs / sizeof unsafe_fs[0]; i++) {
        if ((unsigned long)sf.f_type == unsafe_fs[i].magic) {
            strncpy(fsname, unsafe_fs[i].name, cap - 1);
            fsname[cap - 1] = '\0';
            return unsafe_fs[i].reason;
        }
    }
    return NULL;
}

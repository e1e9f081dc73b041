/*
** Platform services on Linux: the set-uid check and the filesystem test for WAL. Their macOS
** counterparts are in darwin.c; the Makefile builds one or the other (time is in clock.c).
*/
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include <sys/auxv.h>
#include <sys/vfs.h>

#include "lockfix.h"

int lf_secure_exec(void)
{
    return getauxval(AT_SECURE) != 0;
}

/* Filesystems on which SQLite's WAL is unsafe: its shared-memory index (the -shm file, mapped
** with mmap) and its locks are not coherent between hosts, or not implemented reliably. */
static const struct {
    unsigned long magic;
    const char *name;
} unsafe_fs[] = {
    {0x6969, "nfs"},           {0x517B, "smb"},        {0xFF534D42, "cifs"},
    {0xFE534D42, "smb2"},      {0x5346414F, "afs"},    {0x73757245, "coda"},
    {0x01021997, "9p"},        {0x00C36400, "ceph"},   {0x01161970, "gfs2"},
    {0x7461636F, "ocfs2"},     {0x0BD00BD0, "lustre"}, {0x786F4256, "vboxsf"},
    {0x65735546, "fuse"},      {0x6B414653, "kafs"},   {0x47504653, "gpfs"},
    {0x19830326, "fhgfs"},     {0xAAD7AAEA, "panfs"},  {0x013111A8, "ibrix"},
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
            /* FUSE may be local, but its mmap and locking depend on the daemon behind it */
            return unsafe_fs[i].magic == 0x65735546 ? "fuse-fs" : "network-fs";
        }
    }
    return NULL;
}

/*
** What differs between Linux and macOS for the command: the preload variable, the library's file
** name, how to find our own executable, and filesystem types. Everything else is POSIX.
** The macOS branch compiles on Darwin but is not exercised by this project's CI.
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/types.h>
#else
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#endif

#include "../shim/fs_list.h"
#include "lockfix.h"

#ifdef __APPLE__
const char *const PRELOAD_VAR = "DYLD_INSERT_LIBRARIES";
const char *const SHIM_FILE = "liblockfix.dylib";
const int HAVE_STANDIN = 0;
#else
const char *const PRELOAD_VAR = "LD_PRELOAD";
const char *const SHIM_FILE = "liblockfix.so";
const int HAVE_STANDIN = 1;
#endif

/* ld.so splits LD_PRELOAD at spaces and colons, dyld splits DYLD_INSERT_LIBRARIES at colons. */
int preload_separator(char c)
{
#ifdef __APPLE__
    return c == ':';
#else
    return c == ':' || c == ' ';
#endif
}

/* pipe2(O_CLOEXEC) where it exists; elsewhere pipe and fcntl (no threads here: no race). */
int cloexec_pipe(int fds[2])
{
#ifdef __APPLE__
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#else
    return pipe2(fds, O_CLOEXEC);
#endif
}

/* major()/minor() live in <sys/sysmacros.h> on glibc and <sys/types.h> on macOS. */
unsigned dev_major(dev_t dev)
{
    return (unsigned)major(dev);
}

/* See dev_major. */
unsigned dev_minor(dev_t dev)
{
    return (unsigned)minor(dev);
}

/* The command finds the library relative to itself, so it needs its own real path (argv[0] may
** be a bare name found on PATH, or a symlink in /usr/local/bin). */
char *self_exe(char *buf, size_t cap)
{
#ifdef __APPLE__
    char raw[4096];
    uint32_t size = sizeof raw;
    if (_NSGetExecutablePath(raw, &size) != 0)
        return NULL;
    char real[PATH_MAX];
    if (realpath(raw, real) == NULL)
        return NULL;
    if (strlen(real) >= cap)
        return NULL;
    strcpy(buf, real);
    return buf;
#else
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return buf;
#endif
}

#ifndef __APPLE__
/* statfs magic numbers: the ones where WAL is unsafe (the shim's list, shim/fs_list.h) and
** common local ones, so the report can name them. */
static const struct {
    unsigned long magic;
    const char *name;
    int wal_unsafe;
} filesystems[] = {
#define FS_UNSAFE(magic, name, reason) {magic, name, 1},
    LF_WAL_UNSAFE_FS(FS_UNSAFE)
#undef FS_UNSAFE
    {0xEF53, "ext2/3/4", 0},     {0x58465342, "xfs", 0},      {0x9123683E, "btrfs", 0},
    {0x01021994, "tmpfs", 0},    {0x794C7630, "overlayfs", 0}, {0x2FC12FC1, "zfs", 0},
    {0xF2F52010, "f2fs", 0},     {0x2011BAB0, "exfat", 0},    {0x4D44, "vfat", 0},
    {0x5346544E, "ntfs", 0},     {0x3153464A, "jfs", 0},      {0x52654973, "reiserfs", 0},
    {0xF15F, "ecryptfs", 0},     {0x73717368, "squashfs", 0}, {0x858458F6, "ramfs", 0},
    {0x62656572, "sysfs", 0},    {0x9FA0, "proc", 0},         {0x4244, "hfs", 0},
    {0xCA451A4E, "bcachefs", 0}, {0x24051905, "ubifs", 0},
};
#endif

/* Name the filesystem for the report and say whether WAL is safe on it. */
int fs_type(const char *path, char *name, size_t cap, unsigned long *magic, int *wal_unsafe)
{
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return -1;
    *wal_unsafe = 0;
#ifdef __APPLE__
    *magic = 0;
    snprintf(name, cap, "%s", sf.f_fstypename);
#define FS_NAME(name, reason) name,
    static const char *unsafe[] = {LF_WAL_UNSAFE_FS_DARWIN(FS_NAME)};
#undef FS_NAME
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
        if (strncmp(sf.f_fstypename, unsafe[i], strlen(unsafe[i])) == 0)
            *wal_unsafe = 1;
#else
    *magic = (unsigned long)sf.f_type & 0xFFFFFFFFUL;
    snprintf(name, cap, "unknown (0x%lx)", *magic);
    for (size_t i = 0; i < sizeof filesystems / sizeof filesystems[0]; i++) {
        if (*magic == filesystems[i].magic) {
            snprintf(name, cap, "%s", filesystems[i].name);
            *wal_unsafe = filesystems[i].wal_unsafe;
            break;
        }
    }
#endif
    return 0;
}

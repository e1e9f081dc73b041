/*
** What static.c found in a large object, remembered across processes.
**
** Every process lockfix is loaded into examines its objects for SQLite. The search for sqlite3_*
** names in Node 26's 19 MB string table takes ~10 ms, looking for SQLite's strings in python3's
** 2 MB .rodata ~0.5 ms, and even a small object costs an open and a close of its file (~15 us
** here: closing a mapped executable is slow); wrapped around a process tree, that is paid
** thousands of times. So the answer for each object is kept in a small file, keyed by what
** identifies the file's contents (device, inode, size, modification and status-change times:
** any write or replacement changes one of them), and the next process that loads the object
** stats it and reads its record instead of searching. A record for an object without SQLite
** is 88 bytes (the symbol entries are written only for a copy).
**
** Where: $XDG_CACHE_HOME/lockfix, else $HOME/.cache/lockfix, a directory of the user's own
** (mode 0700, owned by the effective user, or it is not used). Nothing is cached in set-uid
** programs (their environment is not theirs). A file that cannot be written, read, or does not
** match is ignored: the object is examined as if there were no cache. Files are written whole
** under a temporary name and renamed, so a reader never sees half of one.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfix.h"
#include "static.h"

#define MAGIC 0x31434f464cULL /* "LFOC1" */

struct record {
    uint64_t magic;
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    uint32_t names_hash; /* the list of names the entries belong to (a new lockfix may differ) */
    uint32_t pad;
    struct lf_obj_verdict v;
};

/* a record without the symbol entries (an object holding no copy) */
static const size_t short_len = offsetof(struct record, v) + offsetof(struct lf_obj_verdict, sym);

static char dir[LF_PATH_MAX];
static int dir_state; /* 0: not looked for yet, 1: usable, -1: none */

/* The cache directory, created on first use; 1 if usable. */
LF_ONCE static int cache_dir(void)
{
    if (dir_state != 0)
        return dir_state > 0;
    dir_state = -1;
    if (lf_secure_exec())
        return 0;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    const char *base = xdg != NULL && xdg[0] == '/' ? xdg : home;
    const char *tail = base == xdg ? "/lockfix" : "/.cache/lockfix";
    if (base == NULL || base[0] != '/' || strlen(base) + strlen(tail) + 64 > sizeof dir)
        return 0;
    char parent[LF_PATH_MAX];
    strcpy(dir, base);
    strcat(dir, tail);
    strcpy(parent, dir);
    *strrchr(parent, '/') = '\0';
    struct stat st;
    if (lf_sys_lstat(dir, &st) != 0) {
        (void)mkdir(parent, 0700); /* XDG: created 0700 when missing */
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return 0;
        if (lf_sys_lstat(dir, &st) != 0)
            return 0;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != (uid_t)syscall(SYS_geteuid) ||
        (st.st_mode & 022) != 0)
        return 0;
    dir_state = 1;
    return 1;
}

/* dir/obj-DEV-INO (hex), built without stdio: this runs in every process. */
LF_ONCE static void file_name(char *out, size_t cap, const struct stat *obj)
{
    size_t n = strlen(dir);
    if (n + 48 > cap) {
        out[0] = '\0';
        return;
    }
    memcpy(out, dir, n);
    memcpy(out + n, "/obj-", 5);
    n += 5;
    unsigned long long part[2] = {(unsigned long long)obj->st_dev,
                                  (unsigned long long)obj->st_ino};
    for (int k = 0; k < 2; k++) {
        int digits = 1;
        while (digits < 16 && (part[k] >> (4 * digits)) != 0)
            digits++;
        for (int d = digits - 1; d >= 0; d--)
            out[n++] = "0123456789abcdef"[(part[k] >> (4 * d)) & 15];
        out[n++] = k == 0 ? '-' : '\0';
    }
}

LF_ONCE static void fill_key(struct record *r, const struct stat *obj, uint32_t names_hash)
{
    memset(r, 0, sizeof *r);
    r->magic = MAGIC;
    r->dev = (uint64_t)obj->st_dev;
    r->ino = (uint64_t)obj->st_ino;
    r->size = (uint64_t)obj->st_size;
    r->mtime_s = (int64_t)obj->st_mtim.tv_sec;
    r->mtime_ns = (int64_t)obj->st_mtim.tv_nsec;
    r->ctime_s = (int64_t)obj->st_ctim.tv_sec;
    r->ctime_ns = (int64_t)obj->st_ctim.tv_nsec;
    r->names_hash = names_hash;
}

LF_ONCE int lf_objcache_get(const struct stat *obj, uint32_t names_hash, struct lf_obj_verdict *v)
{
    if (!cache_dir())
        return 0;
    char path[LF_PATH_MAX];
    file_name(path, sizeof path, obj);
    if (path[0] == '\0')
        return 0;
    /* the directory is the user's own and 0700: no one else can have put a file there */
    int fd = lf_sys_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    struct record r, want;
    ssize_t n = lf_sys_read(fd, &r, sizeof r);
    lf_sys_close(fd);
    fill_key(&want, obj, names_hash);
    if (n < (ssize_t)short_len || memcmp(&r, &want, offsetof(struct record, v)) != 0)
        return 0;
    if (r.v.kind == LF_OBJ_COPY && n != (ssize_t)sizeof r)
        return 0;
    if (r.v.kind != LF_OBJ_COPY)
        memset(r.v.sym, 0, sizeof r.v.sym);
    *v = r.v;
    v->version[sizeof v->version - 1] = '\0';
    return 1;
}

void lf_objcache_put(const struct stat *obj, uint32_t names_hash, const struct lf_obj_verdict *v)
{
    if (!cache_dir())
        return;
    char path[LF_PATH_MAX], tmp[LF_PATH_MAX + 32];
    file_name(path, sizeof path, obj);
    if (path[0] == '\0')
        return;
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    struct record r;
    fill_key(&r, obj, names_hash);
    r.v = *v;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    size_t len = v->kind == LF_OBJ_COPY ? sizeof r : short_len;
    int ok = write(fd, &r, len) == (ssize_t)len;
    close(fd);
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

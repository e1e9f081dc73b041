/*
** What static.c found in each loaded object, remembered across processes.
**
** Every process lockfix is loaded into examines its objects for SQLite. The search for sqlite3_*
** names in Node 26's 19 MB string table takes ~10 ms, looking for SQLite's strings in python3's
** 2 MB .rodata ~0.5 ms, and even a small object costs an open and a close of its file (~15 us
** here: closing a mapped executable is slow); wrapped around a process tree, that is paid
** thousands of times. So the answer for each object is remembered, keyed by what identifies the
** file's contents (device, inode, size, modification and status-change times: any write or
** replacement changes one of them), and the next process that loads the object stats it and
** reads its record instead of searching. A record is used only when all of that key matches.
**
** Two kinds of files, in $XDG_CACHE_HOME/lockfix, else $HOME/.cache/lockfix, a directory of the
** user's own (mode 0700, owned by the effective user, or it is not used):
**
**   index        the verdicts of objects without a patchable copy (no SQLite, an exported one,
**                one without names): the common case, every libc and libm. One file for all
**                objects, a hash table of INDEX_SLOTS fixed-size records by device and inode: a
**                process opens it once per scan and reads each object's few candidate records
**                with one pread (it opened, read and closed one file per object before: three
**                system calls instead of one, per object, in every process).
**   obj-DEV-INO  an object holding a copy: its verdict with the offsets of its functions
**                (1.2 KB), one file each (few objects have one).
**
** Nothing is cached in set-uid programs (their environment is not theirs). A file that cannot be
** written, read, or does not match is ignored: the object is examined as if there were no cache.
** Files are written whole under a temporary name and renamed, so a reader never sees half of one;
** a process holding the index open reads the version it opened. Two processes adding to the index
** at once both write whole files: the later rename wins and the other's new records are lost (they
** are found again by the next process that misses them), never mixed.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "static.h"
#include "base.h"
#include "platform.h"

#define MAGIC 0x31434f464cULL /* "LFOC1" */

/* What identifies an object file's contents (in both kinds of files). */
struct key {
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

_Static_assert(sizeof(struct key) == 56, "the records' layout is the same in every build");

struct record {
    uint64_t magic;
    struct key key;
    uint32_t names_hash; /* the list of names the entries belong to (a new lockfix may differ) */
    uint32_t pad;
    struct lf_obj_verdict v;
};

/* a record without the symbol entries (an object holding no copy) */
static const size_t short_len = offsetof(struct record, v) + offsetof(struct lf_obj_verdict, sym);

LF_START_DATA static char dir[LF_PATH_MAX];
LF_START_DATA static int dir_state; /* 0: not looked for yet, 1: usable, -1: none */

/* The value of environment variable `name` (given with its '='), in one pass over environ
** compared by hand: getenv and the string functions called only here would each be a lazy
** binding and a page of libc's code faulted in, in every process. */
LF_ONCE static const char *env_value(const char *name_eq)
{
    extern char **environ;
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        size_t k = 0;
        while (name_eq[k] != '\0' && (*e)[k] == name_eq[k])
            k++;
        if (name_eq[k] == '\0')
            return *e + k;
    }
    return NULL;
}

/* The cache directory, created on first use; 1 if usable. */
LF_ONCE static int cache_dir(void)
{
    if (dir_state != 0)
        return dir_state > 0;
    dir_state = -1;
    if (lf_secure_exec())
        return 0;
    const char *xdg = env_value("XDG_CACHE_HOME="), *home = env_value("HOME=");
    const char *base = xdg != NULL && xdg[0] == '/' ? xdg : home;
    const char *tail = base == xdg ? "/lockfix" : "/.cache/lockfix";
    if (base == NULL || base[0] != '/')
        return 0;
    size_t n = 0, slash = 0;
    for (const char *p = base; *p != '\0'; p++) {
        if (n + 64 >= sizeof dir)
            return 0;
        dir[n++] = *p;
    }
    for (const char *p = tail; *p != '\0'; p++) {
        if (*p == '/')
            slash = n; /* where the parent's name ends */
        dir[n++] = *p;
    }
    dir[n] = '\0';
    struct stat st;
    if (lf_sys_lstat(dir, &st) != 0) {
        char parent[LF_PATH_MAX];
        memcpy(parent, dir, slash);
        parent[slash] = '\0';
        (void)mkdir(parent, 0700); /* XDG: created 0700 when missing */
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return 0;
        if (lf_sys_lstat(dir, &st) != 0)
            return 0;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != (uid_t)getauxval(AT_EUID) ||
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

LF_ONCE static void key_of(struct key *k, const struct stat *obj)
{
    k->dev = (uint64_t)obj->st_dev;
    k->ino = (uint64_t)obj->st_ino;
    k->size = (uint64_t)obj->st_size;
    k->mtime_s = (int64_t)obj->st_mtim.tv_sec;
    k->mtime_ns = (int64_t)obj->st_mtim.tv_nsec;
    k->ctime_s = (int64_t)obj->st_ctim.tv_sec;
    k->ctime_ns = (int64_t)obj->st_ctim.tv_nsec;
}

LF_ONCE static void fill_key(struct record *r, const struct stat *obj, uint32_t names_hash)
{
    memset(r, 0, sizeof *r);
    r->magic = MAGIC;
    key_of(&r->key, obj);
    r->names_hash = names_hash;
}

/* The object's own file (a copy and its offsets). */
static int obj_file_get(const struct stat *obj, uint32_t names_hash, struct lf_obj_verdict *v)
{
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

static void obj_file_put(const struct stat *obj, uint32_t names_hash, const struct lf_obj_verdict *v)
{
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

/* ---- the index: one file for the verdicts of objects without a copy --------------------------- */

#define INDEX_MAGIC 0x31584449464cULL /* "LFIDX1" */
#define INDEX_SLOTS 1024u            /* home slots; a record lives in one of PROBE from its home */
#define PROBE 4u
#define INDEX_FILE_SLOTS (INDEX_SLOTS + PROBE - 1)

struct slot {
    struct key key;
    uint32_t names_hash;
    int32_t kind, has_symtab;
    uint32_t pad;
    char version[24];
    uint64_t check; /* slot_check() of the bytes before it: 0 bytes, another layout, no match */
};
struct index_header {
    uint64_t magic;
    uint32_t slots, slot_size; /* INDEX_SLOTS, sizeof(struct slot) */
    uint64_t pad[2];
};
_Static_assert(sizeof(struct slot) == 104 && sizeof(struct index_header) == 32,
               "the index's layout is the same in every build");
#define SLOT_OFF(i) ((off_t)sizeof(struct index_header) + (off_t)(i) * (off_t)sizeof(struct slot))
#define INDEX_BYTES ((size_t)SLOT_OFF(INDEX_FILE_SLOTS))

LF_ONCE static uint64_t slot_check(const struct slot *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 14695981039346656037ULL ^ INDEX_MAGIC;
    for (size_t i = 0; i < offsetof(struct slot, check); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h | 1; /* never 0, the check of an empty slot */
}

LF_ONCE static uint32_t slot_home(const struct stat *obj)
{
    uint64_t k = ((uint64_t)obj->st_dev * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)obj->st_ino;
    k *= 0xff51afd7ed558ccdULL;
    return (uint32_t)((k >> 32) % INDEX_SLOTS);
}

LF_ONCE static void slot_fill(struct slot *s, const struct stat *obj, uint32_t names_hash,
                              const struct lf_obj_verdict *v)
{
    memset(s, 0, sizeof *s);
    key_of(&s->key, obj);
    s->names_hash = names_hash;
    if (v != NULL) {
        s->kind = v->kind;
        s->has_symtab = v->has_symtab;
        memcpy(s->version, v->version, sizeof s->version);
        s->version[sizeof s->version - 1] = '\0';
        s->check = slot_check(s);
    }
}

/* Whether s is a valid record of the object (key and names) that `want` describes. */
LF_ONCE static int slot_matches(const struct slot *s, const struct slot *want)
{
    return memcmp(s, want, offsetof(struct slot, kind)) == 0 && s->check == slot_check(s);
}

LF_START_DATA static int index_fd = -1; /* open during one scan (static.c holds its lock) */
LF_START_DATA static int index_state;    /* 0: not opened in this scan, 1: open, -1: none */
#define MAX_PENDING 64
static struct slot pending[MAX_PENDING]; /* new records, written at the end of the scan */
LF_START_DATA static int npending;

LF_ONCE static int index_path(char *out, size_t cap, const char *tail)
{
    size_t n = strlen(dir), t = strlen(tail);
    if (n + t + 1 > cap)
        return 0;
    memcpy(out, dir, n);
    memcpy(out + n, tail, t + 1);
    return 1;
}

/* The index's record for the object, if it has a valid one. */
LF_ONCE static int index_get(const struct stat *obj, uint32_t names_hash, struct lf_obj_verdict *v)
{
    if (index_state == 0) {
        char path[LF_PATH_MAX];
        index_state = -1;
        if (index_path(path, sizeof path, "/index") &&
            (index_fd = lf_sys_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0)
            index_state = 1;
    }
    if (index_state < 0)
        return 0;
    struct slot want, got[PROBE];
    slot_fill(&want, obj, names_hash, NULL);
    ssize_t n = lf_sys_pread(index_fd, got, sizeof got, SLOT_OFF(slot_home(obj)));
    for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof got[0]; i++) {
        if (!slot_matches(&got[i], &want) || got[i].kind == LF_OBJ_COPY)
            continue;
        memset(v, 0, sizeof *v);
        v->kind = got[i].kind;
        v->has_symtab = got[i].has_symtab;
        memcpy(v->version, got[i].version, sizeof v->version);
        v->version[sizeof v->version - 1] = '\0';
        return 1;
    }
    return 0;
}

/* Put one pending record into the table: over the object's own record (any version of it), else
** into an empty slot of its window, else over one of the window's others. */
static void index_place(struct slot *table, const struct slot *rec, uint32_t home, unsigned salt)
{
    struct slot *win = table + home;
    unsigned at = PROBE;
    for (unsigned i = 0; i < PROBE && at == PROBE; i++)
        if (win[i].key.dev == rec->key.dev && win[i].key.ino == rec->key.ino)
            at = i;
    for (unsigned i = 0; i < PROBE && at == PROBE; i++)
        if (win[i].check != slot_check(&win[i]))
            at = i;
    if (at == PROBE)
        at = salt % PROBE;
    win[at] = *rec;
}

/* Write the pending records: the current index read whole, changed, written under a temporary
** name and renamed over it. */
static void index_flush(void)
{
    if (npending == 0)
        return;
    char path[LF_PATH_MAX], tmp[LF_PATH_MAX + 64];
    unsigned char *file = calloc(1, INDEX_BYTES);
    if (file == NULL || !index_path(path, sizeof path, "/index")) {
        free(file);
        npending = 0;
        return;
    }
    struct index_header *h = (struct index_header *)(void *)file;
    struct slot *table = (struct slot *)(void *)(file + sizeof *h);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        size_t have = 0;
        ssize_t r;
        while (have < INDEX_BYTES && (r = pread(fd, file + have, INDEX_BYTES - have,
                                                (off_t)have)) > 0)
            have += (size_t)r;
        close(fd);
        if (have != INDEX_BYTES || h->magic != INDEX_MAGIC || h->slots != INDEX_SLOTS ||
            h->slot_size != sizeof(struct slot))
            memset(file, 0, INDEX_BYTES); /* another layout, or cut short: start afresh */
    }
    h->magic = INDEX_MAGIC;
    h->slots = INDEX_SLOTS;
    h->slot_size = sizeof(struct slot);
    struct stat key;
    memset(&key, 0, sizeof key);
    for (int i = 0; i < npending; i++) {
        key.st_dev = (dev_t)pending[i].key.dev;
        key.st_ino = (ino_t)pending[i].key.ino;
        index_place(table, &pending[i], slot_home(&key), (unsigned)getpid() + (unsigned)i);
    }
    npending = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    snprintf(tmp, sizeof tmp, "%s.%d.%lx.tmp", path, (int)getpid(), (unsigned long)now.tv_nsec);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        int ok = write(fd, file, INDEX_BYTES) == (ssize_t)INDEX_BYTES;
        ok &= close(fd) == 0;
        if (!ok || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(file);
}

LF_ONCE int lf_objcache_get(const struct stat *obj, uint32_t names_hash, struct lf_obj_verdict *v)
{
    if (!cache_dir())
        return 0;
    if (index_get(obj, names_hash, v))
        return 1;
    if (!obj_file_get(obj, names_hash, v))
        return 0;
    if (v->kind != LF_OBJ_COPY) /* kept in its own file by an older lockfix: into the index */
        lf_objcache_put(obj, names_hash, v);
    return 1;
}

void lf_objcache_put(const struct stat *obj, uint32_t names_hash, const struct lf_obj_verdict *v)
{
    if (!cache_dir())
        return;
    if (v->kind == LF_OBJ_COPY) {
        obj_file_put(obj, names_hash, v);
        return;
    }
    if (npending == MAX_PENDING)
        index_flush();
    slot_fill(&pending[npending++], obj, names_hash, v);
}

LF_ONCE void lf_objcache_done(void)
{
    index_flush();
    if (index_state > 0)
        lf_sys_close(index_fd);
    index_fd = -1;
    index_state = 0;
}

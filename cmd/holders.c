/*
** Who has the database open, and who is inside a transaction.
**
** Open files come from /proc/PID/fd (compared by device and inode, so bind mounts and other
** spellings of the path still match). Locks come from /proc/locks, which lists every POSIX lock
** with its owner; where that is unavailable, F_GETLK on SQLite's lock bytes names one holder of
** each. SQLite's lock layout: in the database file, PENDING at 0x40000000, RESERVED at +1 and the
** 510-byte SHARED range after it; in a WAL database's -shm, byte 120 is the write lock, 121 the
** checkpointer, 122 recovery, 123..127 the read marks and 128 the "dead man switch" every WAL
** connection holds shared.
*/
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"
#include "lockfix.h"
#include "buf.h"
#include "files.h"

#define PENDING_BYTE 0x40000000LL
#define RESERVED_BYTE (PENDING_BYTE + 1)
#define SHARED_FIRST (PENDING_BYTE + 2)
#define SHARED_SIZE 510LL
#define SHM_LOCK_BASE 120LL
#define SHM_WRITE (SHM_LOCK_BASE + 0)
#define SHM_CKPT (SHM_LOCK_BASE + 1)
#define SHM_RECOVER (SHM_LOCK_BASE + 2)
#define SHM_READ0 (SHM_LOCK_BASE + 3)
#define SHM_NREAD 5
#define SHM_DMS (SHM_LOCK_BASE + 8)

/* A process's argv, spaces between, shortened: enough to recognise it in a report. */
static char *cmdline_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    size_t len = 0;
    char *s = read_file_text(path, 4096, &len);
    if (s == NULL)
        return xstrdup("");
    /* NULs separate the arguments; newlines and tabs (python -c scripts) would break lines. */
    for (size_t i = 0; i + 1 < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = ' ';
    if (strlen(s) > 160)
        strcpy(s + 150, " ...");
    return s;
}

/* The holder entry for pid, created on first sight. */
static struct holder *holder_for(struct facts *d, pid_t pid)
{
    for (int i = 0; i < d->nholders; i++)
        if (d->holders[i].pid == pid)
            return &d->holders[i];
    d->holders = xrealloc(d->holders, (size_t)(d->nholders + 1) * sizeof *d->holders);
    struct holder *h = &d->holders[d->nholders++];
    memset(h, 0, sizeof *h);
    h->pid = pid;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    char *comm = read_file_text(path, sizeof h->comm - 1, NULL);
    if (comm) {
        comm[strcspn(comm, "\n")] = '\0';
        snprintf(h->comm, sizeof h->comm, "%s", comm);
        free(comm);
    }
    h->cmdline = cmdline_of(pid);
    return h;
}

/* Which of the database's files (by device and inode) st names. */
static int which_file(const struct facts *d, const struct stat *st)
{
    if (st->st_dev == d->st.st_dev && st->st_ino == d->st.st_ino)
        return F_DB;
    if (d->wal.exists && st->st_dev == d->wal.st.st_dev && st->st_ino == d->wal.st.st_ino)
        return F_WAL;
    if (d->shm.exists && st->st_dev == d->shm.st.st_dev && st->st_ino == d->shm.st.st_ino)
        return F_SHM;
    if (d->journal.exists && st->st_dev == d->journal.st.st_dev &&
        st->st_ino == d->journal.st.st_ino)
        return F_JOURNAL;
    return 0;
}

/* Scan every process's open files for the database and its side files. */
void find_holders(struct facts *d)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL) {
        d->holders_unknown = 1;
        return;
    }
    pid_t self = getpid();
    struct dirent *de;
    while ((de = readdir(proc)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == self)
            continue;
        char fddir[64];
        snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)pid);
        DIR *fds = opendir(fddir);
        if (fds == NULL) {
            if (errno == EACCES)
                d->holders_partial = 1;
            continue;
        }
        struct dirent *fe;
        while ((fe = readdir(fds)) != NULL) {
            if (fe->d_name[0] == '.')
                continue;
            char link[384];
            snprintf(link, sizeof link, "%s/%s", fddir, fe->d_name);
            struct stat st;
            if (stat(link, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            int f = which_file(d, &st);
            if (f)
                holder_for(d, pid)->files |= f;
        }
        closedir(fds);
    }
    closedir(proc);
}

/* Record one lock [start, end] of type write/read on file f for pid. */
static void note_lock(struct facts *d, pid_t pid, int f, int write, long long start, long long end)
{
    struct holder *h = NULL;
    for (int i = 0; i < d->nholders; i++)
        if (d->holders[i].pid == pid)
            h = &d->holders[i];
    if (h == NULL) /* a lock without an open fd we could see: still worth naming */
        h = holder_for(d, pid);
    h->files |= f;
    struct lockstate *l = &h->lk;
#define COVERS(b) (start <= (b) && (b) <= end)
    if (f == F_DB) {
        if (write && COVERS(RESERVED_BYTE))
            l->reserved = 1;
        if (write && COVERS(PENDING_BYTE))
            l->pending = 1;
        if (COVERS(SHARED_FIRST) || COVERS(SHARED_FIRST + SHARED_SIZE - 1)) {
            if (write)
                l->exclusive = 1;
            else
                l->shared = 1;
        }
    } else if (f == F_SHM) {
        if (write && COVERS(SHM_WRITE))
            l->wal_write = 1;
        if (write && COVERS(SHM_CKPT))
            l->wal_ckpt = 1;
        if (write && COVERS(SHM_RECOVER))
            l->wal_recover = 1;
        for (int i = 0; i < SHM_NREAD; i++)
            if (!write && COVERS(SHM_READ0 + i))
                l->wal_readers |= 1 << i;
        if (COVERS(SHM_DMS))
            l->wal_dms = 1;
    }
#undef COVERS
}

/* Parse /proc/locks: "1: POSIX  ADVISORY  WRITE 1287 fe:00:10953898 120 120". Returns the number
** of lines that matched one of our files, or -1 if the file cannot be read. */
static int proc_locks(struct facts *d)
{
    char *text = read_file_text("/proc/locks", 1 << 22, NULL);
    if (text == NULL)
        return -1;
    int matched = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "->") != NULL)
            continue; /* a blocked request, not a held lock */
        char kind[16], mode[16], rw[16], dev[64], s_start[32], s_end[32];
        int pid;
        if (sscanf(line, "%*d: %15s %15s %15s %d %63s %31s %31s", kind, mode, rw, &pid, dev,
                   s_start, s_end) != 7)
            continue;
        if (strcmp(kind, "POSIX") != 0 && strcmp(kind, "OFDLCK") != 0)
            continue;
        unsigned maj, min;
        unsigned long long ino;
        if (sscanf(dev, "%x:%x:%llu", &maj, &min, &ino) != 3)
            continue;
        struct stat probe;
        memset(&probe, 0, sizeof probe);
        int f = 0;
        /* Match the inode, then the device when it agrees; on overlay and some container
        ** filesystems the device numbers differ between stat() and /proc/locks. */
        const struct {
            int f;
            const struct side_file *sf;
        } files[] = {{F_DB, NULL}, {F_SHM, &d->shm}};
        for (size_t i = 0; i < 2 && f == 0; i++) {
            const struct stat *st = files[i].sf ? &files[i].sf->st : &d->st;
            if (files[i].sf && !files[i].sf->exists)
                continue;
            if ((unsigned long long)st->st_ino != ino)
                continue;
            int dev_ok = dev_major(st->st_dev) == maj && dev_minor(st->st_dev) == min;
            int known_pid = 0;
            for (int k = 0; k < d->nholders; k++)
                known_pid |= d->holders[k].pid == pid;
            if (dev_ok || known_pid)
                f = files[i].f;
        }
        if (f == 0 || pid <= 0)
            continue;
        long long start = atoll(s_start);
        long long end = strcmp(s_end, "EOF") == 0 ? (1LL << 62) : atoll(s_end);
        note_lock(d, (pid_t)pid, f, strcmp(rw, "WRITE") == 0, start, end);
        matched++;
    }
    free(text);
    return matched;
}

/* F_GETLK: "would a write lock on [start, start+len) conflict, and with whom?" One holder per
** question, so /proc/locks is preferred; this still names the writer, which is what matters. */
static void probe_range(struct facts *d, int fd, int f, long long start, long long len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
    if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK || fl.l_pid <= 0)
        return;
    note_lock(d, fl.l_pid, f, fl.l_type == F_WRLCK, (long long)fl.l_start,
              fl.l_len == 0 ? (1LL << 62) : (long long)(fl.l_start + fl.l_len - 1));
}

/* Probe the lock bytes of one file. The fd is closed right away: closing any descriptor of a
** file drops this process's POSIX locks on it, so this must run before doctor opens SQLite. */
static void probe_file(struct facts *d, const char *path, int f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return;
    if (f == F_DB) {
        probe_range(d, fd, f, PENDING_BYTE, 1);
        probe_range(d, fd, f, RESERVED_BYTE, 1);
        probe_range(d, fd, f, SHARED_FIRST, SHARED_SIZE);
    } else {
        for (long long b = SHM_WRITE; b <= SHM_DMS; b++)
            probe_range(d, fd, f, b, 1);
    }
    close(fd);
}

/* /proc/locks first (it lists every holder), F_GETLK probes when it has nothing for us. */
void read_locks(struct facts *d)
{
    int n = proc_locks(d);
    d->locks_source = n >= 0 ? 1 : 2;
    if (n > 0)
        return;
    /* Nothing matched in /proc/locks (or it is missing): ask the kernel directly. */
    probe_file(d, d->db, F_DB);
    if (d->shm.exists) {
        char *shm = xasprintf("%s-shm", d->db);
        probe_file(d, shm, F_SHM);
        free(shm);
    }
}

/* The strongest lock wins: a writer that also reads is reported as a writer. */
const char *holder_state(const struct holder *h, int wal, char *buf, size_t cap)
{
    const struct lockstate *l = &h->lk;
    buf[0] = '\0';
    if (l->exclusive)
        snprintf(buf, cap, "holds EXCLUSIVE: writing the database file (committing)");
    else if (l->pending)
        snprintf(buf, cap, "holds PENDING: has written and waits for readers to leave to commit");
    else if (l->reserved)
        snprintf(buf, cap, "holds RESERVED: inside a write transaction");
    else if (l->wal_write)
        snprintf(buf, cap, "holds the WAL write lock: inside a write transaction");
    else if (l->wal_ckpt)
        snprintf(buf, cap, "is running a checkpoint");
    else if (l->wal_readers)
        snprintf(buf, cap, "is inside a read transaction (WAL read mark)");
    else if (l->shared && !wal)
        snprintf(buf, cap, "holds SHARED: inside a read transaction");
    else if (l->shared || l->wal_dms)
        snprintf(buf, cap, "is connected, idle");
    return buf;
}

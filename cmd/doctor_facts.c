/*
** What `lockfix doctor` reads about a database, in the order of the diagnostic timeline: the file
** and its header, the side files (-wal, -shm, -journal), the filesystem, who holds the database
** (holders.c), the -shm index, lockfix's queue file, then what SQLite itself says (settings,
** quick_check, version) and whether the directory is writable. All of it goes into a `struct
** facts`; doctor_findings.c judges it.
**
** Nothing here writes (but --checkpoint). Files are read directly before SQLite is opened; SQLite
** opens the database read-only ("mode=ro"), or "immutable=1" where a read-only open of a WAL
** database would create the -wal/-shm files (created by root, say, they would lock other users
** out: the very problem doctor is there to find).
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "../shim/queue_file.h"
#include "lockfix.h"
#include "buf.h"
#include "files.h"

static const unsigned char journal_magic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};

/* Big-endian integers of the database header. */
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read `n` bytes at offset 0 of a file; returns how many were read, -1 if it cannot be opened. */
static ssize_t read_head(const char *path, unsigned char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    ssize_t r = pread(fd, buf, n, 0);
    close(fd);
    return r;
}

/* stat one of the side files, "DB-wal" and friends. */
static void stat_side(const struct facts *d, const char *suffix, struct side_file *sf)
{
    char *p = xasprintf("%s%s", d->db, suffix);
    sf->exists = stat(p, &sf->st) == 0;
    free(p);
}

/* The database header: page size, whether WAL is recorded in the file, the last writer. */
static int read_header(struct facts *d)
{
    unsigned char h[100];
    ssize_t n = read_head(d->db, h, sizeof h);
    if (n < 0) {
        warnx_("doctor: %s: %s", d->db_arg, strerror(errno));
        return EXIT_USAGE;
    }
    if (n == 0) {
        d->empty = 1;
        return 0;
    }
    if (n < 100 || memcmp(h, "SQLite format 3", 16) != 0) {
        warnx_("doctor: %s: not an SQLite database (no \"SQLite format 3\" header)", d->db_arg);
        return EXIT_USAGE;
    }
    d->header_ok = 1;
    unsigned ps = (unsigned)h[16] << 8 | h[17];
    d->page_size = ps == 1 ? 65536 : ps;
    d->wal_header = h[18] == 2 && h[19] == 2;
    d->change_counter = be32(h + 24);
    d->npages = be32(h + 28);
    d->writer_version = be32(h + 96);
    return 0;
}

/* The -journal's first bytes tell a pending rollback (magic) from a harmless leftover. */
static void read_journal(struct facts *d)
{
    if (!d->journal.exists || d->journal.st.st_size == 0)
        return;
    char *p = xasprintf("%s-journal", d->db);
    unsigned char h[28];
    ssize_t n = read_head(p, h, sizeof h);
    free(p);
    d->journal_hot = n >= 8 && memcmp(h, journal_magic, 8) == 0;
    /* Every byte of the 28-byte header zero is PERSIST mode's way of ending a transaction, as
    ** opposed to only the magic (a transaction that never reached its commit). */
    d->journal_zeroed = n == (ssize_t)sizeof h;
    for (size_t i = 0; d->journal_zeroed && i < sizeof h; i++)
        d->journal_zeroed = h[i] == 0;
}

/* The -shm header, in native byte order (SQLite writes it that way): frames written and copied,
** and the read marks of the readers. */
static void read_shm(struct facts *d)
{
    if (!d->shm.exists)
        return;
    char *p = xasprintf("%s-shm", d->db);
    unsigned char h[136];
    ssize_t n = read_head(p, h, sizeof h);
    free(p);
    if (n < (ssize_t)sizeof h)
        return;
    uint32_t version, mx, backfill, marks[5];
    uint16_t szpage;
    memcpy(&version, h, 4);
    memcpy(&szpage, h + 14, 2);
    memcpy(&mx, h + 16, 4);
    memcpy(&backfill, h + 96, 4);
    memcpy(marks, h + 100, sizeof marks);
    if (version != 3007000 || h[12] != 1 || memcmp(h, h + 48, 48) != 0)
        return; /* not initialised, or caught mid-update */
    d->shm_info.valid = 1;
    d->shm_info.mx_frame = mx;
    d->shm_info.n_backfill = backfill;
    memcpy(d->shm_info.read_mark, marks, sizeof marks);
    d->shm_info.page_size = szpage == 1 ? 65536 : szpage;
}

/* `<db>-lockfix`: the layout is shim/queue_file.h's (a header, then a ring of slots, native byte
** order). Only read; a layout it does not know is reported as such rather than guessed at. A
** waiter is a slot whose ticket is between the one served and the next one to hand out (older
** slots are left behind by writers that moved on). */
static uint32_t q_u32(const unsigned char *q, size_t at)
{
    uint32_t v;
    memcpy(&v, q + at, sizeof v);
    return v;
}

static void read_queue(struct facts *d)
{
    char *p = xasprintf("%s-lockfix", d->db);
    static unsigned char q[Q_FILE_SIZE];
    ssize_t n = read_head(p, q, sizeof q);
    free(p);
    if (n < 0)
        return;
    d->queue.exists = 1;
    if (n < (ssize_t)sizeof q)
        return;
    if (q_u32(q, offsetof(struct q_shared, magic)) != Q_MAGIC ||
        q_u32(q, offsetof(struct q_shared, version)) != Q_VERSION)
        return;
    d->queue.valid = 1;
    d->queue.next = q_u32(q, offsetof(struct q_shared, next));
    d->queue.serving = q_u32(q, offsetof(struct q_shared, serving));
    memcpy(&d->queue.handoff_ns, q + offsetof(struct q_shared, handoff_ns), 8);
    for (unsigned i = 0; i < Q_RING; i++) {
        size_t at = offsetof(struct q_shared, slot) + i * sizeof(struct q_slot);
        uint32_t ticket = q_u32(q, at + offsetof(struct q_slot, ticket));
        int32_t pid = (int32_t)q_u32(q, at + offsetof(struct q_slot, pid));
        uint32_t state = q_u32(q, at + offsetof(struct q_slot, state));
        int32_t after_served = (int32_t)(ticket - d->queue.serving);
        int32_t before_next = (int32_t)(d->queue.next - ticket);
        if ((state == SLOT_WAITING || state == SLOT_SLEEPING) && after_served > 0 &&
            before_next > 0)
            d->queue.waiting++;
        if ((state == SLOT_HOLDING || state == SLOT_LINGERING) && ticket == d->queue.serving &&
            before_next > 0) {
            d->queue.holder_pid = pid;
            d->queue.holder_alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
        }
    }
}

/* file: URI for the path: '%', '?' and '#' would end or bend the path part. */
static char *file_uri(const char *path, const char *params)
{
    struct buf b = {0};
    buf_add(&b, "file:");
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if (*s == '%' || *s == '?' || *s == '#' || *s < 0x20 || *s >= 0x7f)
            buf_printf(&b, "%%%02X", *s);
        else
            buf_addn(&b, (const char *)s, 1);
    }
    buf_printf(&b, "?%s", params);
    return b.p;
}

/* Run a query and join the first column of up to `max` rows with "; ". */
static int query_text(sqlite3 *db, const char *sql, struct buf *out, int max)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite3_extended_errcode(db);
    int rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows++ < max) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            if (out->len)
                buf_add(out, "; ");
            buf_add(out, t ? (const char *)t : "NULL");
        }
    }
    rc = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(db);
    sqlite3_finalize(st);
    return rc;
}

/* A pragma that answers one integer. */
static int query_int(sqlite3 *db, const char *sql, int *v)
{
    struct buf b = {0};
    int rc = query_text(db, sql, &b, 1);
    if (rc == SQLITE_OK && b.p)
        *v = atoi(b.p);
    buf_free(&b);
    return rc;
}

/* Ask SQLite: journal mode, settings, quick_check, version. */
static void ask_sqlite(struct facts *d, const struct doctor_opts *o)
{
    snprintf(d->lib_version, sizeof d->lib_version, "%s", sqlite3_libversion());
    if (d->empty)
        return;
    d->immutable = d->wal_header && (!d->wal.exists || !d->shm.exists) && d->nholders == 0;
    char *uri = file_uri(d->db, d->immutable ? "immutable=1" : "mode=ro");
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        d->integrity = xasprintf("could not open: %s", db ? sqlite3_errmsg(db) : "no memory");
        d->integrity_rc = rc;
        sqlite3_close(db);
        return;
    }
    d->opened = 1;
    /* The default a program gets, read before doctor sets its own wait. */
    query_int(db, "PRAGMA busy_timeout", &d->busy_timeout);
    sqlite3_busy_timeout(db, (int)o->timeout_ms);
    struct buf mode = {0};
    rc = query_text(db, "PRAGMA journal_mode", &mode, 1);
    if (rc == SQLITE_READONLY_ROLLBACK || (rc & 0xff) == SQLITE_READONLY) {
        d->readonly_rollback = 1; /* a hot journal, and this connection may not roll it back */
    } else if (rc == SQLITE_OK && mode.p && !d->immutable) {
        snprintf(d->mode, sizeof d->mode, "%s", mode.p);
    }
    buf_free(&mode);
    if (d->mode[0] == '\0')
        snprintf(d->mode, sizeof d->mode, "%s", d->wal_header ? "wal" : "delete");
    if (!d->readonly_rollback) {
        query_int(db, "PRAGMA cache_size", &d->cache_size);
        query_int(db, "PRAGMA page_size", &d->sql_page_size);
        query_int(db, "PRAGMA freelist_count", &d->freelist);
        struct buf ic = {0};
        d->integrity_rc = query_text(
            db, o->full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)", &ic, 20);
        if (d->integrity_rc == SQLITE_OK)
            d->integrity = ic.p ? ic.p : xstrdup("");
        else {
            d->integrity = xstrdup(sqlite3_errstr(d->integrity_rc));
            buf_free(&ic);
        }
    }
    sqlite3_close(db);
}

/* --checkpoint: the real thing, PASSIVE (never waits for readers), on a read-write connection.
** It copies pages without changing the database's content; doctor does not do it unasked. */
static void run_checkpoint(struct facts *d, const struct doctor_opts *o)
{
    sqlite3 *db = NULL;
    d->checkpoint_tried = 1;
    d->ckpt_log = d->ckpt_done = -1;
    int rc = sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, (int)o->timeout_ms);
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(PASSIVE)", -1, &st, NULL);
        if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
            d->ckpt_busy = sqlite3_column_int(st, 0);
            d->ckpt_log = sqlite3_column_int(st, 1);
            d->ckpt_done = sqlite3_column_int(st, 2);
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_finalize(st);
        else
            sqlite3_finalize(st);
    }
    d->checkpoint_rc = rc;
    sqlite3_close(db);
}

/* Files, processes and locks first: before SQLite opens, so its locks and fds cannot confuse the
** probes. */
int gather_facts(struct facts *d, const struct doctor_opts *o)
{
    char real[PATH_MAX];
    if (stat(d->db_arg, &d->st) != 0) {
        warnx_("doctor: %s: %s", d->db_arg, strerror(errno));
        return EXIT_USAGE;
    }
    if (!S_ISREG(d->st.st_mode)) {
        warnx_("doctor: %s: not a regular file", d->db_arg);
        return EXIT_USAGE;
    }
    /* SQLite names the side files after the resolved path; so do we. */
    d->db = realpath(d->db_arg, real) ? xstrdup(real) : abs_path(d->db_arg);
    int rc = read_header(d);
    if (rc != 0)
        return rc;
    stat_side(d, "-wal", &d->wal);
    stat_side(d, "-shm", &d->shm);
    stat_side(d, "-journal", &d->journal);
    read_journal(d);
    char *dir = dir_name(d->db);
    d->fs_known = fs_type(dir, d->fsname, sizeof d->fsname, &d->fsmagic, &d->wal_unsafe) == 0;
    find_holders(d);
    read_locks(d);
    read_shm(d);
    read_queue(d);
    ask_sqlite(d, o);
    if (o->checkpoint && strcmp(d->mode, "wal") == 0)
        run_checkpoint(d, o);
    d->dir_writable = access(dir, W_OK) == 0;
    d->db_writable = access(d->db, W_OK) == 0;
    d->euid = (unsigned)geteuid();
    free(dir);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    d->gathered_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    return 0;
}

/* Facts own their strings; --fix gathers twice, so both must be freeable. */
void facts_free(struct facts *d)
{
    for (int i = 0; i < d->nholders; i++)
        free(d->holders[i].cmdline);
    free(d->holders);
    free(d->integrity);
    free(d->db);
    memset(d, 0, sizeof *d);
}

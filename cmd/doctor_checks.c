/*
** The checks of `lockfix doctor`, in the order of the diagnostic timeline: the file and its
** journal mode, the filesystem, the side files (-wal, -shm, -journal), who holds the database,
** checkpoints, then what SQLite itself says (settings, quick_check, version).
**
** Nothing here writes. Files are read directly before SQLite is opened; SQLite opens the database
** read-only ("mode=ro"), or "immutable=1" where a read-only open of a WAL database would create
** the -wal/-shm files (created by root, say, they would lock other users out: the very problem
** doctor is there to find).
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

#define WAL_BIG_BYTES (4LL * 1024 * 1024) /* the guide's "-wal larger than 4 MB" */

static const unsigned char journal_magic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};

/* Severities as printed and as the JSON field: fixed words scripts can match. */
const char *severity_name(enum severity s)
{
    static const char *const names[] = {"ok", "info", "warn", "error"};
    return names[s];
}

/* Findings are appended in timeline order; message and fix become owned by the diagnosis. */
void add_finding(struct diag *d, const char *check, enum severity sev, char *message, char *fix)
{
    d->find = xrealloc(d->find, (size_t)(d->nfind + 1) * sizeof *d->find);
    d->find[d->nfind++] = (struct finding){check, sev, message, fix};
}

/* Big-endian integers of the database header. */
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* "3.40.1" from SQLITE_VERSION_NUMBER-style 3040001. */
static void version_text(uint32_t v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u", v / 1000000, v / 1000 % 1000, v % 1000);
}

/* Sizes for people: bytes, KiB or MiB. */
static char *human_size(long long n)
{
    if (n < 10LL * 1024)
        return xasprintf("%lld bytes", n);
    if (n < 10LL * 1024 * 1024)
        return xasprintf("%lld KiB", n / 1024);
    return xasprintf("%.1f MiB", (double)n / (1024.0 * 1024.0));
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
static void stat_side(const struct diag *d, const char *suffix, struct side_file *sf)
{
    char *p = xasprintf("%s%s", d->db, suffix);
    sf->exists = stat(p, &sf->st) == 0;
    free(p);
}

/* The database header: page size, whether WAL is recorded in the file, the last writer. */
static int read_header(struct diag *d)
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
static void read_journal(struct diag *d)
{
    if (!d->journal.exists || d->journal.st.st_size == 0)
        return;
    char *p = xasprintf("%s-journal", d->db);
    unsigned char h[28];
    ssize_t n = read_head(p, h, sizeof h);
    free(p);
    d->journal_hot = n >= 8 && memcmp(h, journal_magic, 8) == 0;
}

/* Whether every byte of the journal's 28-byte header is zero (PERSIST mode's way of ending a
** transaction), as opposed to only the magic (a transaction that never reached its commit). */
static int journal_header_zeroed(const struct diag *d)
{
    char *p = xasprintf("%s-journal", d->db);
    unsigned char h[28];
    ssize_t n = read_head(p, h, sizeof h);
    free(p);
    if (n < (ssize_t)sizeof h)
        return 0;
    for (size_t i = 0; i < sizeof h; i++)
        if (h[i] != 0)
            return 0;
    return 1;
}

/* The -shm header, in native byte order (SQLite writes it that way): frames written and copied,
** and the read marks of the readers. */
static void read_shm(struct diag *d)
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

static void read_queue(struct diag *d)
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
static void ask_sqlite(struct diag *d, const struct doctor_opts *o)
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
        d->integrity_rc = query_text(db, o->full ? "PRAGMA integrity_check(20)"
                                                 : "PRAGMA quick_check(20)",
                                     &ic, 20);
        if (d->integrity_rc == SQLITE_OK)
            d->integrity = ic.p ? ic.p : xstrdup("");
        else {
            d->integrity = xstrdup(sqlite3_errstr(d->integrity_rc));
            buf_free(&ic);
        }
    }
    sqlite3_close(db);
}

/* ---- findings ----------------------------------------------------------------------------- */

static const char *holder_name(const struct holder *h, char *buf, size_t cap)
{
    snprintf(buf, cap, "pid %d (%s)", (int)h->pid, h->cmdline && h->cmdline[0] ? h->cmdline
                                                                              : h->comm);
    return buf;
}

/* Someone inside a write transaction, or committing. */
static const struct holder *writer(const struct diag *d)
{
    for (int i = 0; i < d->nholders; i++) {
        const struct lockstate *l = &d->holders[i].lk;
        if (l->reserved || l->pending || l->exclusive || l->wal_write)
            return &d->holders[i];
    }
    return NULL;
}

/* What the file is: confirms doctor is looking at the database the user meant. */
static void judge_file(struct diag *d)
{
    if (d->empty) {
        add_finding(d, "file", SEV_INFO,
                    xstrdup("empty file: SQLite treats it as a new database (no tables yet)"),
                    NULL);
        return;
    }
    char wv[32];
    version_text(d->writer_version, wv, sizeof wv);
    char *size = human_size((long long)d->st.st_size);
    add_finding(d, "file", SEV_OK,
                xasprintf("SQLite database, %u pages of %u bytes (%s), last written by SQLite %s",
                          d->npages, d->page_size, size, wv),
                NULL);
    free(size);
}

/* Minute 1 of the timeline: rollback journal vs WAL, weighed against the filesystem. */
static void judge_journal_mode(struct diag *d)
{
    const char *m = d->mode;
    const char *src = d->immutable ? " (read from the file header)" : "";
    if (strcmp(m, "wal") == 0) {
        add_finding(d, "journal_mode", d->wal_unsafe ? SEV_ERROR : SEV_OK,
                    xasprintf("WAL%s: readers and the writer do not block each other", src),
                    d->wal_unsafe ? xasprintf("WAL is unsafe on %s: move the database to a local "
                                              "disk, or: sqlite3 %s 'PRAGMA journal_mode=DELETE'",
                                              d->fsname, d->db)
                                  : NULL);
    } else if (d->wal_unsafe) {
        add_finding(d, "journal_mode", SEV_INFO,
                    xasprintf("%s (rollback journal): right for %s, where WAL is unsafe", m,
                              d->fsname),
                    NULL);
    } else if (strcmp(m, "memory") == 0 || strcmp(m, "off") == 0) {
        add_finding(d, "journal_mode", SEV_WARN,
                    xasprintf("journal_mode=%s: a crash in a transaction can corrupt the "
                              "database, and writers still block readers",
                              m),
                    xasprintf("lockfix doctor --fix %s (switches to WAL)", d->db_arg));
    } else {
        add_finding(d, "journal_mode", SEV_WARN,
                    xasprintf("%s (rollback journal): a writer blocks every reader and a reader "
                              "blocks the commit, the most common cause of \"database is locked\"",
                              m),
                    xasprintf("lockfix doctor --fix %s (switches to WAL, persistent), or run the "
                              "programs under lockfix, which switches at open",
                              d->db_arg));
    }
}

/* Network and FUSE filesystems break SQLite's locks and WAL's shared memory. */
static void judge_filesystem(struct diag *d)
{
    if (!d->fs_known) {
        add_finding(d, "filesystem", SEV_INFO, xstrdup("filesystem type unknown (statfs failed)"),
                    NULL);
        return;
    }
    if (!d->wal_unsafe) {
        add_finding(d, "filesystem", SEV_OK,
                    xasprintf("%s: a local filesystem, WAL is safe here", d->fsname), NULL);
        return;
    }
    const char *extra = strcmp(d->fsname, "fuse") == 0
                            ? " (FUSE: sshfs, rclone, cloud-drive mounts... most implement "
                              "neither shared mmap nor POSIX locks faithfully)"
                            : "";
    add_finding(d, "filesystem", SEV_WARN,
                xasprintf("%s%s: SQLite's locks are unreliable on network filesystems and WAL's "
                          "shared memory is not shared between hosts",
                          d->fsname, extra),
                xstrdup("keep the database on a local disk; lockfix will not switch it to WAL "
                        "here"));
}

/* Minute 3: what `ls -la DB*` tells: -wal size, -shm, ownership, a stale or hot -journal. */
static void judge_side_files(struct diag *d)
{
    int wal_mode = strcmp(d->mode, "wal") == 0;
    if (d->wal.exists) {
        long long sz = (long long)d->wal.st.st_size;
        char *size = human_size(sz);
        if (!wal_mode && d->nholders == 0) {
            add_finding(d, "wal_file", SEV_WARN,
                        xasprintf("a -wal file (%s) exists but the database is in rollback "
                                  "mode: left by a crash while switching modes?",
                                  size),
                        xasprintf("open it read-write once (sqlite3 %s 'PRAGMA quick_check'), "
                                  "which recovers or discards it; never delete it by hand",
                                  d->db_arg));
        } else if (wal_mode && !d->shm.exists && d->nholders == 0 && sz > 0) {
            add_finding(d, "wal_file", SEV_INFO,
                        xasprintf("-wal of %s without -shm and no process has the database open: "
                                  "the next read-write open recovers it (doctor read the "
                                  "database file without it)",
                                  size),
                        NULL);
        } else if (wal_mode && sz > WAL_BIG_BYTES) {
            add_finding(d, "wal_file", SEV_WARN,
                        xasprintf("-wal is %s: not checkpointed recently, usually because a "
                                  "long-lived read transaction stops checkpoints from finishing",
                                  size),
                        xasprintf("end the long reader (see holders), then: sqlite3 %s "
                                  "'PRAGMA wal_checkpoint(TRUNCATE)'",
                                  d->db_arg));
        } else {
            add_finding(d, "wal_file", SEV_OK, xasprintf("-wal is %s", size), NULL);
        }
        free(size);
    } else if (wal_mode) {
        add_finding(d, "wal_file", SEV_OK, xstrdup("no -wal file: closed cleanly, fully "
                                                   "checkpointed"),
                    NULL);
    }
    /* A -wal/-shm owned by another user than the database: one of the two users cannot write it. */
    const struct side_file *sides[2] = {&d->shm, &d->wal};
    const char *names[2] = {"-shm", "-wal"};
    for (int i = 0; i < 2; i++) {
        if (!sides[i]->exists || sides[i]->st.st_uid == d->st.st_uid)
            continue;
        add_finding(d, "ownership", SEV_WARN,
                    xasprintf("%s is owned by uid %u, the database by uid %u: two users share "
                              "this database and the one that cannot write %s gets errors",
                              names[i], (unsigned)sides[i]->st.st_uid, (unsigned)d->st.st_uid,
                              names[i]),
                    xstrdup("run every program that opens it as the same user, or give them a "
                            "common group with write access to the directory and the files"));
    }
    if (wal_mode && d->shm.exists)
        add_finding(d, "shm_file", SEV_OK, xstrdup("-shm present (WAL index)"), NULL);
    else if (wal_mode && !d->shm.exists && d->wal.exists && d->nholders > 0)
        add_finding(d, "shm_file", SEV_WARN,
                    xstrdup("processes have the database open in WAL mode but there is no -shm: "
                            "was it deleted? they no longer share one WAL index"),
                    xstrdup("stop every program using the database, then open it once with "
                            "sqlite3 to recover; never delete -wal/-shm while it is open"));
    if (!d->journal.exists)
        return;
    const struct holder *w = writer(d);
    char who[256];
    if (d->journal.st.st_size == 0) {
        add_finding(d, "journal_file", SEV_INFO,
                    xstrdup("empty -journal (journal_mode=TRUNCATE leaves one): harmless"), NULL);
    } else if (w != NULL) {
        add_finding(d, "journal_file", SEV_INFO,
                    xasprintf("-journal in use by the write transaction of %s",
                              holder_name(w, who, sizeof who)),
                    NULL);
    } else if (d->journal_hot) {
        int nobody = d->nholders == 0;
        add_finding(d, "journal_file", nobody ? SEV_ERROR : SEV_WARN,
                    xasprintf("hot -journal: a write transaction was interrupted (crash or kill) "
                              "after its journal was written; %s",
                              nobody ? "no process has the database open, so nothing has "
                                       "rolled it back yet and read-only readers fail"
                                     : "the next connection that reads will roll it back"),
                    xasprintf("open it read-write once (lockfix doctor --fix %s, or sqlite3 %s "
                              "'PRAGMA quick_check'); never delete the -journal: that keeps the "
                              "half-written change",
                              d->db_arg, d->db_arg));
    } else if (journal_header_zeroed(d)) {
        add_finding(d, "journal_file", SEV_INFO,
                    xstrdup("-journal with a zeroed header (journal_mode=PERSIST keeps one): "
                            "nothing to roll back"),
                    NULL);
    } else {
        add_finding(d, "journal_file", SEV_WARN,
                    xasprintf("stale -journal while %s: left by a write transaction that was "
                              "interrupted before it committed (its header was never finalised, "
                              "so there is nothing to roll back)",
                              d->nholders ? "no process is writing" : "no process has the "
                                                                      "database open"),
                    xasprintf("open it read-write once, which removes it: sqlite3 %s 'PRAGMA "
                              "quick_check'; look for the program that was killed mid-transaction",
                              d->db_arg));
    }
}

/* Minute 10: who has the database open, and who is inside a transaction. */
static void judge_holders(struct diag *d)
{
    int wal_mode = strcmp(d->mode, "wal") == 0;
    const char *partial = d->holders_partial ? " (some processes could not be inspected: run as "
                                               "root to see all)"
                                             : "";
    if (d->nholders == 0 && d->holders_unknown) {
        add_finding(d, "holders", SEV_INFO,
                    xstrdup("which processes have it open is unknown here (no /proc)"),
                    xasprintf("lsof %s", d->db_arg));
        return;
    }
    if (d->nholders == 0) {
        add_finding(d, "holders", SEV_OK,
                    xasprintf("no other process has the database open%s", partial), NULL);
        return;
    }
    for (int i = 0; i < d->nholders; i++) {
        const struct holder *h = &d->holders[i];
        char who[256], state[160];
        holder_name(h, who, sizeof who);
        holder_state(h, wal_mode, state, sizeof state);
        const struct lockstate *l = &h->lk;
        if (l->reserved || l->wal_write) {
            add_finding(d, "holders", SEV_WARN,
                        xasprintf("%s %s; every other writer waits for it", who, state),
                        xstrdup("if it stays there, end that transaction (commit or roll back "
                                "in the program) or stop the process; a transaction kept open "
                                "across slow work (network, user input) is the usual cause"));
        } else {
            const char *files = (h->files & (F_DB | F_WAL | F_SHM | F_JOURNAL)) == F_DB
                                    ? ""
                                    : " (and its side files)";
            add_finding(d, "holders", SEV_INFO,
                        xasprintf("%s has it open%s%s%s", who, files, state[0] ? ": " : "",
                                  state[0] ? state : (d->locks_source ? ", no lock held" : "")),
                        NULL);
        }
    }
    if (partial[0])
        add_finding(d, "holders", SEV_INFO, xasprintf("holder list may be incomplete%s", partial),
                    NULL);
}

/* Whether a checkpoint could finish now, from the -shm read marks and who holds them. */
static void judge_checkpoint(struct diag *d)
{
    if (strcmp(d->mode, "wal") != 0)
        return;
    if (d->checkpoint_tried) {
        if (d->checkpoint_rc != SQLITE_OK) {
            add_finding(d, "checkpoint", SEV_WARN,
                        xasprintf("checkpoint attempt failed: %s",
                                  sqlite3_errstr(d->checkpoint_rc)),
                        NULL);
        } else if (d->ckpt_log >= 0 && d->ckpt_done < d->ckpt_log) {
            add_finding(d, "checkpoint", SEV_WARN,
                        xasprintf("checkpoint (PASSIVE) copied %d of %d WAL frames: a reader "
                                  "still uses the older ones",
                                  d->ckpt_done, d->ckpt_log),
                        xstrdup("end the long read transaction (see holders)"));
        } else {
            add_finding(d, "checkpoint", SEV_OK,
                        xasprintf("checkpoint (PASSIVE) copied all %d WAL frames", d->ckpt_log),
                        NULL);
        }
        return;
    }
    const struct shm_info *s = &d->shm_info;
    if (!s->valid) {
        if (d->shm.exists)
            add_finding(d, "checkpoint", SEV_INFO,
                        xstrdup("WAL index not readable yet (not initialised); no checkpoint "
                                "analysis"),
                        NULL);
        return;
    }
    if (s->n_backfill >= s->mx_frame) {
        add_finding(d, "checkpoint", SEV_OK,
                    xasprintf("all %u WAL frames are in the database file", s->mx_frame), NULL);
        return;
    }
    /* A reader on read mark 0 reads the database file alone: no checkpoint may write it. A reader
    ** on mark i>0 sees frames up to read_mark[i]: a checkpoint stops there. */
    uint32_t safe = s->mx_frame;
    const struct holder *blocker = NULL;
    for (int i = 0; i < d->nholders; i++) {
        int marks = d->holders[i].lk.wal_readers;
        for (int k = 0; k < 5; k++) {
            if (!(marks & (1 << k)))
                continue;
            uint32_t upto = k == 0 ? s->n_backfill : s->read_mark[k];
            if (upto < safe) {
                safe = upto;
                blocker = &d->holders[i];
            }
        }
    }
    uint32_t pending = s->mx_frame - s->n_backfill;
    if (blocker != NULL && safe <= s->n_backfill) {
        char who[256];
        add_finding(d, "checkpoint", SEV_WARN,
                    xasprintf("%u WAL frames wait to be copied into the database, and the read "
                              "transaction of %s blocks the checkpoint from copying any of them",
                              pending, holder_name(blocker, who, sizeof who)),
                    xstrdup("end that read transaction (a cursor not fully read, or a connection "
                            "left inside BEGIN); the WAL keeps growing until then"));
    } else if (blocker != NULL) {
        char who[256];
        add_finding(d, "checkpoint", SEV_INFO,
                    xasprintf("%u WAL frames wait to be copied; a checkpoint now would stop at "
                              "frame %u of %u because of the read transaction of %s",
                              pending, safe, s->mx_frame, holder_name(blocker, who, sizeof who)),
                    NULL);
    } else {
        add_finding(d, "checkpoint", SEV_OK,
                    xasprintf("%u WAL frames wait to be copied and no reader blocks it (SQLite "
                              "checkpoints at 1000 frames and at the last close; lockfix doctor "
                              "--checkpoint does it now)",
                              pending),
                    NULL);
    }
}

/* The shim's writer queue: who has the turn, whether that process still exists, and whether it
** has held the turn long while others wait (LOCKFIX_LONG_TURN_MS's default). */
#define LONG_TURN_MS 1000
static void judge_queue(struct diag *d)
{
    const struct queue_info *q = &d->queue;
    if (!q->exists)
        return;
    if (!q->valid) {
        add_finding(d, "queue", SEV_INFO,
                    xstrdup("a -lockfix queue file of a layout this doctor does not know "
                            "(another lockfix version?)"),
                    NULL);
        return;
    }
    if (q->holder_pid > 0 && !q->holder_alive) {
        add_finding(d, "queue", SEV_WARN,
                    xasprintf("lockfix writer queue: the turn belongs to pid %d, which is gone; "
                              "%d waiting (the first waiter passes the turn on within a few ms)",
                              q->holder_pid, q->waiting),
                    xstrdup("nothing to do if it clears; if writers stay stuck, stop them and "
                            "delete the -lockfix file (harmless while no process has the "
                            "database open)"));
    } else if (q->holder_pid > 0) {
        char name[80] = "";
        for (int i = 0; i < d->nholders; i++)
            if (d->holders[i].pid == q->holder_pid)
                snprintf(name, sizeof name, " (%s)", d->holders[i].comm);
        /* The turn began at the last hand-off or later: an upper bound on how long it is held. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t held_ms = ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec - q->handoff_ns) / 1000000;
        if (q->waiting > 0 && q->handoff_ns > 0 && held_ms >= LONG_TURN_MS && held_ms < 86400000)
            add_finding(d, "queue", SEV_WARN,
                        xasprintf("lockfix writer queue: a long turn — pid %d%s has held the "
                                  "turn for up to %.1f s while %d wait%s (a transaction doing "
                                  "slow work between BEGIN and COMMIT?)",
                                  q->holder_pid, name, held_ms / 1000.0, q->waiting,
                                  q->waiting == 1 ? "s" : ""),
                        xasprintf("look at what pid %d does inside its transactions; its "
                                  "long-turn lines (`lockfix stats LOG`) say how often",
                                  q->holder_pid));
        else
            add_finding(d, "queue", SEV_INFO,
                        xasprintf("lockfix writer queue: pid %d%s has the turn, %d waiting",
                                  q->holder_pid, name, q->waiting),
                        NULL);
    } else {
        add_finding(d, "queue", SEV_OK,
                    xasprintf("lockfix writer queue idle (%u turns served)", q->serving), NULL);
    }
}

/* What SQLite reports: default busy timeout, page/cache settings, quick_check, version. */
static void judge_sqlite(struct diag *d)
{
    if (d->empty)
        return;
    if (d->readonly_rollback) {
        add_finding(d, "integrity", SEV_WARN,
                    xstrdup("not checked: the database needs a rollback first (hot journal), "
                            "which a read-only connection may not do"),
                    xasprintf("lockfix doctor --fix %s", d->db_arg));
    } else if (!d->opened) {
        add_finding(d, "integrity", SEV_ERROR,
                    xasprintf("SQLite %s", d->integrity ? d->integrity : "could not open it"),
                    NULL);
    } else {
        add_finding(d, "busy_timeout", SEV_INFO,
                    xasprintf("a new connection starts with busy_timeout=%d ms: without one of "
                              "its own, a program fails at once on a lock (python uses 5000, "
                              "Perl's DBD::SQLite 30000; lockfix raises it to at least 5000)",
                              d->busy_timeout),
                    xstrdup("PRAGMA busy_timeout=5000 in the program, or run it under lockfix"));
        int kib = d->cache_size < 0 ? -d->cache_size
                                    : (int)((long long)d->cache_size * d->sql_page_size / 1024);
        add_finding(d, "page_cache", SEV_INFO,
                    xasprintf("page_size %d, cache_size %d (%d KiB per connection), %d free "
                              "pages",
                              d->sql_page_size, d->cache_size, kib, d->freelist),
                    d->sql_page_size > 0 && d->sql_page_size < 4096
                        ? xstrdup("small pages: PRAGMA page_size=4096; VACUUM (in rollback mode) "
                                  "makes larger transactions cheaper")
                        : NULL);
        const char *what = d->integrity_rc == SQLITE_OK ? "" : "could not run: ";
        int ok = d->integrity_rc == SQLITE_OK && d->integrity && strcmp(d->integrity, "ok") == 0;
        int busy = (d->integrity_rc & 0xff) == SQLITE_BUSY;
        add_finding(d, "integrity", ok ? SEV_OK : busy ? SEV_WARN : SEV_ERROR,
                    xasprintf("%s: %s%s%s", busy ? "check" : "quick_check", what,
                              d->integrity ? d->integrity : "",
                              d->immutable ? " (database file only)" : ""),
                    ok     ? NULL
                    : busy ? xstrdup("the database stayed locked: see holders, retry later")
                           : xasprintf("restore a backup, or save what is readable: sqlite3 %s "
                                       ".recover | sqlite3 recovered.db",
                                       d->db_arg));
    }
    char wv[32];
    version_text(d->writer_version, wv, sizeof wv);
    add_finding(d, "sqlite_version", SEV_INFO,
                xasprintf("SQLite library %s (the one doctor uses)%s%s", d->lib_version,
                          d->header_ok ? "; the file was last written by " : "",
                          d->header_ok ? wv : ""),
                NULL);
}

/* The directory must be writable for journals: a read-only directory turns writes into errors. */
static void judge_permissions(struct diag *d)
{
    char *dir = dir_name(d->db);
    int dir_w = access(dir, W_OK) == 0, db_w = access(d->db, W_OK) == 0;
    if (db_w && !dir_w)
        add_finding(d, "permissions", SEV_WARN,
                    xasprintf("%s is not writable for uid %u: SQLite cannot create the -journal "
                              "or -wal a write needs",
                              dir, (unsigned)geteuid()),
                    xstrdup("make the directory writable by the programs that write the "
                            "database"));
    else if (!db_w)
        add_finding(d, "permissions", SEV_INFO,
                    xasprintf("the database is read-only for uid %u", (unsigned)geteuid()),
                    NULL);
    free(dir);
}

/* --checkpoint: the real thing, PASSIVE (never waits for readers), on a read-write connection.
** It copies pages without changing the database's content; doctor does not do it unasked. */
static void run_checkpoint(struct diag *d, const struct doctor_opts *o)
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

/* Gather first (files, processes, locks: before SQLite opens, so its locks and fds cannot
** confuse the probes), then judge. */
int diagnose(struct diag *d, const struct doctor_opts *o)
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
    free(dir);
    find_holders(d);
    read_locks(d);
    read_shm(d);
    read_queue(d);
    ask_sqlite(d, o);
    if (o->checkpoint && strcmp(d->mode, "wal") == 0)
        run_checkpoint(d, o);

    judge_file(d);
    judge_journal_mode(d);
    judge_filesystem(d);
    judge_side_files(d);
    judge_holders(d);
    judge_checkpoint(d);
    judge_queue(d);
    judge_sqlite(d);
    judge_permissions(d);
    return 0;
}

/* A diagnosis owns its strings; --fix makes a second one, so both must be freeable. */
void diag_free(struct diag *d)
{
    for (int i = 0; i < d->nfind; i++) {
        free(d->find[i].message);
        free(d->find[i].fix);
    }
    free(d->find);
    for (int i = 0; i < d->nholders; i++)
        free(d->holders[i].cmdline);
    free(d->holders);
    free(d->integrity);
    free(d->db);
    memset(d, 0, sizeof *d);
}

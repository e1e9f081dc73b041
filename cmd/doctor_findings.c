/*
** What `lockfix doctor` concludes from the facts doctor_facts.c gathered, in the order of the
** diagnostic timeline: the file and its journal mode, the filesystem, the side files (-wal, -shm,
** -journal), who holds the database, checkpoints, lockfix's queue, then what SQLite itself says
** (settings, quick_check, version) and permissions. Each finding has a severity and, where there
** is something to do, a fix. Nothing here reads a file or asks SQLite: the same facts give the
** same findings.
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "buf.h"
#include "files.h"

#define WAL_BIG_BYTES (4LL * 1024 * 1024) /* the guide's "-wal larger than 4 MB" */

/* Severities as printed and as the JSON field: fixed words scripts can match. */
const char *severity_name(enum severity s)
{
    static const char *const names[] = {"ok", "info", "warn", "error"};
    return names[s];
}

/* Findings are appended in timeline order; message and fix become owned by the list. */
static void add_finding(struct findings *out, const char *check, enum severity sev, char *message,
                        char *fix)
{
    out->find = xrealloc(out->find, (size_t)(out->n + 1) * sizeof *out->find);
    out->find[out->n++] = (struct finding){check, sev, message, fix};
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

static const char *holder_name(const struct holder *h, char *buf, size_t cap)
{
    snprintf(buf, cap, "pid %d (%s)", (int)h->pid,
             h->cmdline && h->cmdline[0] ? h->cmdline : h->comm);
    return buf;
}

/* Someone inside a write transaction, or committing. */
static const struct holder *writer(const struct facts *d)
{
    for (int i = 0; i < d->nholders; i++) {
        const struct lockstate *l = &d->holders[i].lk;
        if (l->reserved || l->pending || l->exclusive || l->wal_write)
            return &d->holders[i];
    }
    return NULL;
}

/* What the file is: confirms doctor is looking at the database the user meant. */
static void judge_file(const struct facts *d, struct findings *out)
{
    if (d->empty) {
        add_finding(out, "file", SEV_INFO,
                    xstrdup("empty file: SQLite treats it as a new database (no tables yet)"),
                    NULL);
        return;
    }
    char wv[32];
    version_text(d->writer_version, wv, sizeof wv);
    char *size = human_size((long long)d->st.st_size);
    add_finding(out, "file", SEV_OK,
                xasprintf("SQLite database, %u pages of %u bytes (%s), last written by SQLite %s",
                          d->npages, d->page_size, size, wv),
                NULL);
    free(size);
}

/* Minute 1 of the timeline: rollback journal vs WAL, weighed against the filesystem. */
static void judge_journal_mode(const struct facts *d, struct findings *out)
{
    const char *m = d->mode;
    const char *src = d->immutable ? " (read from the file header)" : "";
    if (strcmp(m, "wal") == 0) {
        add_finding(out, "journal_mode", d->wal_unsafe ? SEV_ERROR : SEV_OK,
                    xasprintf("WAL%s: readers and the writer do not block each other", src),
                    d->wal_unsafe ? xasprintf("WAL is unsafe on %s: move the database to a local "
                                              "disk, or: sqlite3 %s 'PRAGMA journal_mode=DELETE'",
                                              d->fsname, d->db)
                                  : NULL);
    } else if (d->wal_unsafe) {
        add_finding(
            out, "journal_mode", SEV_INFO,
            xasprintf("%s (rollback journal): right for %s, where WAL is unsafe", m, d->fsname),
            NULL);
    } else if (strcmp(m, "memory") == 0 || strcmp(m, "off") == 0) {
        add_finding(out, "journal_mode", SEV_WARN,
                    xasprintf("journal_mode=%s: a crash in a transaction can corrupt the "
                              "database, and writers still block readers",
                              m),
                    xasprintf("lockfix doctor --fix %s (switches to WAL)", d->db_arg));
    } else {
        add_finding(out, "journal_mode", SEV_WARN,
                    xasprintf("%s (rollback journal): a writer blocks every reader and a reader "
                              "blocks the commit, the most common cause of \"database is locked\"",
                              m),
                    xasprintf("lockfix doctor --fix %s (switches to WAL, persistent), or run the "
                              "programs under lockfix, which switches at open",
                              d->db_arg));
    }
}

/* Network and FUSE filesystems break SQLite's locks and WAL's shared memory. */
static void judge_filesystem(const struct facts *d, struct findings *out)
{
    if (!d->fs_known) {
        add_finding(out, "filesystem", SEV_INFO, xstrdup("filesystem type unknown (statfs failed)"),
                    NULL);
        return;
    }
    if (!d->wal_unsafe) {
        add_finding(out, "filesystem", SEV_OK,
                    xasprintf("%s: a local filesystem, WAL is safe here", d->fsname), NULL);
        return;
    }
    const char *extra = strcmp(d->fsname, "fuse") == 0
                            ? " (FUSE: sshfs, rclone, cloud-drive mounts... most implement "
                              "neither shared mmap nor POSIX locks faithfully)"
                            : "";
    add_finding(out, "filesystem", SEV_WARN,
                xasprintf("%s%s: SQLite's locks are unreliable on network filesystems and WAL's "
                          "shared memory is not shared between hosts",
                          d->fsname, extra),
                xstrdup("keep the database on a local disk; lockfix will not switch it to WAL "
                        "here"));
}

/* Minute 3: what `ls -la DB*` tells: -wal size, -shm, ownership, a stale or hot -journal. */
static void judge_side_files(const struct facts *d, struct findings *out)
{
    int wal_mode = strcmp(d->mode, "wal") == 0;
    if (d->wal.exists) {
        long long sz = (long long)d->wal.st.st_size;
        char *size = human_size(sz);
        if (!wal_mode && d->nholders == 0) {
            add_finding(out, "wal_file", SEV_WARN,
                        xasprintf("a -wal file (%s) exists but the database is in rollback "
                                  "mode: left by a crash while switching modes?",
                                  size),
                        xasprintf("open it read-write once (sqlite3 %s 'PRAGMA quick_check'), "
                                  "which recovers or discards it; never delete it by hand",
                                  d->db_arg));
        } else if (wal_mode && !d->shm.exists && d->nholders == 0 && sz > 0) {
            add_finding(out, "wal_file", SEV_INFO,
                        xasprintf("-wal of %s without -shm and no process has the database open: "
                                  "the next read-write open recovers it (doctor read the "
                                  "database file without it)",
                                  size),
                        NULL);
        } else if (wal_mode && sz > WAL_BIG_BYTES) {
            add_finding(out, "wal_file", SEV_WARN,
                        xasprintf("-wal is %s: not checkpointed recently, usually because a "
                                  "long-lived read transaction stops checkpoints from finishing",
                                  size),
                        xasprintf("end the long reader (see holders), then: sqlite3 %s "
                                  "'PRAGMA wal_checkpoint(TRUNCATE)'",
                                  d->db_arg));
        } else {
            add_finding(out, "wal_file", SEV_OK, xasprintf("-wal is %s", size), NULL);
        }
        free(size);
    } else if (wal_mode) {
        add_finding(out, "wal_file", SEV_OK,
                    xstrdup("no -wal file: closed cleanly, fully checkpointed"), NULL);
    }
    /* A -wal/-shm owned by another user than the database: one of the two users cannot write it. */
    const struct side_file *sides[2] = {&d->shm, &d->wal};
    const char *names[2] = {"-shm", "-wal"};
    for (int i = 0; i < 2; i++) {
        if (!sides[i]->exists || sides[i]->st.st_uid == d->st.st_uid)
            continue;
        add_finding(out, "ownership", SEV_WARN,
                    xasprintf("%s is owned by uid %u, the database by uid %u: two users share "
                              "this database and the one that cannot write %s gets errors",
                              names[i], (unsigned)sides[i]->st.st_uid, (unsigned)d->st.st_uid,
                              names[i]),
                    xstrdup("run every program that opens it as the same user, or give them a "
                            "common group with write access to the directory and the files"));
    }
    if (wal_mode && d->shm.exists)
        add_finding(out, "shm_file", SEV_OK, xstrdup("-shm present (WAL index)"), NULL);
    else if (wal_mode && !d->shm.exists && d->wal.exists && d->nholders > 0)
        add_finding(out, "shm_file", SEV_WARN,
                    xstrdup("processes have the database open in WAL mode but there is no -shm: "
                            "was it deleted? they no longer share one WAL index"),
                    xstrdup("stop every program using the database, then open it once with "
                            "sqlite3 to recover; never delete -wal/-shm while it is open"));
    if (!d->journal.exists)
        return;
    const struct holder *w = writer(d);
    char who[256];
    if (d->journal.st.st_size == 0) {
        add_finding(out, "journal_file", SEV_INFO,
                    xstrdup("empty -journal (journal_mode=TRUNCATE leaves one): harmless"), NULL);
    } else if (w != NULL) {
        add_finding(out, "journal_file", SEV_INFO,
                    xasprintf("-journal in use by the write transaction of %s",
                              holder_name(w, who, sizeof who)),
                    NULL);
    } else if (d->journal_hot) {
        int nobody = d->nholders == 0;
        add_finding(out, "journal_file", nobody ? SEV_ERROR : SEV_WARN,
                    xasprintf("hot -journal: a write transaction was interrupted (crash or kill) "
                              "after its journal was written; %s",
                              nobody ? "no process has the database open, so nothing has "
                                       "rolled it back yet and read-only readers fail"
                                     : "the next connection that reads will roll it back"),
                    xasprintf("open it read-write once (lockfix doctor --fix %s, or sqlite3 %s "
                              "'PRAGMA quick_check'); never delete the -journal: that keeps the "
                              "half-written change",
                              d->db_arg, d->db_arg));
    } else if (d->journal_zeroed) {
        add_finding(out, "journal_file", SEV_INFO,
                    xstrdup("-journal with a zeroed header (journal_mode=PERSIST keeps one): "
                            "nothing to roll back"),
                    NULL);
    } else {
        add_finding(
            out, "journal_file", SEV_WARN,
            xasprintf("stale -journal while %s: left by a write transaction that was "
                      "interrupted before it committed (its header was never finalised, "
                      "so there is nothing to roll back)",
                      d->nholders ? "no process is writing" : "no process has the database open"),
            xasprintf("open it read-write once, which removes it: sqlite3 %s 'PRAGMA "
                      "quick_check'; look for the program that was killed mid-transaction",
                      d->db_arg));
    }
}

/* Minute 10: who has the database open, and who is inside a transaction. */
static void judge_holders(const struct facts *d, struct findings *out)
{
    int wal_mode = strcmp(d->mode, "wal") == 0;
    const char *partial = d->holders_partial ? " (some processes could not be inspected: run as "
                                               "root to see all)"
                                             : "";
    if (d->nholders == 0 && d->holders_unknown) {
        add_finding(out, "holders", SEV_INFO,
                    xstrdup("which processes have it open is unknown here (no /proc)"),
                    xasprintf("lsof %s", d->db_arg));
        return;
    }
    if (d->nholders == 0) {
        add_finding(out, "holders", SEV_OK,
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
            add_finding(out, "holders", SEV_WARN,
                        xasprintf("%s %s; every other writer waits for it", who, state),
                        xstrdup("if it stays there, end that transaction (commit or roll back "
                                "in the program) or stop the process; a transaction kept open "
                                "across slow work (network, user input) is the usual cause"));
        } else {
            const char *files = (h->files & (F_DB | F_WAL | F_SHM | F_JOURNAL)) == F_DB
                                    ? ""
                                    : " (and its side files)";
            add_finding(out, "holders", SEV_INFO,
                        xasprintf("%s has it open%s%s%s", who, files, state[0] ? ": " : "",
                                  state[0] ? state : (d->locks_source ? ", no lock held" : "")),
                        NULL);
        }
    }
    if (partial[0])
        add_finding(out, "holders", SEV_INFO, xasprintf("holder list may be incomplete%s", partial),
                    NULL);
}

/* Whether a checkpoint could finish now, from the -shm read marks and who holds them. */
static void judge_checkpoint(const struct facts *d, struct findings *out)
{
    if (strcmp(d->mode, "wal") != 0)
        return;
    if (d->checkpoint_tried) {
        if (d->checkpoint_rc != SQLITE_OK) {
            add_finding(
                out, "checkpoint", SEV_WARN,
                xasprintf("checkpoint attempt failed: %s", sqlite3_errstr(d->checkpoint_rc)), NULL);
        } else if (d->ckpt_log >= 0 && d->ckpt_done < d->ckpt_log) {
            add_finding(out, "checkpoint", SEV_WARN,
                        xasprintf("checkpoint (PASSIVE) copied %d of %d WAL frames: a reader "
                                  "still uses the older ones",
                                  d->ckpt_done, d->ckpt_log),
                        xstrdup("end the long read transaction (see holders)"));
        } else {
            add_finding(out, "checkpoint", SEV_OK,
                        xasprintf("checkpoint (PASSIVE) copied all %d WAL frames", d->ckpt_log),
                        NULL);
        }
        return;
    }
    const struct shm_info *s = &d->shm_info;
    if (!s->valid) {
        if (d->shm.exists)
            add_finding(out, "checkpoint", SEV_INFO,
                        xstrdup("WAL index not readable yet (not initialised); no checkpoint "
                                "analysis"),
                        NULL);
        return;
    }
    if (s->n_backfill >= s->mx_frame) {
        add_finding(out, "checkpoint", SEV_OK,
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
        add_finding(out, "checkpoint", SEV_WARN,
                    xasprintf("%u WAL frames wait to be copied into the database, and the read "
                              "transaction of %s blocks the checkpoint from copying any of them",
                              pending, holder_name(blocker, who, sizeof who)),
                    xstrdup("end that read transaction (a cursor not fully read, or a connection "
                            "left inside BEGIN); the WAL keeps growing until then"));
    } else if (blocker != NULL) {
        char who[256];
        add_finding(out, "checkpoint", SEV_INFO,
                    xasprintf("%u WAL frames wait to be copied; a checkpoint now would stop at "
                              "frame %u of %u because of the read transaction of %s",
                              pending, safe, s->mx_frame, holder_name(blocker, who, sizeof who)),
                    NULL);
    } else {
        add_finding(out, "checkpoint", SEV_OK,
                    xasprintf("%u WAL frames wait to be copied and no reader blocks it (SQLite "
                              "checkpoints at 1000 frames and at the last close; lockfix doctor "
                              "--checkpoint does it now)",
                              pending),
                    NULL);
    }
}

/* The shim's writer queue: who has the turn, whether that process still exists, and whether it
** has held the turn long while others wait: at least LOCKFIX_LONG_TURN_MS, the threshold of the
** shim's long-turn line, read from doctor's environment (0: no turn is long). */
static void judge_queue(const struct facts *d, long long_turn_ms, struct findings *out)
{
    const struct queue_info *q = &d->queue;
    if (!q->exists)
        return;
    if (!q->valid) {
        add_finding(out, "queue", SEV_INFO,
                    xstrdup("a -lockfix queue file of a layout this doctor does not know "
                            "(another lockfix version?)"),
                    NULL);
        return;
    }
    if (q->holder_pid > 0 && !q->holder_alive) {
        add_finding(out, "queue", SEV_WARN,
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
        int64_t held_ms = (d->gathered_ns - q->handoff_ns) / 1000000;
        if (q->waiting > 0 && q->handoff_ns > 0 && long_turn_ms > 0 && held_ms >= long_turn_ms &&
            held_ms < 86400000)
            add_finding(out, "queue", SEV_WARN,
                        xasprintf("lockfix writer queue: a long turn — pid %d%s has held the "
                                  "turn for up to %.1f s while %d wait%s (a transaction doing "
                                  "slow work between BEGIN and COMMIT?)",
                                  q->holder_pid, name, held_ms / 1000.0, q->waiting,
                                  q->waiting == 1 ? "s" : ""),
                        xasprintf("look at what pid %d does inside its transactions; its "
                                  "long-turn lines (`lockfix stats LOG`) say how often",
                                  q->holder_pid));
        else
            add_finding(out, "queue", SEV_INFO,
                        xasprintf("lockfix writer queue: pid %d%s has the turn, %d waiting",
                                  q->holder_pid, name, q->waiting),
                        NULL);
    } else {
        add_finding(out, "queue", SEV_OK,
                    xasprintf("lockfix writer queue idle (%u turns served)", q->serving), NULL);
    }
}

/* What SQLite reports: default busy timeout, page/cache settings, quick_check, version. */
static void judge_sqlite(const struct facts *d, struct findings *out)
{
    if (d->empty)
        return;
    if (d->readonly_rollback) {
        add_finding(out, "integrity", SEV_WARN,
                    xstrdup("not checked: the database needs a rollback first (hot journal), "
                            "which a read-only connection may not do"),
                    xasprintf("lockfix doctor --fix %s", d->db_arg));
    } else if (!d->opened) {
        add_finding(out, "integrity", SEV_ERROR,
                    xasprintf("SQLite %s", d->integrity ? d->integrity : "could not open it"),
                    NULL);
    } else {
        add_finding(out, "busy_timeout", SEV_INFO,
                    xasprintf("a new connection starts with busy_timeout=%d ms: without one of "
                              "its own, a program fails at once on a lock (python uses 5000, "
                              "Perl's DBD::SQLite 30000; lockfix raises it to at least 5000)",
                              d->busy_timeout),
                    xstrdup("PRAGMA busy_timeout=5000 in the program, or run it under lockfix"));
        int kib = d->cache_size < 0 ? -d->cache_size
                                    : (int)((long long)d->cache_size * d->sql_page_size / 1024);
        add_finding(out, "page_cache", SEV_INFO,
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
        add_finding(out, "integrity",
                    ok     ? SEV_OK
                    : busy ? SEV_WARN
                           : SEV_ERROR,
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
    add_finding(out, "sqlite_version", SEV_INFO,
                xasprintf("SQLite library %s (the one doctor uses)%s%s", d->lib_version,
                          d->header_ok ? "; the file was last written by " : "",
                          d->header_ok ? wv : ""),
                NULL);
}

/* The directory must be writable for journals: a read-only directory turns writes into errors. */
static void judge_permissions(const struct facts *d, struct findings *out)
{
    char *dir = dir_name(d->db);
    if (d->db_writable && !d->dir_writable)
        add_finding(out, "permissions", SEV_WARN,
                    xasprintf("%s is not writable for uid %u: SQLite cannot create the -journal "
                              "or -wal a write needs",
                              dir, d->euid),
                    xstrdup("make the directory writable by the programs that write the "
                            "database"));
    else if (!d->db_writable)
        add_finding(out, "permissions", SEV_INFO,
                    xasprintf("the database is read-only for uid %u", d->euid), NULL);
    free(dir);
}

/* The findings in timeline order. */
void judge(const struct facts *d, const struct doctor_opts *o, struct findings *out)
{
    judge_file(d, out);
    judge_journal_mode(d, out);
    judge_filesystem(d, out);
    judge_side_files(d, out);
    judge_holders(d, out);
    judge_checkpoint(d, out);
    judge_queue(d, o->long_turn_ms, out);
    judge_sqlite(d, out);
    judge_permissions(d, out);
}

/* Findings own their strings; --fix judges twice, so both must be freeable. */
void findings_free(struct findings *out)
{
    for (int i = 0; i < out->n; i++) {
        free(out->find[i].message);
        free(out->find[i].fix);
    }
    free(out->find);
    out->find = NULL;
    out->n = 0;
}

/*
** `lockfix doctor`: the facts gathered about one database, and the findings drawn from them.
** doctor.c runs the command (options, output, --fix), doctor_facts.c looks at the files and asks
** SQLite, holders.c finds the processes that have the database open and the locks they hold, and
** doctor_findings.c judges the facts.
*/
#ifndef LOCKFIX_CMD_DOCTOR_H
#define LOCKFIX_CMD_DOCTOR_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

enum severity { SEV_OK, SEV_INFO, SEV_WARN, SEV_ERROR };

struct finding {
    const char *check; /* short id: journal_mode, filesystem, holders, ... */
    enum severity sev;
    char *message;
    char *fix; /* one line, or NULL when there is nothing to do */
};

/* Which of the database's files a process has open. */
enum { F_DB = 1, F_WAL = 2, F_SHM = 4, F_JOURNAL = 8 };

/* The SQLite locks one process holds, read from /proc/locks or probed with F_GETLK. */
struct lockstate {
    int shared;      /* db SHARED range, read: reading (rollback) or connected (WAL) */
    int reserved;    /* db RESERVED byte: inside a write transaction (rollback journal) */
    int pending;     /* db PENDING byte, write: waiting for readers to leave, to commit */
    int exclusive;   /* db SHARED range, write: writing the database file (commit) */
    int wal_write;   /* -shm WAL_WRITE_LOCK: inside a write transaction (WAL) */
    int wal_ckpt;    /* -shm checkpoint lock: checkpoint running */
    int wal_recover; /* -shm recovery lock */
    int wal_readers; /* bitmask of -shm read-mark locks held shared: read transaction (WAL) */
    int wal_dms;     /* -shm "dead man switch" byte: connection open in WAL mode */
};

struct holder {
    pid_t pid;
    char comm[64];
    char *cmdline;
    int files; /* F_DB | F_WAL | ... */
    struct lockstate lk;
};

struct side_file {
    int exists;
    struct stat st;
};

/* The shared-memory index of a WAL database (-shm), read without locks: a snapshot. */
struct shm_info {
    int valid;
    uint32_t mx_frame;  /* last valid frame in the WAL */
    uint32_t n_backfill; /* frames already copied into the database */
    uint32_t read_mark[5];
    uint32_t page_size;
};

/* lockfix's own writer queue, `<db>-lockfix` (shim/queue.c), read without mapping it. */
struct queue_info {
    int exists, valid;
    uint32_t next, serving;
    int holder_pid, holder_alive, waiting;
    int64_t handoff_ns; /* CLOCK_MONOTONIC of the last hand-off: the turn began no earlier */
};

/* Everything doctor reads about one database; nothing judged yet. */
struct facts {
    const char *db_arg;
    char *db;  /* absolute path */
    struct stat st;
    /* database header */
    int header_ok, empty;
    unsigned page_size;
    int wal_header; /* file format bytes 18/19 == 2: WAL is persistent in the file */
    uint32_t writer_version, change_counter, npages;
    /* side files and filesystem */
    struct side_file wal, shm, journal;
    int journal_hot;    /* -journal has a valid header: a rollback is pending */
    int journal_zeroed; /* its 28-byte header is all zeroes: PERSIST mode, nothing pending */
    char fsname[64];
    unsigned long fsmagic;
    int wal_unsafe, fs_known;
    /* processes */
    int nholders;
    struct holder *holders;
    int holders_partial; /* some /proc/PID/fd could not be read (not root) */
    int holders_unknown; /* no /proc at all (macOS): nothing can be said about holders */
    int locks_source;    /* 0 none, 1 /proc/locks, 2 F_GETLK probes */
    struct shm_info shm_info;
    struct queue_info queue;
    /* from SQLite */
    char mode[16];
    int opened, immutable, readonly_rollback;
    int busy_timeout, cache_size, sql_page_size, freelist;
    char lib_version[32];
    char *integrity; /* "ok" or the first messages */
    int integrity_rc;
    int checkpoint_rc, ckpt_busy, ckpt_log, ckpt_done; /* with --checkpoint/--fix */
    int checkpoint_tried;
    /* permissions: SQLite needs to create a -journal or -wal beside the database to write */
    int dir_writable, db_writable;
    unsigned euid;
    int64_t gathered_ns; /* CLOCK_MONOTONIC when gathering ended: the queue turn's age is to it */
};

/* What doctor concludes from the facts, in timeline order. */
struct findings {
    int n;
    struct finding *find;
};

struct doctor_opts {
    int json, full, fix, yes, checkpoint;
    long timeout_ms;
    long long_turn_ms; /* LOCKFIX_LONG_TURN_MS, as the shim reads it (0: never long) */
};

/* holders.c */
void find_holders(struct facts *d);
void read_locks(struct facts *d);
/* How a holder's locks read in words ("inside a write transaction"), or "" if none. */
const char *holder_state(const struct holder *h, int wal, char *buf, size_t cap);

/* doctor_facts.c */
/* Gather everything about d->db_arg. Returns 0, or EXIT_USAGE if the file cannot be diagnosed
** at all (missing, not SQLite); the message is printed. */
int gather_facts(struct facts *d, const struct doctor_opts *o);
void facts_free(struct facts *d);

/* doctor_findings.c */
/* Draw the findings from the facts and the options; reads nothing else. */
void judge(const struct facts *d, const struct doctor_opts *o, struct findings *out);
void findings_free(struct findings *out);
const char *severity_name(enum severity s);

#endif

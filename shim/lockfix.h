/*
** Internal interfaces shared by the shim's files. Nothing declared here is exported: the
** library is built with -fvisibility=hidden and a version script that exports sqlite3_* only.
*/
#ifndef LOCKFIX_H
#define LOCKFIX_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "events.def.h"
#include "hooks.h"

/* Everything below is internal to the library: declared hidden, it is reached without the GOT. */
#pragma GCC visibility push(hidden)

#define LF_LIKELY(x) __builtin_expect(!!(x), 1)
#define LF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LF_TLS __thread __attribute__((tls_model("initial-exec")))
/* State that every process touches at start or exit, even one that never uses SQLite: kept in
** .data, on the page the dynamic linker has already written while relocating the library (the
** .got.plt and the start of .bss share it). Zero-initialised state is otherwise spread over
** .bss's 45 pages, and the first read and the first write of each page is a page fault (~1-5 us
** each on the machines measured, docs/benchmarks.md). A few hundred bytes at most. */
#ifdef __APPLE__
#define LF_START_DATA
#else
#define LF_START_DATA __attribute__((section(".data.lf_start")))
#endif

/* ---- resolve.c: one SQLite copy, and how a caller finds its own --------------------------- */

/* The real functions of one SQLite copy (one loaded object that defines sqlite3_*). */
struct lf_copy {
#define LF_SLOT_X(ret, name, params, on_missing, ...) ret(*name) params;
#define LF_SLOT_H(ret, name, params) ret(*name) params;
    LF_HOOKS(LF_SLOT_X)
    LF_HELPERS(LF_SLOT_H)
#undef LF_SLOT_X
#undef LF_SLOT_H
    /* sqlite3_stmt_readonly and sqlite3_sql are never NULL: lf_copy_stand_ins() (stmt.c) fills in
    ** what a copy lacks. */
    const char *path; /* file the copy was loaded from, for logs */
    int passthrough;  /* forward only: too old for the accessors the retry rule needs, or
                      ** LOCKFIX_DISABLE=1 */
    uintptr_t base;   /* load address of that object: identifies the copy */
};

/* stmt.c: stand-ins for accessors a copy lacks, with the answer the writer queue assumes
** without them (every statement may write; no text): then the hot path needs no NULL check. */
void lf_copy_stand_ins(struct lf_copy *c);

/* The copy the code at return address `ra` would have called without the shim, or NULL. */
const struct lf_copy *lf_copy_for(const void *ra);

/* A calling object's code range, [lo, lo + len), and the copy it reaches (never NULL: a range is
** cached only once a copy is found). */
struct lf_range {
    uintptr_t lo, len;
    const struct lf_copy *copy;
};
/* A copy of the range this thread hit last (all zeros, matching nothing, until the first hit):
** the hot path is one compare against it, inlined into every trampoline; lf_copy_for() does the
** rest. Cached ranges never change, so a copy of one stays true. */
extern LF_TLS struct lf_range lf_last_range;
static inline int lf_in_last_range(const void *ra)
{
    return (uintptr_t)ra - lf_last_range.lo < lf_last_range.len;
}
static inline const struct lf_copy *lf_copy_fast(const void *ra)
{
    if (LF_LIKELY(lf_in_last_range(ra)))
        return lf_last_range.copy;
    return lf_copy_for(ra);
}
/* The copy a handle belongs to. A call's return address can mislead: a wrapper that tail-calls
** sqlite3_close returns straight to its own caller, whose scope may hold no SQLite or another
** copy. A connection's copy is recorded at open, and, once a process holds more than one copy, a
** statement's at prepare; with a single copy the return address is all it takes. */
/* How many copies have been resolved. */
extern _Atomic int lf_ncopies;
const struct lf_copy *lf_copy_by_db_slow(const void *ra, sqlite3 *db);
const struct lf_copy *lf_copy_by_stmt_slow(const void *ra, sqlite3_stmt *stmt);
static inline const struct lf_copy *lf_copy_by_db(const void *ra, sqlite3 *db)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1))
        return lf_copy_fast(ra);
    return lf_copy_by_db_slow(ra, db);
}
static inline const struct lf_copy *lf_copy_by_stmt(const void *ra, sqlite3_stmt *stmt)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1))
        return lf_copy_fast(ra);
    return lf_copy_by_stmt_slow(ra, stmt);
}
/* handles.c: statement -> copy, kept only while several copies are loaded */
void lf_stmt_owner_put(sqlite3_stmt *stmt, const struct lf_copy *c);
const struct lf_copy *lf_stmt_owner_get(sqlite3_stmt *stmt);
void lf_stmt_owner_del(sqlite3_stmt *stmt);
/* conn.c: the copy recorded for a connection, or NULL if it is not known */
const struct lf_copy *lf_conn_copy_of(sqlite3 *db);

/* Whether any hooked call has been seen (for the exit-time "unreachable" check). */
int lf_any_call_seen(void);

/* ---- guard: "inside SQLite or the shim" on this thread ------------------------------------ */
/* While set, re-entered hooks pass straight through to the real function. It is set while the
** shim runs statements of its own (PRAGMA journal_mode), and around every real call the shim
** makes for the program except sqlite3_exec: whatever reaches a hook during a program's
** sqlite3_step, prepare, reset or finalize is SQLite running statements of its own on the
** program's connection (VACUUM's BEGIN and ATTACH, FTS3/4/5 and R-tree shadow-table statements,
** schema loading, ALTER TABLE's re-parse), or a callback of the program's (a user function, a
** busy handler) running inside SQLite: neither is a statement that starts or ends the program's
** transaction, so nothing may be rewritten, retried, queued or logged for it. sqlite3_exec is
** the exception: the statements it prepares and steps are the program's own. */
extern LF_TLS int lf_guard;
/* Call into SQLite for the program, with the guard set (see above). */
#define LF_SQLITE_CALL(rc, call)                                                                   \
    do {                                                                                           \
        lf_guard++;                                                                                \
        rc = (call);                                                                               \
        lf_guard--;                                                                                \
    } while (0)

/* ---- config.c ----------------------------------------------------------------------------- */
enum lf_log_dest { LF_LOG_OFF, LF_LOG_STDERR, LF_LOG_FILE };
enum lf_log_level { LF_LEVEL_INFO, LF_LEVEL_DEBUG };

#define LF_MAX_GLOBS 16
#define LF_PATH_MAX 1024

struct lf_config {
    int disable;          /* pass everything through, log nothing */
    int wal;              /* switch writable file databases to WAL */
    int rewrite;          /* BEGIN / BEGIN DEFERRED -> BEGIN IMMEDIATE */
    int retry;            /* retry statements that got SQLITE_BUSY where safe */
    int dry_run;          /* log what would be done, change nothing */
    int queue;            /* fair cross-process writer queue */
    int static_copies;    /* redirect SQLite compiled into the program (static.c) */
    int queue_log_ms;     /* log a queue wait at least this long */
    int queue_slice_us;   /* a turn may cover several short transactions for this long... */
    int queue_linger_us;  /* ...each next one starting within this time; 0 = one per turn */
    int long_turn_ms;     /* log a queue turn held this long while others wait; 0 = never */
    int timeout_ms;       /* busy-timeout floor; 0 disables the floor */
    int retry_budget_ms;  /* total time one statement may spend in retries */
    int log_repeat;       /* identical events logged per connection before only counting */
    enum lf_log_dest log_dest;
    enum lf_log_level log_level;
    char log_path[LF_PATH_MAX];
    char include[LF_PATH_MAX]; /* ':'-separated globs; empty = every database */
    char exclude[LF_PATH_MAX]; /* ':'-separated globs */
};

/* A getenv-like lookup, so parsing can be tested without touching the environment. */
typedef const char *(*lf_getenv_fn)(const char *name, void *ctx);
/* Warning sink for bad values: one call per bad variable. */
typedef void (*lf_warn_fn)(const char *var, const char *value, const char *why, void *ctx);

void lf_config_defaults(struct lf_config *cfg);
/* Fill cfg from the variables (defaults first); returns the number of invalid values. */
int lf_config_parse(struct lf_config *cfg, lf_getenv_fn get, lf_warn_fn warn, void *ctx);
/* The process configuration, parsed once on first use (environment ignored if AT_SECURE). */
const struct lf_config *lf_config(void);
/* Whether the LOCKFIX_* variable was set when the process started (read without parsing). */
int lf_config_env_present(int option_id); /* an enum lf_option_id (options.h) */
/* Whether the database at `path` is selected by LOCKFIX_INCLUDE / LOCKFIX_EXCLUDE. */
int lf_config_selects(const struct lf_config *cfg, const char *path);

/* ---- glob.c ------------------------------------------------------------------------------- */
/* fnmatch-like: '*' '?' '[...]'; '*' matches '/' too (so "*.db" matches any path ending .db). */
int lf_glob_match(const char *pattern, size_t plen, const char *str);
/* Whether any pattern of a ':'-separated list matches. */
int lf_glob_list_match(const char *list, const char *str);

/* ---- log.c -------------------------------------------------------------------------------- */
/* Format one line "lockfix[pid]: ..." in a stack buffer and write it with one write().
** Never allocates, never calls SQLite, drops the line if called recursively. */
void lf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug-level lines (may contain SQL text): only with LOCKFIX_LOG_LEVEL=debug. */
int lf_log_debug_enabled(void);
/* Copy `sql` into dst (at most cap-1 bytes) with control characters replaced, for debug logs. */
void lf_log_sql(char *dst, size_t cap, const char *sql);

/* ---- rewrite.c: pure SQL analysis and rewriting ------------------------------------------- */
/* A text being prepared: UTF-8 bytes (wide=0) or native-endian UTF-16 code units (wide=1).
** n counts units and stops at the first NUL unit, as SQLite does. */
struct lf_text {
    const void *p;
    size_t n;
    int wide;
};

enum lf_stmt_kind {
    LF_STMT_EMPTY,           /* only whitespace and comments */
    LF_STMT_OTHER,           /* anything lockfix does not touch */
    LF_STMT_BEGIN_DEFERRED,  /* BEGIN, BEGIN DEFERRED, BEGIN TRANSACTION [name] */
    LF_STMT_BEGIN_IMMEDIATE, /* BEGIN IMMEDIATE / BEGIN EXCLUSIVE: already takes the write lock */
    LF_STMT_COMMIT,          /* COMMIT / END [TRANSACTION] */
    LF_STMT_ROLLBACK,        /* ROLLBACK [TRANSACTION] (not ROLLBACK TO) */
    LF_STMT_PRAGMA_TIMEOUT,  /* PRAGMA [schema.]busy_timeout = N | (N) */
    LF_STMT_SAVEPOINT,       /* SAVEPOINT name: in autocommit mode, opens a deferred transaction */
};

/* What one statement is, and the single edit lockfix would make to it. Offsets in units. */
struct lf_stmt {
    enum lf_stmt_kind kind;
    size_t start;      /* first token */
    size_t end;        /* just past the terminating ';', or text end */
    long long value;   /* PRAGMA busy_timeout value, when kind is LF_STMT_PRAGMA_TIMEOUT */
    size_t edit_at;    /* replace units [edit_at, edit_at+edit_len) ... */
    size_t edit_len;
    char edit_with[24]; /* ... by this ASCII text; edit_with[0]==0 means no edit */
};

/* Units in a caller's text as SQLite reads it: up to nByte bytes (an odd count rounded up to
** whole UTF-16 units, as SQLite does), stopping at a NUL unit. Pure. */
size_t lf_text_units(const void *sql, int nbyte, int wide);

/* Classify the statement starting at unit `from`; fills `st`; returns 0. `floor_ms` decides
** whether a PRAGMA busy_timeout is raised (0: never). Pure. */
int lf_sql_classify(const struct lf_text *t, size_t from, long floor_ms, int rewrite_begin,
                    struct lf_stmt *st);

/* Result of rewriting a text for prepare: only the first statement is compiled by SQLite, so
** only it is edited. The new text holds the original up to the end of that statement, edited. */
struct lf_rewritten {
    void *p;           /* malloc'd, NUL-terminated (in its unit width); NULL if nothing changed */
    size_t n;          /* units, without the terminator */
    struct lf_stmt st; /* the first non-empty statement and its edit */
};
/* Returns 1 and fills out when the first statement must change, 0 if not, -1 on no memory. */
int lf_rewrite_first(const struct lf_text *t, long floor_ms, int rewrite_begin,
                     struct lf_rewritten *out);
/* The kind of the first non-empty statement of a UTF-8 text (as sqlite3_sql() returns it, with
** any leading empty statements and comments). Pure. */
enum lf_stmt_kind lf_sql_first_kind(const char *sql);
/* Map a unit offset in the rewritten text back to the caller's text. */
size_t lf_rewrite_map_back(const struct lf_rewritten *rw, size_t offset);

/* Rewrite every statement of a UTF-8 text (for sqlite3_exec). Returns a malloc'd string and
** counts the edits, or NULL with *nbegin == *ntimeout == 0 when nothing changes (or no memory:
** then *oom is set). `nstmts` receives the number of non-empty statements. */
char *lf_rewrite_all(const char *sql, long floor_ms, int rewrite_begin, int *nbegin,
                     int *ntimeout, int *nstmts, enum lf_stmt_kind *first_kind, int *oom);

/* ---- retry.c: when a busy statement may be run again, and how long to wait ---------------- */
struct lf_busy_ctx {
    int rc;               /* what the call returned (extended code when known) */
    int was_autocommit;   /* connection in autocommit mode before the call */
    int was_running;      /* statement had returned a row since its last reset */
    enum lf_stmt_kind kind;
    int is_prepare;       /* the failed call was a prepare: nothing ran */
};
enum lf_retry_verdict {
    LF_RETRY_YES,
    LF_RETRY_NOT_BUSY,     /* not SQLITE_BUSY */
    LF_RETRY_SNAPSHOT,     /* SQLITE_BUSY_SNAPSHOT: only a rollback helps */
    LF_RETRY_IN_TXN,       /* inside an explicit transaction: program must roll back */
    LF_RETRY_ROWS_RETURNED /* rows already went to the program */
};
enum lf_retry_verdict lf_retry_decide(const struct lf_busy_ctx *ctx);
const char *lf_retry_verdict_name(enum lf_retry_verdict v);
/* Sleep before attempt `attempt` (1-based): exponential from 1 ms to 100 ms, with jitter, never
** past what is left of the budget. `seed` is per-thread state. Returns the chosen ms. Pure. */
long lf_retry_backoff_ms(int attempt, long remaining_ms, unsigned *seed);
const char *lf_rc_name(int rc);

/* ---- platform.c --------------------------------------------------------------------------- */
long long lf_now_ms(void);
void lf_sleep_ms(long ms);
int lf_secure_exec(void); /* set-uid/set-gid/capabilities: ignore the environment */
/* Why WAL is unsafe on the filesystem holding `path`, or NULL if it is fine. */
const char *lf_fs_wal_unsafe(const char *path, char *fsname, size_t cap);

/* ---- conn.c: what lockfix knows about each connection ------------------------------------- */
/* The counted events (events.def.h): LF_EV_BEGIN_REWRITTEN, ..., then LF_EV_COUNT. */
#define LF_EV_ENUM(id, name, key) LF_EV_##id,
enum lf_event { LF_COUNTED_EVENTS(LF_EV_ENUM) LF_EV_COUNT };
#undef LF_EV_ENUM
struct lf_conn; /* opaque */
/* Register a connection after a successful open (path may be "" for memory/temp). */
struct lf_conn *lf_conn_add(sqlite3 *db, const struct lf_copy *copy, const char *path);
/* Find a connection; if unknown (opened where the shim could not see), register it. */
struct lf_conn *lf_conn_get(sqlite3 *db, const struct lf_copy *copy);
struct lf_conn *lf_conn_detach(sqlite3 *db);
void lf_conn_reattach(struct lf_conn *c);
void lf_conn_closed(struct lf_conn *c);
const char *lf_conn_path(const struct lf_conn *c);
/* Whether lockfix acts on the connection: a file database selected by include/exclude. A private
** in-memory or temporary database cannot be contended: it is left exactly as the program made it. */
int lf_conn_enabled(const struct lf_conn *c);
int lf_conn_own_handler(const struct lf_conn *c);
void lf_conn_set_own_handler(struct lf_conn *c, int on);
int lf_conn_timeout(const struct lf_conn *c);
void lf_conn_set_timeout(struct lf_conn *c, int ms);
/* Count an event; returns 1 if it should be logged (the first log_repeat times). */
int lf_conn_event(struct lf_conn *c, enum lf_event ev);
/* A new, empty database file is switched to WAL at its connection's first write, not at open
** (open_policy.c): until then the program may still choose its page size and auto_vacuum. */
int lf_conn_wal_pending(const struct lf_conn *c);
/* Set or clear it; returns what it was (so that one thread alone does the switch). */
int lf_conn_set_wal_pending(struct lf_conn *c, int on);
/* How many connections wait for that switch (read on the hot path: while 0, nothing to do). */
extern _Atomic int lf_wal_pending_conns;
static inline int lf_wal_pending_any(void)
{
    return atomic_load_explicit(&lf_wal_pending_conns, memory_order_relaxed) != 0;
}
void lf_conn_report_all(void); /* summaries of connections still open, at exit */

/* ---- unreachable.c ----------------------------------------------------------------------- */
/* At exit, when no call came through: log each loaded SQLite copy lockfix could not reach. */
void lf_report_unreachable(void);

/* ---- queue.c: the fair writer queue ------------------------------------------------------ */
struct lf_queue;
/* A connection's turn (kept in its lf_conn). A connection may be used by several threads, and
** the shim's code around SQLite's calls is not under SQLite's mutex: the turn's operations take
** `lock`, so that a turn is taken, kept and handed on exactly once. */
enum lf_turn_state { LF_TURN_NONE, LF_TURN_HOLDING, LF_TURN_LINGERING };
struct lf_turn {
    _Atomic int lock;
    _Atomic int state; /* enum lf_turn_state; read without the lock only as a hint */
    uint32_t ticket;
    int64_t began_ns; /* when a contended turn began; 0 if it was free when asked for */
    /* At LOCKFIX_LOG_LEVEL=debug only (turn.c): when the turn's transaction began, and its SQL. */
    long long debug_began_ms;
    char debug_sql[200];
};
/* The queue of the database at dbpath, mapped once for the process's life (a connection may
** reopen soon); NULL when there can be none. */
struct lf_queue *lf_queue_open(const char *dbpath);
/* Wait for conn's turn; 1 when held, 0 when the queue was bypassed (SQLite's locking decides). */
int lf_queue_acquire(struct lf_queue *q, struct lf_conn *conn, long budget_ms, long *waited_ms);
/* Hand conn's turn on now (a close); does nothing when it holds none. */
void lf_queue_release(struct lf_queue *q, struct lf_conn *conn);
/* A connection that used the queue is gone: when no connection of any process uses the queue any
** more, its file is removed, as SQLite removes a WAL database's -shm at the last close. */
void lf_queue_put(struct lf_queue *q);
/* conn is back in autocommit mode: hand its turn on, or keep it a little (time slices). */
void lf_queue_txn_done(struct lf_queue *q, struct lf_conn *conn, long slice_us, long linger_us);
/* conn starts a write: 1 if it holds a turn (kept since its last transaction), else 0. */
int lf_queue_resume(struct lf_queue *q, struct lf_conn *conn);
/* How many turns this process holds now: while 0, nothing needs releasing (the fast path). */
extern _Atomic int lf_queue_turns_held;
/* long_turn.c: the head waiter of `queue` (whose database is `dbpath`) sees ticket `serving`
** held by process `pid` while `waiting` writers wait: logs one long-turn line per turn once it
** has been held LOCKFIX_LONG_TURN_MS. */
void lf_long_turn_watch(const void *queue, const char *dbpath, uint32_t serving, int32_t pid,
                        uint32_t waiting, int64_t now_ns);
/* LOCKFIX_QUEUE, read once with the configuration (checked on the hot path). */
extern int lf_queue_enabled;

/* conn.c: the connection's queue and turn */
struct lf_queue *lf_conn_queue(struct lf_conn *c);
struct lf_turn *lf_conn_turn(struct lf_conn *c); /* NULL for NULL */
/* Whether conn holds a turn, kept or not (a hint: read without the turn's lock). */
static inline int lf_conn_has_turn(struct lf_conn *c)
{
    struct lf_turn *t = lf_conn_turn(c);
    return t != NULL && atomic_load_explicit(&t->state, memory_order_relaxed) != LF_TURN_NONE;
}

/* Whether this process holds a turn now: while it holds none, no call can have a turn to end. */
static inline int lf_turns_held(void)
{
    return atomic_load_explicit(&lf_queue_turns_held, memory_order_relaxed) > 0;
}

/* ---- turn.c: when a connection takes, keeps and hands on its turn -------------------------- */
/* Before a writing statement starts in autocommit mode: the WAL switch a new database waits for,
** then the turn. Fixes *deadline when the turn had to be waited for; returns the busy timeout to
** put back after the step when it was cut to what is left of the deadline (0: none). */
long lf_turn_before_write(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt,
                          long long *deadline);
/* The connection is back in autocommit mode: its turn goes on. `stmt`: the statement just
** stepped if it may still be running (an autocommit RETURNING write keeps the turn), else NULL. */
void lf_turn_end(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt);
/* The same, after asking whether the connection is back in autocommit mode. */
void lf_turn_end_if_done(const struct lf_copy *c, sqlite3 *db, sqlite3_stmt *stmt);

/* ---- deadline.c: one deadline per statement ------------------------------------------------ */
/* SQLite's busy timeout on this connection as lockfix knows it; 0 if unknown or an own handler. */
long lf_sqlite_wait_ms(const struct lf_conn *conn);
/* The longest one statement may wait in all: the budget, or the connection's timeout if longer. */
long lf_statement_budget_ms(const struct lf_conn *conn);
/* The deadline of a statement whose call just came back busy (`deadline`: one already fixed). */
long long lf_busy_deadline(const struct lf_conn *conn, long long deadline);
/* Set the connection's busy timeout without the hooks seeing it. */
void lf_set_timeout(const struct lf_copy *c, sqlite3 *db, long ms);

/* ---- policies (open_policy.c, stmt.c) ----------------------------------------------------- */
void lf_open_policy(const struct lf_copy *c, sqlite3 *db, const char *zfilename, int flags);
/* Run one statement of lockfix's own on db (the caller sets the guard); copies the first column
** of the first row into out. Returns SQLite's code. */
int lf_run_own(const struct lf_copy *c, sqlite3 *db, const char *sql, char *out, size_t cap);
/* The WAL switch deferred at open, done before the connection's first write (in autocommit). */
void lf_wal_at_first_write(const struct lf_copy *c, sqlite3 *db, struct lf_conn *conn);

/* lf_missing*: no real function for this caller: log once, fail with an SQLite error. */
int lf_missing(const char *name);
int lf_missing_open(const char *name, sqlite3 **ppDb);
int lf_missing_stmt(const char *name, sqlite3_stmt **ppStmt);
sqlite3_backup *lf_missing_backup(const char *name);
/* backup.c: the copy a backup belongs to (recorded at sqlite3_backup_init) */
const struct lf_copy *lf_copy_by_backup_slow(const void *ra, sqlite3_backup *p);
static inline const struct lf_copy *lf_copy_by_backup(const void *ra, sqlite3_backup *p)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_ncopies, memory_order_relaxed) <= 1))
        return lf_copy_fast(ra);
    return lf_copy_by_backup_slow(ra, p);
}

/* The internal function behind each hook: same parameters, preceded by the caller's copy. */
#define LF_UNPAREN(...) __VA_ARGS__
#define LF_IMPL_DECL(ret, name, params, on_missing, ...)                                           \
    ret lf_impl_##name(const struct lf_copy *c, LF_UNPAREN params);
LF_HOOKS_COLD(LF_IMPL_DECL)
#undef LF_IMPL_DECL
int lf_impl_sqlite3_step(const struct lf_copy *c, sqlite3_stmt *stmt);
/* reset (and finalize) end an autocommit write that was not stepped to its end, which only a
** process holding a turn can need. The count of turns is read before the reset, so that the
** common case is a plain jump to SQLite: a reset takes no turn, and a turn its connection holds
** was taken by an earlier step, which the program ordered before this reset. */
int lf_reset_holding(const struct lf_copy *c, sqlite3_stmt *stmt); /* stmt.c */
static inline int lf_impl_sqlite3_reset(const struct lf_copy *c, sqlite3_stmt *stmt)
{
    if (LF_LIKELY(atomic_load_explicit(&lf_queue_turns_held, memory_order_relaxed) <= 0)) {
        int rc; /* a reset may end an autocommit write, whose commit runs SQLite's own statements */
        LF_SQLITE_CALL(rc, c->sqlite3_reset(stmt));
        return rc;
    }
    return lf_reset_holding(c, stmt);
}
/* Set once the configuration is read: LOCKFIX_DISABLE=1 makes every hook a plain forwarder. */
extern int lf_disabled;

#pragma GCC visibility pop

#endif

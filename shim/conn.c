/*
** What lockfix knows about each open connection: the database path (for logs and the
** include/exclude globs), the busy timeout it asked for, whether the program installed its own
** busy handler, and how often each event happened, so that a busy program logs an event the
** first time(s) and a count when the connection closes or the process exits.
**
** A hash table keyed by the sqlite3* handle, under one mutex: it is used at open, close and on
** the slow paths (prepare, busy), never on a successful sqlite3_step.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "base.h"
#include "config.h"
#include "events.def.h"
#include "log.h"
#include "platform.h"
#include "queue.h"
#include "resolve.h"
#include "turn.h"

#define LF_BUCKETS 1024

struct lf_conn {
    sqlite3 *db;
    const struct lf_copy *copy;
    struct lf_conn *next;
    int enabled;
    int own_handler;
    enum lf_conn_readonly readonly;
    _Atomic int wal_pending; /* a new database file: switched to WAL at the first write */
    int timeout_ms;
    struct lf_queue *queue; /* opened at the first write, NULL if it could not be */
    int queue_tried;
    struct lf_turn turn;
    unsigned long count[LF_EV_COUNT];
    char path[LF_PATH_MAX];
};

static struct lf_conn *buckets[LF_BUCKETS];
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;

/* The connection this thread looked up last, valid while no record has been removed since
** (`generation` changes at every removal, so a freed record is never returned). */
static _Atomic unsigned generation;
static LF_TLS struct {
    sqlite3 *db;
    struct lf_conn *conn;
    unsigned generation;
} last;

#define LF_EV_KEY(id, name, key) key,
static const char *event_names[LF_EV_COUNT] = {LF_COUNTED_EVENTS(LF_EV_KEY)};
#undef LF_EV_KEY

static size_t bucket_of(const sqlite3 *db)
{
    uintptr_t x = (uintptr_t)db;
    return (size_t)((x >> 4) ^ (x >> 14)) % LF_BUCKETS;
}

static struct lf_conn *find_locked(sqlite3 *db)
{
    for (struct lf_conn *c = buckets[bucket_of(db)]; c; c = c->next)
        if (c->db == db)
            return c;
    return NULL;
}

struct lf_conn *lf_conn_add(sqlite3 *db, const struct lf_copy *copy, const char *path)
{
    struct lf_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->db = db;
    c->copy = copy;
    strncpy(c->path, path ? path : "", sizeof c->path - 1);
    c->enabled = c->path[0] != '\0' && lf_config_selects(lf_config(), c->path);
    c->timeout_ms = -1;
    pthread_mutex_lock(&conn_lock);
    struct lf_conn *old = find_locked(db);
    if (old != NULL) { /* a handle reused after a close the shim did not see */
        memcpy(old->path, c->path, sizeof c->path);
        old->copy = copy;
        old->enabled = c->enabled;
        old->own_handler = 0;
        old->readonly = LF_RO_NO;
        old->timeout_ms = -1;
        lf_conn_set_wal_pending(old, 0);
        memset(old->count, 0, sizeof old->count);
        lf_turn_end_at_close(old, old->queue);
        lf_queue_put(old->queue);
        old->queue = NULL;
        old->queue_tried = 0;
        free(c);
        c = old;
    } else {
        size_t b = bucket_of(db);
        c->next = buckets[b];
        buckets[b] = c;
    }
    pthread_mutex_unlock(&conn_lock);
    return c;
}

/* Not the connection this thread looked up last: the table, under the lock. */
__attribute__((noinline)) static struct lf_conn *conn_get_slow(sqlite3 *db,
                                                               const struct lf_copy *copy,
                                                               unsigned gen)
{
    pthread_mutex_lock(&conn_lock);
    struct lf_conn *c = find_locked(db);
    pthread_mutex_unlock(&conn_lock);
    if (c != NULL) {
        last.db = db;
        last.conn = c;
        last.generation = gen;
        return c;
    }
    /* Opened where the shim could not see it (before it was loaded, or inside a copy that calls
    ** its own open directly): learn it now. */
    const char *path = "";
    int main_ro = 0;
    lf_guard++;
    if (copy->sqlite3_db_filename != NULL)
        path = copy->sqlite3_db_filename(db, "main");
    if (copy->sqlite3_db_readonly != NULL)
        main_ro = copy->sqlite3_db_readonly(db, "main") == 1;
    lf_guard--;
    struct lf_conn *added = lf_conn_add(db, copy, path ? path : "");
    /* its open flags are unknown: at most its main database's state is */
    lf_conn_set_readonly(added, main_ro ? LF_RO_MAIN : LF_RO_NO);
    return added;
}

struct lf_conn *lf_conn_get(sqlite3 *db, const struct lf_copy *copy)
{
    if (db == NULL)
        return NULL;
    unsigned gen = atomic_load_explicit(&generation, memory_order_acquire);
    if (last.db == db && last.generation == gen)
        return last.conn;
    return conn_get_slow(db, copy, gen);
}

const struct lf_copy *lf_conn_copy_of(sqlite3 *db)
{
    pthread_mutex_lock(&conn_lock);
    struct lf_conn *c = find_locked(db);
    const struct lf_copy *copy = c ? c->copy : NULL;
    pthread_mutex_unlock(&conn_lock);
    return copy;
}

static void report(const struct lf_conn *c, const char *when)
{
    char counts[256];
    size_t k = 0;
    int any_suppressed = 0;
    int repeat = lf_config()->log_repeat;
    counts[0] = '\0';
    for (int e = 0; e < LF_EV_COUNT; e++) {
        if (c->count[e] == 0)
            continue;
        if (c->count[e] > (unsigned long)repeat)
            any_suppressed = 1;
        int n = snprintf(counts + k, sizeof counts - k, " %s=%lu", event_names[e], c->count[e]);
        if (n > 0 && (size_t)n < sizeof counts - k)
            k += (size_t)n;
    }
    if (any_suppressed)
        lf_log("summary db=%s at=%s%s", c->path[0] ? c->path : ":memory:", when, counts);
}

/* Take the record out of the table (before the real close: once closed, another thread's open
** may get the same address, and its record must not be the one removed). */
struct lf_conn *lf_conn_detach(sqlite3 *db)
{
    pthread_mutex_lock(&conn_lock);
    struct lf_conn **pp = &buckets[bucket_of(db)], *c = NULL;
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->db == db) {
            c = *pp;
            *pp = c->next;
            break;
        }
    }
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
    pthread_mutex_unlock(&conn_lock);
    return c;
}

/* Put back a record whose close failed (SQLITE_BUSY: the connection stays open). */
void lf_conn_reattach(struct lf_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&conn_lock);
    size_t b = bucket_of(c->db);
    c->next = buckets[b];
    buckets[b] = c;
    pthread_mutex_unlock(&conn_lock);
}

/* The connection is closed: its turn goes on, its counts are reported, the record is freed. */
void lf_conn_closed(struct lf_conn *c)
{
    if (c == NULL)
        return;
    lf_turn_end_at_close(c, c->queue); /* closed inside a transaction: the turn goes on */
    lf_queue_put(c->queue);
    lf_conn_set_wal_pending(c, 0);
    report(c, "close");
    free(c);
}

void lf_conn_report_all(void)
{
    pthread_mutex_lock(&conn_lock);
    for (size_t b = 0; b < LF_BUCKETS; b++)
        for (struct lf_conn *c = buckets[b]; c; c = c->next)
            report(c, "exit");
    pthread_mutex_unlock(&conn_lock);
}

const char *lf_conn_path(const struct lf_conn *c)
{
    return c && c->path[0] ? c->path : ":memory:";
}

int lf_conn_enabled(const struct lf_conn *c)
{
    return c == NULL || c->enabled;
}

int lf_conn_own_handler(const struct lf_conn *c)
{
    return c != NULL && c->own_handler;
}

void lf_conn_set_own_handler(struct lf_conn *c, int on)
{
    if (c)
        c->own_handler = on;
}

enum lf_conn_readonly lf_conn_readonly(const struct lf_conn *c)
{
    return c ? c->readonly : LF_RO_NO;
}

void lf_conn_set_readonly(struct lf_conn *c, enum lf_conn_readonly ro)
{
    if (c)
        c->readonly = ro;
}

enum lf_conn_queues lf_conn_queues(const struct lf_conn *c)
{
    if (c == NULL)
        return LF_QUEUES_YES;
    if (c->own_handler || c->readonly == LF_RO_OPEN)
        return LF_QUEUES_NO;
    return c->readonly == LF_RO_MAIN ? LF_QUEUES_IF_WRITABLE : LF_QUEUES_YES;
}

int lf_conn_timeout(const struct lf_conn *c)
{
    return c ? c->timeout_ms : -1;
}

void lf_conn_set_timeout(struct lf_conn *c, int ms)
{
    if (c)
        c->timeout_ms = ms;
}

/* The queue is opened lazily, at the connection's first write: a program that only reads never
** creates the queue file. */
__attribute__((noinline)) static struct lf_queue *conn_queue_open(struct lf_conn *c)
{
    c->queue_tried = 1;
    char fs[32];
    /* shared memory is not coherent between hosts on network filesystems: no queue there */
    if (lf_fs_wal_unsafe(c->path, fs, sizeof fs) == NULL)
        c->queue = lf_queue_open(c->path);
    return c->queue;
}

struct lf_queue *lf_conn_queue(struct lf_conn *c)
{
    if (c == NULL || !c->enabled || c->path[0] == '\0')
        return NULL;
    if (!c->queue_tried)
        return conn_queue_open(c);
    return c->queue;
}

struct lf_turn *lf_conn_turn(struct lf_conn *c)
{
    return c ? &c->turn : NULL;
}

_Atomic int lf_wal_pending_conns;

int lf_conn_wal_pending(const struct lf_conn *c)
{
    return c != NULL && atomic_load_explicit(&c->wal_pending, memory_order_relaxed);
}

int lf_conn_set_wal_pending(struct lf_conn *c, int on)
{
    if (c == NULL)
        return 0;
    int was = atomic_exchange(&c->wal_pending, on);
    if (was != on)
        atomic_fetch_add(&lf_wal_pending_conns, on ? 1 : -1);
    return was;
}

int lf_conn_event(struct lf_conn *c, enum lf_event ev)
{
    if (c == NULL)
        return 1;
    unsigned long n = __atomic_add_fetch(&c->count[ev], 1, __ATOMIC_RELAXED);
    return n <= (unsigned long)lf_config()->log_repeat;
}

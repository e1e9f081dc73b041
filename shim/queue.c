/*
** A fair writer queue shared by every process that uses one database under lockfix.
**
** SQLite's busy handler polls with growing sleeps (up to 100 ms), so a writer that has waited long
** polls rarely and newcomers overtake it: the median wait stays small while the tail grows to the
** timeout. Instead, lockfix's writers take a ticket and are woken, in ticket order, when the writer
** before them finishes.
**
** The state lives in `<database>-lockfix`, a small file beside the database (like SQLite's -shm),
** mapped shared: a ticket counter, the ticket being served, and a ring of slots saying which
** process holds each ticket. Waiters sleep on their own slot's futex word, so a release wakes
** exactly the next writer instead of the whole herd. The file is created with the database's
** permissions minus world-write, so only those who may write the database can join its queue.
**
** Crashes: a process killed while it holds or waits for a ticket cannot release it. The waiter at
** the head of the queue checks, every few milliseconds, whether the holder's process still exists
** (kill(pid, 0)) and skips its ticket if not; other waiters check less often. A waiter that gives
** up (its budget spent) marks its ticket abandoned, and whoever meets it skips it. Processes in
** different pid namespaces cannot see each other's pids: there a dead holder is only passed over
** when the waiter's budget runs out, after which it falls back to SQLite's own locking.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lockfix.h"

#define Q_MAGIC 0x4c4b4651u /* "LKFQ" */
#define Q_VERSION 1u
#define Q_RING 1024u /* tickets in flight at once; more waiters than this bypass the queue */
#define Q_HEAD_POLL_MS 5
#define Q_TAIL_POLL_MS 50
#define Q_UNPUBLISHED_GRACE_MS 200
#define Q_HEAD_SPINS 64 /* sched_yield rounds the head waiter tries before sleeping */

enum { SLOT_FREE, SLOT_WAITING, SLOT_HOLDING, SLOT_ABANDONED };

struct q_slot {
    _Atomic uint32_t ticket; /* which ticket this slot describes now */
    _Atomic int32_t pid;
    _Atomic uint32_t state;
    _Atomic uint32_t wake; /* futex word: bumped to wake this slot's waiter */
};

struct q_shared {
    uint32_t magic, version;
    _Atomic uint32_t next;    /* next ticket to hand out */
    _Atomic uint32_t serving; /* ticket allowed to write now */
    uint32_t pad[12];
    struct q_slot slot[Q_RING];
};

struct lf_queue {
    char path[LF_PATH_MAX];
    struct q_shared *sh;
    int refs;
    struct lf_conn *_Atomic holder; /* the connection of this process holding the turn, if any */
    struct lf_queue *next;
};

static struct lf_queue *queues;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic int lf_queue_turns_held;

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

static void wake_slot(struct q_shared *sh, uint32_t ticket)
{
    struct q_slot *s = &sh->slot[ticket % Q_RING];
    atomic_fetch_add(&s->wake, 1);
    futex(&s->wake, FUTEX_WAKE, INT_MAX, NULL);
}

static int pid_dead(int32_t pid)
{
    return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

/* Open (creating if needed) and map the queue file of the database at `dbpath`. */
static struct q_shared *map_queue(const char *dbpath, char *qpath, size_t cap)
{
    struct stat st;
    if (stat(dbpath, &st) != 0)
        return NULL;
    size_t len = strlen(dbpath);
    if (len + sizeof "-lockfix" > cap)
        return NULL;
    memcpy(qpath, dbpath, len);
    memcpy(qpath + len, "-lockfix", sizeof "-lockfix");
    mode_t mode = st.st_mode & 0664; /* the database's permissions, never world-writable */
    int fd = open(qpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
    if (fd < 0)
        return NULL;
    struct stat qst;
    if (fstat(fd, &qst) != 0 || !S_ISREG(qst.st_mode)) {
        close(fd);
        return NULL;
    }
    if (geteuid() == 0 && (qst.st_uid != st.st_uid || qst.st_gid != st.st_gid))
        (void)!fchown(fd, st.st_uid, st.st_gid); /* root must not lock others out of their queue */
    if ((size_t)qst.st_size < sizeof(struct q_shared) &&
        ftruncate(fd, sizeof(struct q_shared)) != 0) {
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, sizeof(struct q_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    struct q_shared *sh = p;
    /* A new file is all zeros, which is a valid empty queue; the header only identifies it. */
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(&sh->magic, &zero, Q_MAGIC, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        sh->version = Q_VERSION;
    if (sh->magic != Q_MAGIC) {
        munmap(p, sizeof(struct q_shared));
        return NULL;
    }
    return sh;
}

struct lf_queue *lf_queue_open(const char *dbpath)
{
    if (dbpath == NULL || dbpath[0] == '\0')
        return NULL;
    pthread_mutex_lock(&queue_lock);
    struct lf_queue *q;
    for (q = queues; q; q = q->next)
        if (strcmp(q->path, dbpath) == 0)
            break;
    if (q == NULL) {
        char qpath[LF_PATH_MAX];
        struct q_shared *sh = map_queue(dbpath, qpath, sizeof qpath);
        if (sh != NULL && (q = calloc(1, sizeof *q)) != NULL) {
            strncpy(q->path, dbpath, sizeof q->path - 1);
            q->sh = sh;
            q->next = queues;
            queues = q;
        } else if (sh != NULL) {
            munmap(sh, sizeof *sh);
        }
    }
    if (q)
        q->refs++;
    pthread_mutex_unlock(&queue_lock);
    return q;
}

/* Move `serving` past tickets whose owners are gone or gave up, starting at `s`; returns the
** ticket now served. */
static uint32_t skip_dead(struct q_shared *sh, uint32_t s, long long *unpublished_since)
{
    for (;;) {
        if ((int32_t)(atomic_load(&sh->next) - s) <= 0)
            return s; /* nobody holds or waits for s yet */
        struct q_slot *slot = &sh->slot[s % Q_RING];
        int skip = 0;
        if (atomic_load(&slot->ticket) != s) {
            /* taken but not yet published: its owner is between two instructions, or died there */
            long long now = lf_now_ms();
            if (*unpublished_since == 0)
                *unpublished_since = now;
            skip = now - *unpublished_since > Q_UNPUBLISHED_GRACE_MS;
        } else {
            uint32_t state = atomic_load(&slot->state);
            skip = state == SLOT_ABANDONED || pid_dead(atomic_load(&slot->pid));
        }
        if (!skip)
            return s;
        *unpublished_since = 0;
        uint32_t expect = s;
        if (atomic_compare_exchange_strong(&sh->serving, &expect, s + 1)) {
            lf_log("queue-skipped ticket=%u (its process is gone or gave up)", s);
            wake_slot(sh, s + 1);
            s = s + 1;
        } else {
            s = expect; /* someone else moved it */
        }
    }
}

/*
** Wait for this connection's turn to write. Returns 1 when the turn is held, 0 when the queue was
** bypassed (no queue, another connection of this process holds the turn, too many waiters, or the
** budget ran out): the caller then contends through SQLite's locks as before.
*/
int lf_queue_acquire(struct lf_queue *q, struct lf_conn *conn, long budget_ms, long *waited_ms)
{
    *waited_ms = 0;
    if (q == NULL)
        return 0;
    /* Two connections of this process to one database must not wait on each other: the second
    ** one contends through SQLite, as it would without the queue. */
    if (atomic_load(&q->holder) != NULL)
        return 0;

    struct q_shared *sh = q->sh;
    uint32_t t = atomic_fetch_add(&sh->next, 1);
    struct q_slot *slot = &sh->slot[t % Q_RING];
    if ((int32_t)(t - atomic_load(&sh->serving)) >= (int32_t)Q_RING) {
        /* more waiters than slots: give the ticket up at once */
        atomic_store(&slot->state, SLOT_ABANDONED);
        atomic_store(&slot->ticket, t);
        return 0;
    }
    atomic_store(&slot->pid, (int32_t)getpid());
    atomic_store(&slot->state, SLOT_WAITING);
    atomic_store(&slot->ticket, t); /* published: from here on it can be checked and skipped */

    long long start = 0, unpublished_since = 0;
    int spins = 0;
    if (atomic_load(&sh->serving) == t)
        goto turn; /* uncontended: no clock, no wait */
    start = lf_now_ms();
    for (;;) {
        uint32_t seen = atomic_load(&slot->wake);
        uint32_t s = atomic_load(&sh->serving);
        if (s == t)
            break;
        if ((int32_t)(s - t) > 0) {
            /* passed over (someone judged us gone): take no turn, let SQLite decide */
            *waited_ms = (long)(lf_now_ms() - start);
            return 0;
        }
        long waited = (long)(lf_now_ms() - start);
        if (waited >= budget_ms) {
            atomic_store(&slot->state, SLOT_ABANDONED);
            /* if it became our turn meanwhile, hand it on */
            uint32_t expect = t;
            if (atomic_compare_exchange_strong(&sh->serving, &expect, t + 1))
                wake_slot(sh, t + 1);
            *waited_ms = waited;
            return 0;
        }
        int head = s + 1 == t;
        if (head || (int32_t)(t - s) <= 2)
            s = skip_dead(sh, s, &unpublished_since);
        if (s == t)
            break;
        if (head && spins < Q_HEAD_SPINS) {
            /* the next writer: short transactions end within microseconds, sooner than a
            ** futex sleep and wake-up; yield the CPU (to the holder, on a busy machine) instead */
            spins++;
            sched_yield();
            continue;
        }
        long poll = head ? Q_HEAD_POLL_MS : Q_TAIL_POLL_MS;
        if (poll > budget_ms - waited)
            poll = budget_ms - waited;
        struct timespec ts = {poll / 1000, (poll % 1000) * 1000000L};
        futex(&slot->wake, FUTEX_WAIT, seen, &ts);
        if (!head && (int32_t)(t - atomic_load(&sh->serving)) > 0) {
            /* a long wait at the tail: make sure the head is not a dead process nobody checks */
            uint32_t s2 = atomic_load(&sh->serving);
            skip_dead(sh, s2, &unpublished_since);
        }
    }
    *waited_ms = (long)(lf_now_ms() - start);
turn:
    atomic_store(&slot->state, SLOT_HOLDING);
    struct lf_conn *none = NULL;
    if (!atomic_compare_exchange_strong(&q->holder, &none, conn)) {
        /* another connection of this process got a turn meanwhile: hand ours on */
        atomic_store(&slot->state, SLOT_FREE);
        uint32_t expect = t;
        if (atomic_compare_exchange_strong(&sh->serving, &expect, t + 1))
            wake_slot(sh, t + 1);
        return 0;
    }
    lf_conn_set_turn(conn, t);
    atomic_fetch_add(&lf_queue_turns_held, 1);
    return 1;
}

/* Hand the turn held by conn to the next writer. */
void lf_queue_release(struct lf_queue *q, struct lf_conn *conn)
{
    uint32_t t;
    if (q == NULL || !lf_conn_turn(conn, &t))
        return;
    struct q_shared *sh = q->sh;
    atomic_store(&sh->slot[t % Q_RING].state, SLOT_FREE);
    struct lf_conn *me = conn;
    atomic_compare_exchange_strong(&q->holder, &me, NULL);
    lf_conn_clear_turn(conn);
    atomic_fetch_sub(&lf_queue_turns_held, 1);
    uint32_t expect = t;
    if (atomic_compare_exchange_strong(&sh->serving, &expect, t + 1)) {
        /* skip tickets given up while we held the turn, then wake the next writer */
        uint32_t s = t + 1;
        while ((int32_t)(atomic_load(&sh->next) - s) > 0 &&
               atomic_load(&sh->slot[s % Q_RING].ticket) == s &&
               atomic_load(&sh->slot[s % Q_RING].state) == SLOT_ABANDONED) {
            uint32_t e = s;
            if (!atomic_compare_exchange_strong(&sh->serving, &e, s + 1))
                break;
            s++;
        }
        if ((int32_t)(atomic_load(&sh->next) - s) > 0)
            wake_slot(sh, s); /* only when someone holds a later ticket: no syscall otherwise */
    }
}

void lf_queue_close(struct lf_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&queue_lock);
    q->refs--; /* mappings are kept for the process's life: a connection may reopen soon */
    pthread_mutex_unlock(&queue_lock);
}

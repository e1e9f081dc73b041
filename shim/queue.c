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
** process holds each ticket. Like the -shm of a WAL database it lives only while someone uses it:
** every process that maps it holds a POSIX read lock on its first byte, and the process whose
** last connection to the database closes removes the file if it can take the write lock, i.e.
** if no other process has it mapped. One that opens the file while it is being removed checks,
** once it holds its read lock, that the name still leads to the file it opened, or starts over. Waiters sleep on their own slot's futex word, so a release wakes
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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "base.h"
#include "clock.h"
#include "conn.h"
#include "log.h"
#include "long_turn.h"
#include "queue_file.h"
#include "wait.h"

#define Q_HEAD_POLL_MS 5
#define Q_TAIL_POLL_MS 50
#define Q_UNPUBLISHED_GRACE_MS 200
/* The head waiter is awake from shortly before the turn in front of it is expected to end
** (SPIN_EARLY) until shortly after (SPIN_LATE), yielding the CPU in a loop, so that the hand-off
** is a memory write instead of a futex wake-up (tens of microseconds on a virtual machine). */
#define Q_SPIN_EARLY_NS 100000LL
#define Q_SPIN_LATE_NS 200000LL
#define Q_LINGER_MAX_NS 1000000000LL /* LOCKFIX_QUEUE_LINGER_US's limit */

struct lf_queue {
    char path[LF_PATH_MAX];   /* the database's */
    char qpath[LF_PATH_MAX];  /* the queue file's */
    struct q_shared *sh;
    int fd;                   /* kept open: the read lock that says "in use" lives on it */
    _Atomic int refs;         /* connections of this process using the queue */
    /* The thread of this process that took the turn last, and its ticket: another connection
    ** of that thread must not queue behind it (it would wait for itself). */
    _Atomic unsigned long holder_thread;
    _Atomic uint32_t holder_ticket;
    struct lf_queue *next;
};

static struct lf_queue *queues;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic int lf_queue_turns_held;

/* A POSIX lock on the queue file's first byte: F_RDLCK while mapped, F_WRLCK to remove it.
** POSIX locks belong to the process: a forked child takes its own (queue_after_fork). */
static int lock_byte(int fd, short type, int wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int rc;
    while ((rc = fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl)) != 0 && errno == EINTR)
        ;
    return rc;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wake the waiter of `ticket`. The futex system call is made only when it sleeps: a waiter sets
** SLOT_SLEEPING before it re-checks `serving` and calls FUTEX_WAIT with the `wake` value it read
** first, and the waker bumps `wake` before it looks at the state (all sequentially consistent),
** so either the waker sees SLOT_SLEEPING or the waiter sees the new `serving` or `wake`. */
static void wake_slot(struct q_shared *sh, uint32_t ticket)
{
    struct q_slot *s = &sh->slot[ticket % Q_RING];
    atomic_fetch_add(&s->wake, 1);
    if (atomic_load(&s->state) == SLOT_SLEEPING)
        lf_wake_all(&s->wake);
}

/* Ticket s is now served: wake its writer, and the one after it, which has become the head and
** should be awake by the time this turn ends. Only tickets already handed out. */
static void wake_served(struct q_shared *sh, uint32_t s)
{
    if ((int32_t)(atomic_load(&sh->next) - s) > 0)
        wake_slot(sh, s);
    if ((int32_t)(atomic_load(&sh->next) - (s + 1)) > 0)
        wake_slot(sh, s + 1);
}

/* getpid() is a system call in this glibc; a forked child must not use its parent's pid. */
static _Atomic int32_t my_pid;

/* fork: the queue list is consistent in the child (no other thread holds its mutex), and the
** child, which inherits the mappings but not the parent's POSIX locks, takes its own read locks,
** so that no queue file it may use is removed under it. */
static void queue_before_fork(void)
{
    pthread_mutex_lock(&queue_lock);
}
static void queue_after_fork_parent(void)
{
    pthread_mutex_unlock(&queue_lock);
}
static void queue_after_fork_child(void)
{
    atomic_store(&my_pid, 0);
    for (struct lf_queue *q = queues; q; q = q->next) {
        lock_byte(q->fd, F_RDLCK, 0);
        atomic_fetch_add(&q->sh->users, 1); /* another process maps it now */
    }
    pthread_mutex_unlock(&queue_lock);
}
static int32_t self_pid(void)
{
    int32_t pid = atomic_load_explicit(&my_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = (int32_t)getpid();
        atomic_store(&my_pid, pid);
    }
    return pid;
}

static int pid_dead(int32_t pid)
{
    return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

/* This boot's identity (a hash of /proc/sys/kernel/random/boot_id), never 0; 1 if unknown. */
static uint64_t boot_identity(void)
{
    static _Atomic uint64_t cached;
    uint64_t h = atomic_load(&cached);
    if (h != 0)
        return h;
    h = 1469598103934665603ULL;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
    }
    if (h == 0 || h == 1469598103934665603ULL)
        h = 1;
    atomic_store(&cached, h);
    return h;
}

/* A queue file written before this boot: its pids may now be other processes, its clock values
** are from another clock. The first process of this boot to map it abandons what it holds. */
static void forget_other_boot(struct q_shared *sh)
{
    uint64_t now_boot = boot_identity(), was = atomic_load(&sh->boot);
    if (was == now_boot || !atomic_compare_exchange_strong(&sh->boot, &was, now_boot))
        return;
    atomic_store(&sh->handoff_ns, 0);
    atomic_store(&sh->linger_until_ns, 0);
    atomic_store(&sh->turn_avg_ns, 0);
    atomic_store(&sh->serving, atomic_load(&sh->next));
}

static int create_queue_file(const char *qpath, const struct stat *st);

/* Open (creating if needed) the queue file at qpath and take its read lock; -1 if impossible. */
static int open_queue_file(const char *qpath, const struct stat *st)
{
    for (int tries = 0; tries < 8; tries++) {
        int fd = create_queue_file(qpath, st);
        if (fd < 0)
            return -1;
        struct stat a, b;
        if (lock_byte(fd, F_RDLCK, 1) == 0 && fstat(fd, &a) == 0 && stat(qpath, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            return fd;
        close(fd); /* removed by its last user while we opened it: open the new one */
    }
    return -1;
}

/* Map the queue file of the database at `dbpath`; *fd_out receives the locked descriptor. On
** failure, NULL and why (for the one log line that says the queue is off for this database). */
static struct q_shared *map_queue(const char *dbpath, char *qpath, int *fd_out, char *why,
                                  size_t cap)
{
    struct stat st;
    if (stat(dbpath, &st) != 0) {
        snprintf(why, cap, "database file: %s", strerror(errno));
        return NULL;
    }
    size_t len = strlen(dbpath);
    if (len + sizeof "-lockfix" > LF_PATH_MAX) {
        snprintf(why, cap, "path too long");
        return NULL;
    }
    memcpy(qpath, dbpath, len);
    memcpy(qpath + len, "-lockfix", sizeof "-lockfix");
    int fd = open_queue_file(qpath, &st);
    if (fd < 0) {
        snprintf(why, cap, "cannot create or open it: %s", strerror(errno));
        return NULL;
    }
    struct stat qst;
    if (fstat(fd, &qst) != 0 || !S_ISREG(qst.st_mode)) {
        snprintf(why, cap, "not a regular file");
        close(fd);
        return NULL;
    }
    if (geteuid() == 0 && (qst.st_uid != st.st_uid || qst.st_gid != st.st_gid))
        (void)!fchown(fd, st.st_uid, st.st_gid); /* root must not lock others out of their queue */
    if ((size_t)qst.st_size < sizeof(struct q_shared) &&
        ftruncate(fd, sizeof(struct q_shared)) != 0) {
        snprintf(why, cap, "cannot size it: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, sizeof(struct q_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(why, cap, "cannot map it: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    struct q_shared *sh = p;
    /* A new file is all zeros, which is a valid empty queue; the header only identifies it. */
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(&sh->magic, &zero, Q_MAGIC, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        sh->version = Q_VERSION;
    if (sh->magic != Q_MAGIC || sh->version != Q_VERSION) {
        snprintf(why, cap, "not a lockfix queue file of this version (magic %08x, version %u)",
                 (unsigned)sh->magic, (unsigned)sh->version);
        munmap(p, sizeof(struct q_shared));
        close(fd);
        return NULL;
    }
    forget_other_boot(sh);
    *fd_out = fd;
    return sh;
}

/* Create the queue file with the database's permissions, or open the one that exists. */
static int create_queue_file(const char *qpath, const struct stat *st)
{
    mode_t mode = st->st_mode & 0664; /* the database's permissions, never world-writable */
    const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
    int fd = open(qpath, flags | O_CREAT | O_EXCL, mode);
    if (fd >= 0)
        (void)!fchmod(fd, mode); /* made here: the umask must not take the group's write away */
    else if (errno == EEXIST) {
        fd = open(qpath, flags);
        if (fd < 0 && errno == EACCES) { /* made by another user a moment ago: chmod pending */
            lf_sleep_ms(1);
            fd = open(qpath, flags);
        }
    }
    return fd;
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
        char qpath[LF_PATH_MAX], why[160];
        int fd = -1;
        struct q_shared *sh = map_queue(dbpath, qpath, &fd, why, sizeof why);
        if (sh == NULL)
            lf_log("queue-off db=%s file=%s reason=\"%s\": this connection's writers take no "
                   "turn in the fair queue (SQLite's own locking decides, as without it)",
                   dbpath, qpath, why);
        if (sh != NULL && (q = calloc(1, sizeof *q)) != NULL) {
            strncpy(q->path, dbpath, sizeof q->path - 1);
            memcpy(q->qpath, qpath, sizeof q->qpath);
            q->sh = sh;
            q->fd = fd;
            q->next = queues;
            queues = q;
            atomic_fetch_add(&sh->users, 1);
        } else if (sh != NULL) {
            munmap(sh, sizeof *sh);
            close(fd);
        }
    }
    if (q != NULL)
        q->refs++;
    static int atfork_set;
    if (q && !atfork_set)
        atfork_set = pthread_atfork(queue_before_fork, queue_after_fork_parent,
                                    queue_after_fork_child) == 0;
    pthread_mutex_unlock(&queue_lock);
    return q;
}

void lf_queue_put(struct lf_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&queue_lock);
    if (--q->refs > 0) {
        pthread_mutex_unlock(&queue_lock);
        return;
    }
    for (struct lf_queue **pp = &queues; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    uint32_t users = atomic_load(&q->sh->users); /* never below 0: a file of an older build */
    while (users > 0 && !atomic_compare_exchange_weak(&q->sh->users, &users, users - 1))
        ;
    /* The write lock is had only when no other process holds a read lock, i.e. maps the file
    ** (a waiter or holder always does): then nobody uses it, and the name goes with it. */
    struct stat a, b;
    if (lock_byte(q->fd, F_WRLCK, 0) == 0 && fstat(q->fd, &a) == 0 && stat(q->qpath, &b) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        unlink(q->qpath);
    munmap(q->sh, sizeof *q->sh);
    close(q->fd); /* releases the lock */
    pthread_mutex_unlock(&queue_lock);
    free(q);
}

/* A lingering holder's time is over: take its turn away (only one of the holder and the waiters
** can end the lingering state). Returns 1 when this caller did. */
static int claim_lingering(struct q_shared *sh, struct q_slot *slot, int64_t now)
{
    int64_t until = atomic_load(&sh->linger_until_ns);
    /* (a deadline further away than any linger may last comes from a clock that is gone) */
    if (now < until && until - now <= Q_LINGER_MAX_NS)
        return 0;
    uint32_t lingering = SLOT_LINGERING;
    return atomic_compare_exchange_strong(&slot->state, &lingering, SLOT_FREE);
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
            if (state == SLOT_FREE)
                skip = 2; /* given back, and whoever gave it back did not move on (killed there) */
            else if (state == SLOT_LINGERING && claim_lingering(sh, slot, now_ns()))
                skip = 2; /* its time is over: not an event worth a log line */
            else
                skip = state == SLOT_ABANDONED || pid_dead(atomic_load(&slot->pid));
        }
        if (!skip)
            return s;
        *unpublished_since = 0;
        uint32_t expect = s;
        if (atomic_compare_exchange_strong(&sh->serving, &expect, s + 1)) {
            if (skip == 1)
                lf_log("queue-skipped ticket=%u (its process is gone or gave up)", s);
            atomic_store(&sh->handoff_ns, now_ns());
            wake_served(sh, s + 1);
            s = s + 1;
        } else {
            s = expect; /* someone else moved it */
        }
    }
}

/* A turn's operations on one connection, one thread at a time (see struct lf_turn). Held for
** long only while a thread waits in the queue for this connection: a second thread using the
** same connection then sleeps in steps of 0.5 ms instead of spinning. */
static void turn_lock(struct lf_turn *tn)
{
    for (int i = 0; atomic_exchange_explicit(&tn->lock, 1, memory_order_acquire); i++) {
        if (i < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
        }
    }
}

static void turn_unlock(struct lf_turn *tn)
{
    atomic_store_explicit(&tn->lock, 0, memory_order_release);
}

static unsigned long self_thread(void)
{
    return (unsigned long)pthread_self();
}

/*
** Wait for ticket t's turn. Returns 1 when it is served, 0 when it gave up (budget) or was passed
** over; *began_ns is when the wait ended (0 when there was none).
*/
static int wait_turn(const struct lf_queue *q, uint32_t t, long budget_ms, long *waited_ms,
                     int64_t *began_ns)
{
    struct q_shared *sh = q->sh;
    struct q_slot *slot = &sh->slot[t % Q_RING];
    long long unpublished_since = 0;
    *began_ns = 0;
    if (atomic_load(&sh->serving) == t)
        return 1; /* uncontended: no clock, no wait */
    int64_t start_ns = now_ns(), next_check = start_ns + Q_HEAD_POLL_MS * 1000000LL;
    long long start = start_ns / 1000000;
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
        int64_t now = now_ns();
        long waited = (long)(now / 1000000 - start);
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
        if ((int32_t)(t - s) <= 2 && now >= next_check) {
            /* is the holder (or the head) still alive? a system call: every few ms only */
            next_check = now + Q_HEAD_POLL_MS * 1000000LL;
            s = skip_dead(sh, s, &unpublished_since);
            if (s == t)
                break;
            head = s + 1 == t;
        }
        if (head) /* a turn held for long is worth a log line naming its holder */
            lf_long_turn_watch(q, q->path, s, atomic_load(&sh->slot[s % Q_RING].pid),
                               atomic_load(&sh->next) - s - 1, now);
        /* the two writers next in line check the head every few ms: either may be a process
        ** that died or gave up, or a holder whose lingering time is over */
        long long poll_ns = ((int32_t)(t - s) <= 2 ? Q_HEAD_POLL_MS : Q_TAIL_POLL_MS) * 1000000LL;
        if (head) {
            struct q_slot *hs = &sh->slot[s % Q_RING];
            if (atomic_load(&hs->ticket) == s && atomic_load(&hs->state) == SLOT_LINGERING) {
                /* the holder's transaction is over; it keeps the turn only if its next one
                ** starts soon. After that the head takes the turn (the holder finds out when
                ** its next write begins, and queues again). */
                uint32_t expect = s;
                if (claim_lingering(sh, hs, now)) {
                    if (atomic_compare_exchange_strong(&sh->serving, &expect, t)) {
                        atomic_store(&sh->handoff_ns, now);
                        wake_served(sh, t);
                    }
                    continue;
                }
                int64_t until = atomic_load(&sh->linger_until_ns);
                if (until - now <= Q_SPIN_LATE_NS) {
                    sched_yield();
                    continue;
                }
                if (until - now <= Q_LINGER_MAX_NS)
                    poll_ns = until - now; /* a long linger: sleep until it is over */
            } else {
                /* the turn in front of ours should end about `end`: be awake around then */
                int64_t end = atomic_load(&sh->handoff_ns) + atomic_load(&sh->turn_avg_ns);
                if (now >= end - Q_SPIN_EARLY_NS && now <= end + Q_SPIN_LATE_NS) {
                    sched_yield();
                    continue;
                }
                if (now < end - Q_SPIN_EARLY_NS && end - Q_SPIN_EARLY_NS - now < poll_ns)
                    poll_ns = end - Q_SPIN_EARLY_NS - now;
            }
        }
        long long left_ns = (budget_ms - waited) * 1000000LL;
        if (poll_ns > left_ns)
            poll_ns = left_ns;
        atomic_store(&slot->state, SLOT_SLEEPING);
        if (atomic_load(&sh->serving) != t)
            lf_wait_on(&slot->wake, seen, poll_ns);
        atomic_store(&slot->state, SLOT_WAITING);
        if (!head && (int32_t)(t - atomic_load(&sh->serving)) > 2) {
            /* a long wait at the tail: make sure the head is not a dead process nobody checks */
            uint32_t s2 = atomic_load(&sh->serving);
            skip_dead(sh, s2, &unpublished_since);
        }
    }
    *began_ns = now_ns();
    *waited_ms = (long)(*began_ns / 1000000 - start);
    return 1;
}

/*
** Wait for this connection's turn to write. Returns 1 when the turn is held, 0 when the queue was
** bypassed (no queue, this thread holds the turn through another connection, too many waiters,
** or the budget ran out): the caller then contends through SQLite's locks as before.
*/
int lf_queue_acquire(struct lf_queue *q, struct lf_conn *conn, long budget_ms, long *waited_ms)
{
    *waited_ms = 0;
    struct lf_turn *tn = lf_conn_turn(conn);
    if (q == NULL || tn == NULL)
        return 0;
    struct q_shared *sh = q->sh;
    /* Two connections of one thread to one database must not wait on each other: the second
    ** one contends through SQLite, as it would without the queue. (Other threads queue.) */
    if (atomic_load(&q->holder_thread) == self_thread() &&
        atomic_load(&sh->serving) == atomic_load(&q->holder_ticket))
        return 0;
    if ((int32_t)(atomic_load(&sh->next) - atomic_load(&sh->serving)) >= (int32_t)Q_RING / 2)
        return 0; /* more waiters than the ring is meant for: no ticket, SQLite decides */

    turn_lock(tn);
    if (atomic_load(&tn->state) != LF_TURN_NONE) {
        turn_unlock(tn); /* another thread took it for this connection meanwhile */
        return 1;
    }
    uint32_t t = atomic_fetch_add(&sh->next, 1);
    struct q_slot *slot = &sh->slot[t % Q_RING];
    if ((int32_t)(t - atomic_load(&sh->serving)) >= (int32_t)Q_RING) {
        /* half the ring's worth arrived at once: leave the slot alone (it may still be in use);
        ** the unpublished ticket is passed over after a grace time */
        turn_unlock(tn);
        return 0;
    }
    atomic_store(&slot->pid, self_pid());
    atomic_store(&slot->state, SLOT_WAITING);
    atomic_store(&slot->ticket, t); /* published: from here on it can be checked and skipped */

    int64_t began;
    if (!wait_turn(q, t, budget_ms, waited_ms, &began)) {
        turn_unlock(tn);
        return 0;
    }
    atomic_store(&slot->state, SLOT_HOLDING);
    tn->ticket = t;
    tn->began_ns = began;
    atomic_store(&tn->state, LF_TURN_HOLDING);
    atomic_store(&q->holder_ticket, t);
    atomic_store(&q->holder_thread, self_thread());
    atomic_fetch_add(&lf_queue_turns_held, 1);
    turn_unlock(tn);
    return 1;
}

/* Hand ticket t's turn, which began at `began` (0: unknown), to the next writer. */
static void hand_on(struct q_shared *sh, uint32_t t, int64_t began)
{
    if ((int32_t)(atomic_load(&sh->next) - (t + 1)) > 0) {
        /* someone waits: tell the head when this hand-off happened and how long turns last, so
        ** that it can be awake when the next turn ends (no clock read when nobody waits) */
        int64_t now = now_ns();
        if (began != 0) {
            int64_t avg = atomic_load(&sh->turn_avg_ns), d = now - began;
            if (d > 4000000000LL)
                d = 4000000000LL;
            atomic_store(&sh->turn_avg_ns, (uint32_t)(avg == 0 ? d : avg + (d - avg) / 8));
        }
        atomic_store(&sh->handoff_ns, now);
    }
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
        wake_served(sh, s); /* no system call when nobody holds a later ticket */
    }
}

/* The turn's lock is held: give conn's turn up; hand it on unless a waiter took it already. */
static void give_up_locked(struct lf_queue *q, struct lf_turn *tn)
{
    int state = atomic_load(&tn->state);
    if (state == LF_TURN_NONE)
        return;
    uint32_t t = tn->ticket;
    struct q_shared *sh = q->sh;
    struct q_slot *slot = &sh->slot[t % Q_RING];
    atomic_store(&tn->state, LF_TURN_NONE);
    atomic_fetch_sub(&lf_queue_turns_held, 1);
    unsigned long me = self_thread();
    if (atomic_load(&q->holder_ticket) == t)
        atomic_compare_exchange_strong(&q->holder_thread, &me, 0UL);
    if (state == LF_TURN_LINGERING) {
        /* only the one that ends the lingering state moves the queue on */
        uint32_t lingering = SLOT_LINGERING;
        if (atomic_load(&sh->serving) != t ||
            !atomic_compare_exchange_strong(&slot->state, &lingering, SLOT_FREE))
            return;
    } else {
        atomic_store(&slot->state, SLOT_FREE);
    }
    hand_on(sh, t, tn->began_ns);
}

void lf_queue_release(struct lf_queue *q, struct lf_conn *conn)
{
    struct lf_turn *tn = lf_conn_turn(conn);
    if (q == NULL || tn == NULL || atomic_load(&tn->state) == LF_TURN_NONE)
        return;
    turn_lock(tn);
    give_up_locked(q, tn);
    turn_unlock(tn);
}

/*
** conn's write transaction is over (it is back in autocommit mode). Transactions much shorter
** than a process wake-up would spend more time handing the turn on than writing: within its time
** slice (`slice_us`, counted from when its turn began, only when others wait), the holder keeps
** the turn for `linger_us` in case its next write starts at once. Otherwise, or after that, the
** turn goes on.
*/
void lf_queue_txn_done(struct lf_queue *q, struct lf_conn *conn, long slice_us, long linger_us)
{
    struct lf_turn *tn = lf_conn_turn(conn);
    if (q == NULL || tn == NULL || atomic_load(&tn->state) == LF_TURN_NONE)
        return;
    struct q_shared *sh = q->sh;
    turn_lock(tn);
    int state = atomic_load(&tn->state);
    uint32_t t = tn->ticket;
    if (state == LF_TURN_LINGERING) {
        /* another statement ended while lingering (a read): give the turn up once the time
        ** is over */
        if (now_ns() >= atomic_load(&sh->linger_until_ns) || atomic_load(&sh->serving) != t)
            give_up_locked(q, tn);
    } else if (state == LF_TURN_HOLDING) {
        struct q_slot *after = &sh->slot[(t + 1) % Q_RING];
        uint32_t after_state;
        int64_t now;
        if (slice_us > 0 && linger_us > 0 && tn->began_ns != 0 &&
            (int32_t)(atomic_load(&sh->next) - (t + 1)) > 0 &&
            atomic_load(&after->ticket) == t + 1 &&
            ((after_state = atomic_load(&after->state)) == SLOT_WAITING ||
             after_state == SLOT_SLEEPING) &&
            (now = now_ns()) - tn->began_ns < slice_us * 1000LL) {
            /* someone waits (not a ticket given up: nobody would then end the lingering) and
            ** the slice is not over: keep the turn a little */
            atomic_store(&sh->linger_until_ns, now + linger_us * 1000LL);
            atomic_store(&sh->slot[t % Q_RING].state, SLOT_LINGERING);
            atomic_store(&tn->state, LF_TURN_LINGERING);
        } else {
            give_up_locked(q, tn);
        }
    }
    turn_unlock(tn);
}

/*
** Nobody else can contend for the database through the queue: this process is the only one
** that maps its file, through one connection, and no ticket is held or waited for (turn.c
** decides what may then go without a turn). A process that arrives meanwhile takes the turn and
** waits in SQLite's busy handler for the statement that did not queue. A count left too high by
** a process that died only keeps the queue on.
*/
int lf_queue_alone(const struct lf_queue *q)
{
    const struct q_shared *sh = q->sh;
    return atomic_load_explicit(&q->refs, memory_order_relaxed) == 1 &&
           atomic_load_explicit(&sh->users, memory_order_relaxed) == 1 &&
           atomic_load(&sh->next) == atomic_load(&sh->serving);
}

/* conn starts a write while it may hold a turn: keep it (returns 1), unless the head took it
** meanwhile (returns 0: the turn is gone and conn must queue again). */
int lf_queue_resume(struct lf_queue *q, struct lf_conn *conn)
{
    struct lf_turn *tn = lf_conn_turn(conn);
    if (q == NULL || tn == NULL)
        return 0;
    struct q_shared *sh = q->sh;
    turn_lock(tn);
    int state = atomic_load(&tn->state), held = state == LF_TURN_HOLDING;
    if (state == LF_TURN_LINGERING) {
        uint32_t t = tn->ticket, lingering = SLOT_LINGERING;
        if (atomic_load(&sh->serving) == t &&
            atomic_compare_exchange_strong(&sh->slot[t % Q_RING].state, &lingering,
                                           SLOT_HOLDING)) {
            atomic_store(&tn->state, LF_TURN_HOLDING);
            atomic_store(&q->holder_ticket, t);
            atomic_store(&q->holder_thread, self_thread());
            held = 1;
        } else {
            give_up_locked(q, tn); /* taken by the head, which moved the queue on */
        }
    }
    turn_unlock(tn);
    return held;
}

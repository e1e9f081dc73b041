/*
** The layout of the writer queue's file, `<database>-lockfix`: shared by every process that
** maps it (shim/queue.c, whichever lockfix version it runs) and read by `lockfix doctor`
** (cmd/doctor_facts.c). Native byte order. A change of layout is a new Q_VERSION; the asserts
** below hold the offsets the file format promises.
*/
#ifndef LOCKFIX_QUEUE_FILE_H
#define LOCKFIX_QUEUE_FILE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define Q_MAGIC 0x4c4b4651u /* "LKFQ" */
#define Q_VERSION 1u
#define Q_RING 1024u /* tickets in flight at once; more waiters than this bypass the queue */

/* SLOT_SLEEPING: waiting, asleep on the slot's futex word (a waker makes the system call only
** then). SLOT_LINGERING: the holder's transaction ended inside its time slice; it keeps the turn
** if its next write starts before `linger_until_ns`, else the head waiter takes the turn. */
enum { SLOT_FREE, SLOT_WAITING, SLOT_HOLDING, SLOT_ABANDONED, SLOT_SLEEPING, SLOT_LINGERING };

struct q_slot {
    _Atomic uint32_t ticket; /* which ticket this slot describes now */
    _Atomic int32_t pid;
    _Atomic uint32_t state;
    _Atomic uint32_t wake; /* futex word: bumped to wake this slot's waiter */
};

struct q_shared {
    uint32_t magic, version;
    _Atomic uint32_t next;           /* next ticket to hand out */
    _Atomic uint32_t serving;        /* ticket allowed to write now */
    _Atomic int64_t handoff_ns;      /* CLOCK_MONOTONIC of the last hand-off to a waiting writer */
    _Atomic uint32_t turn_avg_ns;    /* moving average of how long a contended turn lasts */
    _Atomic uint32_t users;          /* processes that map the file (0 in files of older builds;
                                     one that died keeps its count until the file goes) */
    _Atomic int64_t linger_until_ns; /* a lingering holder's turn may be taken from then on */
    _Atomic uint64_t boot; /* the boot the state belongs to (pids and clocks start again) */
    uint32_t pad[4];
    struct q_slot slot[Q_RING];
};

#define Q_HEADER_SIZE 64u
#define Q_FILE_SIZE (Q_HEADER_SIZE + Q_RING * 16u)
_Static_assert(sizeof(struct q_shared) == Q_FILE_SIZE,
               "the queue file's layout is shared by every process: keep the header 64 bytes");
_Static_assert(sizeof(struct q_slot) == 16, "a slot is 16 bytes");
_Static_assert(offsetof(struct q_shared, magic) == 0 && offsetof(struct q_shared, version) == 4 &&
                   offsetof(struct q_shared, next) == 8 && offsetof(struct q_shared, serving) == 12,
               "header fields another process (or lockfix doctor) reads");
_Static_assert(offsetof(struct q_shared, users) == 28, "users took the place of padding");
_Static_assert(offsetof(struct q_shared, slot) == Q_HEADER_SIZE, "slots follow the header");
_Static_assert(offsetof(struct q_slot, ticket) == 0 && offsetof(struct q_slot, pid) == 4 &&
                   offsetof(struct q_slot, state) == 8 && offsetof(struct q_slot, wake) == 12,
               "slot fields");

#endif

/*
** Sleeping on a 32-bit word in memory shared between processes, and waking its sleepers: what the
** writer queue (queue.c) needs from the system. Linux: futex (wait_linux.c). macOS: 14.4's
** os_sync_wait_on_address with the shared flag, else a short polling sleep (wait_darwin.c).
*/
#ifndef LOCKFIX_WAIT_H
#define LOCKFIX_WAIT_H

#include <stdatomic.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Sleep while *word == expected, at most timeout_ns. May return early for any reason (a wake-up,
** a signal, a spurious wake): the caller re-checks what it waits for. */
void lf_wait_on(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);

/* Wake every thread, in any process, sleeping on word. */
void lf_wake_all(_Atomic uint32_t *word);

#pragma GCC visibility pop

#endif

/*
** wait.h on macOS. NOT RUN ON A MAC: written from Apple's documented interfaces and compiled
** here by `make macos-check` only.
**
** macOS 14.4 added os_sync_wait_on_address() and os_sync_wake_by_address_*() (header
** <os/os_sync_wait_on_address.h>); with the flags OS_SYNC_WAIT_ON_ADDRESS_SHARED and
** OS_SYNC_WAKE_BY_ADDRESS_SHARED they work across processes on a shared mapping, as futexes do.
** Earlier systems have no documented equivalent (__ulock_wait is private), so the library looks
** the functions up at run time, not at link time (it must load on macOS 11 too), and falls back
** to a polling sleep: the waiter re-reads the word every POLL_NS, which costs a wake-up per waiter
** per interval and adds up to POLL_NS to each hand-off, but keeps the queue's order and its crash
** handling intact.
*/
#ifdef __APPLE__
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <time.h>

#include "wait.h"
#include "log.h"

#define POLL_NS 500000LL /* fallback: re-check the word every 0.5 ms */

/* Values from <os/os_sync_wait_on_address.h> and <os/clock.h> (macOS 14.4 SDK). */
#define LF_OS_SYNC_WAIT_SHARED 0x1u
#define LF_OS_SYNC_WAKE_SHARED 0x1u
#define LF_OS_CLOCK_MACH_ABSOLUTE_TIME 32u

/* int os_sync_wait_on_address_with_timeout(void *addr, uint64_t value, size_t size,
**     os_sync_wait_on_address_flags_t flags, os_clockid_t clockid, uint64_t timeout_ns);
** (the timeout is relative, in nanoseconds) and int os_sync_wake_by_address_all(void *addr,
** size_t size, os_sync_wake_by_address_flags_t flags); both flag types and the clock id are
** 32-bit enums. */
typedef int (*os_wait_fn)(void *addr, uint64_t value, size_t size, uint32_t flags, uint32_t clockid,
                          uint64_t timeout_ns);
typedef int (*os_wake_fn)(void *addr, size_t size, uint32_t flags);

static os_wait_fn os_wait;
static os_wake_fn os_wake;
static _Atomic int looked_up; /* 0 not yet, 1 found, -1 absent or failed: poll */

static int have_os_sync(void)
{
    int state = atomic_load_explicit(&looked_up, memory_order_acquire);
    if (state != 0)
        return state > 0;
    void *w = dlsym(RTLD_DEFAULT, "os_sync_wait_on_address_with_timeout");
    void *k = dlsym(RTLD_DEFAULT, "os_sync_wake_by_address_all");
    if (w != NULL && k != NULL) {
        os_wait = (os_wait_fn)w; /* POSIX: dlsym's result converts to a function pointer */
        os_wake = (os_wake_fn)k;
    }
    atomic_store_explicit(&looked_up, w != NULL && k != NULL ? 1 : -1, memory_order_release);
    return w != NULL && k != NULL;
}

static void poll_sleep(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    if (atomic_load(word) != expected || timeout_ns <= 0)
        return;
    long long ns = timeout_ns < POLL_NS ? timeout_ns : POLL_NS;
    struct timespec ts = {0, (long)ns};
    nanosleep(&ts, NULL);
}

void lf_wait_on(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    if (timeout_ns <= 0)
        return;
    if (!have_os_sync()) {
        poll_sleep(word, expected, timeout_ns);
        return;
    }
    if (os_wait((void *)word, expected, sizeof(uint32_t), LF_OS_SYNC_WAIT_SHARED,
                LF_OS_CLOCK_MACH_ABSOLUTE_TIME, (uint64_t)timeout_ns) < 0 &&
        errno != EINTR && errno != ETIMEDOUT && errno != EFAULT) {
        /* refused (say, a mapping the kernel does not accept as shared): never spin on it */
        lf_log("queue-wait os_sync_wait_on_address failed (errno %d): polling instead", errno);
        atomic_store_explicit(&looked_up, -1, memory_order_release);
        poll_sleep(word, expected, timeout_ns);
    }
}

void lf_wake_all(_Atomic uint32_t *word)
{
    /* ENOENT (nobody waits) is the common answer and needs nothing; pollers need no wake-up.
    ** Woken even when this process's own waits fell back to polling: others may sleep in it. */
    (void)have_os_sync();
    if (os_wake != NULL)
        (void)os_wake((void *)word, sizeof(uint32_t), LF_OS_SYNC_WAKE_SHARED);
}
#endif /* __APPLE__ */

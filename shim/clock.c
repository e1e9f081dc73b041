/*
** Time, the same on every platform (POSIX): a monotonic clock in milliseconds, and a sleep that
** finishes its time even when a signal interrupts it.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <time.h>

#include "clock.h"

long long lf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lf_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
** Long turns: tell the user who is blocking everyone.
**
** The most expensive minutes of a lock hunt go to finding the transaction that holds the lock (a
** BEGIN followed by network I/O, a sleep, a prompt, before the COMMIT). The writer queue knows:
** the head waiter sees which ticket is served and which process holds it. When the same turn is
** still served LOCKFIX_LONG_TURN_MS after the head first saw it, the head logs one line
**
**     long-turn db=PATH pid=HOLDER comm=PROGRAM held_ms=N waiting=W
**
** naming the holder's pid and program (/proc/PID/comm), how long the head has seen the turn held
** (a lower bound: the turn may have begun before anyone waited) and how many writers wait for it.
** Only the head waiter watches, so a turn is reported once, by the process next in line; the
** line is written while the turn is still held, when it is worth reading.
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "long_turn.h"
#include "base.h"
#include "config.h"
#include "log.h"

/* What this thread's head wait has seen: one queue, one served ticket, since when, and whether
** the turn was reported. A thread waits in one queue at a time. */
static LF_TLS struct {
    const void *queue;
    uint32_t serving;
    int64_t since_ns;
    int reported;
} seen;

/* The program name of `pid` (/proc/PID/comm, 15 characters at most), or "?". */
static void program_name(int32_t pid, char *dst, size_t cap)
{
    char path[40];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, dst, cap - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        snprintf(dst, cap, "?");
        return;
    }
    dst[n] = '\0';
    for (ssize_t i = 0; i < n; i++) /* one token in a log line: no newline, no blank */
        if ((unsigned char)dst[i] <= ' ' || dst[i] == 0x7f)
            dst[i] = i == n - 1 ? '\0' : '_';
}

void lf_long_turn_watch(const void *queue, const char *dbpath, uint32_t serving, int32_t pid,
                        uint32_t waiting, int64_t now_ns)
{
    if (seen.queue != queue || seen.serving != serving || seen.since_ns == 0) {
        seen.queue = queue;
        seen.serving = serving;
        seen.since_ns = now_ns;
        seen.reported = 0;
        return;
    }
    long limit_ms = lf_config()->long_turn_ms;
    if (seen.reported || limit_ms <= 0 || now_ns - seen.since_ns < limit_ms * 1000000LL)
        return;
    seen.reported = 1;
    char comm[32];
    program_name(pid, comm, sizeof comm);
    lf_log("long-turn db=%s pid=%d comm=%s held_ms=%lld waiting=%u", dbpath, (int)pid, comm,
           (long long)((now_ns - seen.since_ns) / 1000000), waiting);
}

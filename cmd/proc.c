/*
** Running a helper process (an interpreter asked where its SQLite is) with its output captured
** and a time limit.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockfix.h"
#include "proc.h"

/* Monotonic milliseconds for the helper-process deadline. */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* check asks interpreters where their SQLite module is: a hung or chatty interpreter must not
** hang or flood the command, so output is capped and the child is killed at the deadline. */
int run_capture(char *const argv[], const char *stdin_text, char *out, size_t cap, int timeout_ms)
{
    int outp[2], inp[2] = {-1, -1};
    if (cap > 0)
        out[0] = '\0';
    if (cloexec_pipe(outp) != 0)
        return -1;
    if (stdin_text && cloexec_pipe(inp) != 0) {
        close(outp[0]);
        close(outp[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(outp[0]);
        close(outp[1]);
        if (stdin_text) {
            close(inp[0]);
            close(inp[1]);
        }
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(stdin_text ? inp[0] : devnull, 0);
        dup2(outp[1], 1);
        dup2(devnull, 2);
        setpgid(0, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(outp[1]);
    if (stdin_text) {
        close(inp[0]);
        /* Scripts for the probes are a few hundred bytes: they fit the pipe, no deadlock. */
        ssize_t w = write(inp[1], stdin_text, strlen(stdin_text));
        (void)w;
        close(inp[1]);
    }
    size_t len = 0;
    long long deadline = now_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {outp[0], POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        char chunk[4096];
        ssize_t n = read(outp[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n;
        if (cap > 0 && len + take > cap - 1)
            take = cap - 1 - len;
        memcpy(out + len, chunk, take);
        len += take;
        if (cap > 0)
            out[len] = '\0';
    }
    close(outp[0]);
    if (timed_out)
        kill(-pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

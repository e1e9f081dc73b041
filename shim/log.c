/*
** Logging: one line per event, "lockfix[pid]: ...", to stderr, a file, or nowhere.
**
** Never stdout: MCP servers speak JSON-RPC there. Each line is formatted whole in a stack buffer
** and written with one write(), so lines from threads and processes sharing a file (opened
** O_APPEND) never interleave. Nothing here allocates or calls SQLite, and a line attempted while
** another is being written on the same thread (a signal handler, say) is dropped, not nested.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "base.h"
#include "config.h"

#define LF_LINE_MAX 2048

static int log_fd = -1;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static LF_TLS int in_log;

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void log_open(void)
{
    const struct lf_config *cfg = lf_config();
    if (cfg->log_dest == LF_LOG_OFF || cfg->disable) {
        log_fd = -1;
        return;
    }
    log_fd = STDERR_FILENO;
    if (cfg->log_dest != LF_LOG_FILE)
        return;
    int fd = open(cfg->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
        log_fd = fd;
        return;
    }
    char line[LF_LINE_MAX];
    int n = snprintf(line, sizeof line,
                     "lockfix[%d]: config LOCKFIX_LOG=\"%s\" cannot be opened (%s); logging to "
                     "stderr\n",
                     (int)getpid(), cfg->log_path, strerror(errno));
    if (n > 0)
        write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void lf_log(const char *fmt, ...)
{
    /* The configuration is read before this line counts as being written: its first reading
    ** logs its own warnings through here, and those must not be taken for a nested line and
    ** dropped (when the first line of a process was, say, the exit-time "unreachable" report).
    ** Warnings about the configuration itself are written while it is being loaded, before the
    ** destination is known: those go to stderr unless logging is off. */
    const struct lf_config *cfg = lf_config();
    if (in_log)
        return;
    in_log = 1;
    pthread_once(&log_once, log_open);
    int fd = log_fd;
    if (fd < 0 && cfg->log_dest != LF_LOG_OFF && !cfg->disable)
        fd = STDERR_FILENO;
    if (fd >= 0) {
        char line[LF_LINE_MAX];
        int n = snprintf(line, sizeof line, "lockfix[%d]: ", (int)getpid());
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        va_end(ap);
        size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
        if (len > sizeof line - 2)
            len = sizeof line - 2; /* truncated, still one line */
        line[len++] = '\n';
        write_all(fd, line, len);
    }
    in_log = 0;
}

int lf_log_debug_enabled(void)
{
    return lf_config()->log_level == LF_LEVEL_DEBUG;
}

void lf_log_sql(char *dst, size_t cap, const char *sql)
{
    size_t k = 0;
    for (; sql && *sql && k + 1 < cap; sql++)
        dst[k++] = ((unsigned char)*sql < 0x20 || *sql == 0x7f) ? ' ' : *sql;
    dst[k] = '\0';
}

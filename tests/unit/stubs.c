/*
** Test doubles: lf_log (log.c) records lines instead of writing them; lf_secure_exec
** (platform.c) answers what the test says. Nothing else outside the pure files is needed.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stubs.h"
#include "log.h"
#include "platform.h"

int stub_secure_exec;
char stub_log[16384];
int stub_log_lines;

void stub_log_reset(void)
{
    stub_log[0] = '\0';
    stub_log_lines = 0;
}

int stub_log_count(const char *needle)
{
    int n = 0;
    for (const char *line = stub_log; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[2048];
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (strstr(buf, needle))
            n++;
        line += len + (nl ? 1 : 0);
    }
    return n;
}

void lf_log(const char *fmt, ...)
{
    size_t used = strlen(stub_log);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stub_log + used, sizeof stub_log - used - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    used = strlen(stub_log);
    stub_log[used] = '\n';
    stub_log[used + 1] = '\0';
    stub_log_lines++;
}

int lf_secure_exec(void)
{
    return stub_secure_exec;
}

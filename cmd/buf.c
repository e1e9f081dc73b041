/*
** Memory and strings for a short-lived command: allocation that never returns NULL, the growable
** string `struct buf` with its JSON and shell quoting, the command's own warnings, and the two
** small parsers every subcommand uses.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockfix.h"
#include "buf.h"

/* Out of memory in a short-lived command: say so and stop rather than limp on. */
static void oom(void)
{
    fputs("lockfix: out of memory\n", stderr);
    exit(EXIT_RUN_FAILED);
}

/* malloc that never returns NULL, so callers stay short. */
void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

/* calloc that never returns NULL. */
void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom();
    return p;
}

/* realloc that never returns NULL. */
void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

/* strdup that never returns NULL. */
char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        oom();
    return p;
}

/* printf into a fresh string: most messages are built once and kept. */
char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    return s;
}

/* Errors of the command itself carry its name, so they stand apart from the child's output. */
void warnx_(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lockfix: %s\n", line);
}

/* Grow a buffer so that `extra` more bytes and a NUL fit. */
static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

/* Append n bytes. */
void buf_addn(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Append a C string. */
void buf_add(struct buf *b, const char *s)
{
    buf_addn(b, s, strlen(s));
}

/* Append formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(aq);
        return;
    }
    buf_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, aq);
    va_end(aq);
    b->len += (size_t)n;
}

/* JSON string literal: paths and messages may hold quotes, backslashes or control bytes. */
void buf_json_str(struct buf *b, const char *s)
{
    buf_add(b, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[3] = {'\\', (char)c, 0};
            buf_add(b, e);
        } else if (c == '\n') {
            buf_add(b, "\\n");
        } else if (c == '\t') {
            buf_add(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_addn(b, (const char *)&c, 1);
        }
    }
    buf_add(b, "\"");
}

/* POSIX single quoting: the only character needing care inside '...' is ' itself. */
void buf_shell_quote(struct buf *b, const char *s)
{
    buf_add(b, "'");
    for (; *s; s++) {
        if (*s == '\'')
            buf_add(b, "'\\''");
        else
            buf_addn(b, s, 1);
    }
    buf_add(b, "'");
}

/* Release a buffer and leave it empty and reusable. */
void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Milliseconds and counts on the command line: plain decimal, so typos are errors. */
int parse_ms(const char *s, long max, long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Prefix test, used all over the parsers. */
int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

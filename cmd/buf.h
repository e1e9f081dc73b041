/*
** Memory and strings (buf.c): allocation that never returns NULL, the growable string, the
** command's own warnings and its small parsers.
*/
#ifndef LOCKFIX_CMD_BUF_H
#define LOCKFIX_CMD_BUF_H

#include <stddef.h>

/* A growable string; every function keeps it NUL-terminated and exits on no memory. */
struct buf {
    char *p;
    size_t len, cap;
};
void buf_add(struct buf *b, const char *s);
void buf_addn(struct buf *b, const char *s, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_json_str(struct buf *b, const char *s); /* appends "s" with JSON escapes */
/* Single-quote for POSIX shells. */
void buf_shell_quote(struct buf *b, const char *s);
void buf_free(struct buf *b);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* "lockfix: ..." */

int parse_ms(const char *s, long max, long *out); /* non-negative decimal, no junk */
int has_prefix(const char *s, const char *prefix);

#endif

/*
** Plain helpers shared by the subcommands: strings, paths, finding the shim library, building
** the preload list, and running a helper process with a time limit.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockfix.h"

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

/* Last path component without modifying the argument (basename(3) may). */
const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Directory part of a path ("." if none), as a new string. */
char *dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    char *d = xmalloc((size_t)(slash - path) + 1);
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = '\0';
    return d;
}

/* Absolute form of a path given on the command line: the shim wants absolute log paths, and a
** child may change directory before it opens them. Links are left as the user wrote them. */
char *abs_path(const char *path)
{
    if (path[0] == '/')
        return xstrdup(path);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return NULL;
    const char *p = path;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    if (strcmp(p, ".") == 0)
        return xstrdup(cwd);
    return xasprintf("%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", p);
}

/* The entries of a ':'-separated search list, empty ones included (to execvp and ld.so they
** mean the current directory): returns the entry at *p and sets *n to its length, moving *p to
** the next entry, or to NULL after the last one. */
const char *list_entry(const char **p, size_t *n)
{
    const char *s = *p;
    if (s == NULL)
        return NULL;
    const char *colon = strchr(s, ':');
    *n = colon ? (size_t)(colon - s) : strlen(s);
    *p = colon ? colon + 1 : NULL;
    return s;
}

/* execvp's search, done here so check can inspect the file it would run. */
char *path_lookup(const char *name)
{
    if (name[0] == '\0')
        return NULL;
    if (strchr(name, '/') != NULL)
        return access(name, F_OK) == 0 ? xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    size_t n;
    for (const char *p = path, *dir; (dir = list_entry(&p, &n)) != NULL;) {
        char *cand = n == 0 ? xasprintf("./%s", name) : xasprintf("%.*s/%s", (int)n, dir, name);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            return cand;
        free(cand);
    }
    return NULL;
}

/* Small text files (/proc entries, configs, logs): read whole, capped, NUL-terminated. */
char *read_file_text(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct buf b = {0};
    buf_reserve(&b, 0);
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (b.len + take > max)
            take = max - b.len;
        buf_addn(&b, chunk, take);
        if (b.len >= max)
            break;
    }
    close(fd);
    if (len)
        *len = b.len;
    return b.p;
}

/* Whether two paths name the same file (the preload list may spell our library differently). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* An entry is "a lockfix shim" if its file name is liblockfix.so/.dylib (any directory). */
static int is_shim_entry(const char *entry, size_t n)
{
    const char *name = entry;
    for (size_t i = 0; i < n; i++)
        if (entry[i] == '/')
            name = entry + i + 1;
    size_t rest = n - (size_t)(name - entry);
    return rest >= 10 && strncmp(name, "liblockfix", 10) == 0;
}

/* Entries are separated the way the loader separates them (platform.c); the result uses ':'
** and keeps every other entry in its order. */
static int is_sep(char c)
{
    return preload_separator(c);
}

/* The next non-empty entry of a preload list at *p: its start, its length in *n, and *p moved
** past it; NULL at the end. */
static const char *next_entry(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s && is_sep(*s))
        s++;
    const char *start = s;
    while (*s && !is_sep(*s))
        s++;
    *p = s;
    *n = (size_t)(s - start);
    return *n ? start : NULL;
}

/* Appending keeps the user's own preloads first, in their order. */
char *preload_value(const char *current, const char *lib, char **replaced)
{
    struct buf out = {0};
    int have = 0;
    if (replaced)
        *replaced = NULL;
    buf_add(&out, "");
    size_t n;
    for (const char *p = current ? current : "", *start; (start = next_entry(&p, &n)) != NULL;) {
        char *entry = xmalloc(n + 1);
        memcpy(entry, start, n);
        entry[n] = '\0';
        if (same_file(entry, lib)) {
            if (have) { /* already added once: drop the repeat */
                free(entry);
                continue;
            }
            have = 1;
        } else if (is_shim_entry(entry, n)) {
            if (replaced && *replaced == NULL)
                *replaced = xstrdup(entry);
            free(entry);
            if (have)
                continue;
            entry = xstrdup(lib); /* keep the old entry's place */
            have = 1;
        }
        if (out.len)
            buf_add(&out, ":");
        buf_add(&out, entry);
        free(entry);
    }
    if (!have) {
        if (out.len)
            buf_add(&out, ":");
        buf_add(&out, lib);
    }
    return out.p;
}

/* Children that check or doctor start must not run under lockfix themselves. */
char *preload_without_shim(const char *current)
{
    struct buf out = {0};
    buf_add(&out, "");
    size_t n;
    for (const char *p = current ? current : "", *start; (start = next_entry(&p, &n)) != NULL;) {
        if (is_shim_entry(start, n))
            continue;
        if (out.len)
            buf_add(&out, ":");
        buf_addn(&out, start, n);
    }
    return out.p;
}

/* The library sits next to the command in the build tree; an installed command finds it in
** ../lib/lockfix relative to itself (so a tree installed under another PREFIX or DESTDIR, or
** moved, still works), and last at the path fixed at build time. */
const char *shim_library(struct buf *tried)
{
    static char found[PATH_MAX];
    char exe[PATH_MAX];
    if (self_exe(exe, sizeof exe) != NULL) {
        char *dir = dir_name(exe);
        const char *forms[] = {"%s/%s", "%s/../lib/lockfix/%s"};
        for (size_t i = 0; i < 2; i++) {
            snprintf(found, sizeof found, forms[i], dir, SHIM_FILE);
            if (tried)
                buf_printf(tried, "%s%s", tried->len ? ", " : "", found);
            if (access(found, R_OK) == 0) {
                char real[PATH_MAX];
                /* Resolved: ".." in LD_PRELOAD works, but reads badly in logs and env output. */
                if (i > 0 && realpath(found, real) != NULL)
                    snprintf(found, sizeof found, "%s", real);
                free(dir);
                return found;
            }
        }
        free(dir);
    }
    snprintf(found, sizeof found, "%s/%s", LOCKFIX_LIBDIR, SHIM_FILE);
    if (tried)
        buf_printf(tried, "%s%s", tried->len ? ", " : "", found);
    if (access(found, R_OK) == 0)
        return found;
    return NULL;
}

/* Looked up next to the shim, so the build tree and an install each find their own. */
const char *standin_dir(void)
{
    if (!HAVE_STANDIN)
        return NULL;
    static char dir[PATH_MAX];
    const char *lib = shim_library(NULL);
    if (lib == NULL)
        return NULL;
    char *d = dir_name(lib);
    snprintf(dir, sizeof dir, "%s/standin", d);
    free(d);
    char *so = xasprintf("%s/libsqlite3.so.0", dir);
    int ok = access(so, R_OK) == 0;
    free(so);
    return ok ? dir : NULL;
}

/* The stand-in must come first: the dynamic linker takes the first libsqlite3.so.0 it finds. */
char *library_path_value(const char *current, const char *dir)
{
    struct buf out = {0};
    buf_add(&out, dir);
    for (const char *p = current ? current : ""; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && !(n == strlen(dir) && strncmp(p, dir, n) == 0)) {
            buf_add(&out, ":");
            buf_addn(&out, p, n);
        }
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    return out.p;
}

/* php, php8.2, php-fpm8.2, php-cgi: the names PHP's command-line and FastCGI binaries go by. */
int is_php_command(const char *cmd)
{
    return has_prefix(base_name(cmd), "php");
}

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

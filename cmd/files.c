/*
** Paths and files: the parts of a path, its absolute form, the entries of a ':' search list,
** execvp's PATH search, and reading a small text file whole.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "files.h"

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
    buf_add(&b, ""); /* an empty file gives "", not NULL */
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

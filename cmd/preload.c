/*
** What the command puts in a child's environment: where the shim library and the stand-in are,
** the preload list with lockfix in it (or taken out of it), the library path with the stand-in
** first, and whether a command is PHP (which only the stand-in reaches).
*/
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfix.h"
#include "buf.h"
#include "files.h"
#include "preload.h"

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

/*
** Where the dynamic linker would find a DT_NEEDED library, so check can follow a program's
** dependencies (an application library that calls SQLite counts as much as the program).
**
** Follows glibc's order: DT_RPATH (when there is no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH,
** the directories of /etc/ld.so.conf (instead of parsing ld.so.cache), then /lib and /usr/lib.
** A candidate must be ELF of the same class and machine, as ld.so requires.
*/
#define _GNU_SOURCE
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf.h"
#include "lockfix.h"
#include "buf.h"
#include "files.h"

#define MAX_CONF_DIRS 128

static char *conf_dirs[MAX_CONF_DIRS];
static int n_conf_dirs = -1;

/* Add a directory once. */
static void conf_add(const char *dir)
{
    for (int i = 0; i < n_conf_dirs; i++)
        if (strcmp(conf_dirs[i], dir) == 0)
            return;
    if (n_conf_dirs < MAX_CONF_DIRS)
        conf_dirs[n_conf_dirs++] = xstrdup(dir);
}

/* Read one ld.so.conf file: directory lines, "include GLOB" lines, '#' comments. */
static void conf_read(const char *path, int depth)
{
    if (depth > 4)
        return;
    char *text = read_file_text(path, 1 << 16, NULL);
    if (text == NULL)
        return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (has_prefix(line, "include") && (line[7] == ' ' || line[7] == '\t')) {
            char *pat = line + 8;
            while (*pat == ' ' || *pat == '\t')
                pat++;
            char *full = pat[0] == '/' ? xstrdup(pat) : xasprintf("/etc/%s", pat);
            glob_t g;
            if (glob(full, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++)
                    conf_read(g.gl_pathv[i], depth + 1);
                globfree(&g);
            }
            free(full);
        } else if (line[0] == '/') {
            conf_add(line);
        }
    }
    free(text);
}

/* The ld.so.conf directories, read once. */
static void conf_load(void)
{
    if (n_conf_dirs >= 0)
        return;
    n_conf_dirs = 0;
    conf_read("/etc/ld.so.conf", 0);
}

/* Replace $ORIGIN / ${ORIGIN} with the object's directory; other tokens ($LIB, $PLATFORM) are
** left as they are, and a directory holding them simply will not match. */
static char *expand_origin(const char *dir, const char *origin)
{
    struct buf b = {0};
    buf_add(&b, "");
    for (const char *p = dir; *p;) {
        if (has_prefix(p, "$ORIGIN")) {
            buf_add(&b, origin);
            p += 7;
        } else if (has_prefix(p, "${ORIGIN}")) {
            buf_add(&b, origin);
            p += 9;
        } else {
            buf_addn(&b, p, 1);
            p++;
        }
    }
    return b.p;
}

/* Try each directory of a ':'-separated list. */
static char *try_list(const char *list, const char *name, const char *origin,
                      const struct elf_info *obj)
{
    size_t n;
    for (const char *p = list; p != NULL && *p != '\0';) { /* (a trailing ':' adds no entry) */
        const char *entry = list_entry(&p, &n);
        char *dir = xasprintf("%.*s", (int)n, entry);
        char *edir = expand_origin(dir, origin);
        free(dir);
        char *cand = xasprintf("%s/%s", edir[0] ? edir : ".", name);
        free(edir);
        if (elf_matches(cand, obj->is64, obj->machine))
            return cand;
        free(cand);
    }
    return NULL;
}

/* Search in ld.so's order; the first matching file is the one that would be loaded. */
char *ld_find(const char *name, const char *obj_path, const struct elf_info *obj)
{
    if (strchr(name, '/') != NULL)
        return elf_matches(name, obj->is64, obj->machine) ? xstrdup(name) : NULL;
    char *origin = dir_name(obj_path);
    char *found = NULL;
    if (obj->runpath == NULL)
        found = try_list(obj->rpath, name, origin, obj);
    if (found == NULL)
        found = try_list(getenv("LD_LIBRARY_PATH"), name, origin, obj);
    if (found == NULL)
        found = try_list(obj->runpath, name, origin, obj);
    if (found == NULL) {
        conf_load();
        for (int i = 0; i < n_conf_dirs && found == NULL; i++)
            found = try_list(conf_dirs[i], name, origin, obj);
    }
    if (found == NULL)
        found = try_list(obj->is64 ? "/lib64:/usr/lib64:/lib:/usr/lib" : "/lib:/usr/lib", name,
                         origin, obj);
    free(origin);
    return found;
}

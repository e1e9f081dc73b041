/*
** `lockfix check` on Mach-O files: see macho_inspect.h. The reading is the shim's (macho.c); this
** file only counts what darwin.c would act on.
*/
#define _GNU_SOURCE
#include "macho_inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shim/hooks.h"
#include "../shim/macho.h"
#include "buf.h"
#include "files.h"
#include "lockfix.h"

/* The hooked names as Mach-O spells them (leading '_'), in hooks.h's order: darwin.c's list. */
static const char *const hooked[] = {
#define LF_HOOK_NAME(ret, name, params, on_missing, ...) "_" #name,
    LF_HOOKS(LF_HOOK_NAME)
#undef LF_HOOK_NAME
};
#define NHOOKED ((int)(sizeof hooked / sizeof hooked[0]))

#define CPU_SUBTYPE_MASK 0x00ffffffu
#define CPU_SUBTYPE_ARM64E 2u

static int hooked_index(const char *name)
{
    for (int i = 0; i < NHOOKED; i++)
        if (strcmp(name, hooked[i]) == 0)
            return i;
    return -1;
}

struct import_walk {
    const struct lf_macho *m;
    struct macho_slice *s;
    unsigned char seen[NHOOKED];
};

static int on_bind(const struct lf_macho_bind *b, void *ctx)
{
    struct import_walk *w = ctx;
    int i = hooked_index(b->name);
    if (i < 0 || w->seen[i])
        return 0;
    w->seen[i] = 1;
    if (w->s->imports++ == 0) {
        snprintf(w->s->first_import, sizeof w->s->first_import, "%s", b->name + 1);
        const char *lib = b->ordinal > 0 ? lf_macho_dylib(w->m, b->ordinal) : NULL;
        snprintf(w->s->from, sizeof w->s->from, "%s", lib ? lib : "");
    }
    return 0;
}

static void inspect_slice(const unsigned char *p, size_t len, struct macho_slice *s)
{
    memset(s, 0, sizeof *s);
    s->nhooks = NHOOKED;
    s->cs_flags = -1;
    struct lf_macho m;
    const char *why = NULL;
    if (lf_macho_parse(&m, p, len, 0, &why) != 0) {
        snprintf(s->err, sizeof s->err, "%s", why);
        return;
    }
    uint32_t sub = len >= 12 ? (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
                                   (uint32_t)p[11] << 24
                             : 0;
    s->arm64e = m.cputype == LF_MACHO_CPU_ARM64 && (sub & CPU_SUBTYPE_MASK) == CPU_SUBTYPE_ARM64E;
    snprintf(s->arch, sizeof s->arch, "%s",
             m.cputype == LF_MACHO_CPU_X86_64 ? "x86_64"
             : s->arm64e                      ? "arm64e"
                                              : "arm64");
    s->filetype = m.filetype;
    s->cs_flags = lf_macho_codesign_flags(&m);
    if (m.id_name != NULL)
        snprintf(s->id_name, sizeof s->id_name, "%s", m.id_name);

    struct import_walk w = {.m = &m, .s = s};
    if (lf_macho_binds(&m, on_bind, &w, &why) < 0)
        snprintf(s->err, sizeof s->err, "its imports cannot be read (%s)", why);

    uint64_t at[NHOOKED];
    int exported[NHOOKED];
    if (lf_macho_defined(&m, hooked, NHOOKED, at, exported, &why) < 0) {
        snprintf(s->err, sizeof s->err, "its symbols cannot be read (%s)", why);
    } else {
        for (int i = 0; i < NHOOKED; i++) {
            if (at[i] == 0) {
                if (!s->missing[0])
                    snprintf(s->missing, sizeof s->missing, "%s", hooked[i] + 1);
                continue;
            }
            if (exported[i])
                s->exports++;
            else
                s->locals++;
            if (strcmp(hooked[i], "_sqlite3_step") == 0)
                s->has_step = 1;
        }
    }
    static const char magic[] = "SQLite format 3", text1[] = "unable to open database file",
                      text2[] = "sqlite_master";
    for (int i = 0; i < m.ndylib && s->ndeps < MACHO_MAX_DEPS; i++)
        if (m.dylib[i] != NULL)
            s->deps[s->ndeps++] = xstrdup(m.dylib[i]);
    s->has_sqlite_text = memmem(p, len, magic, sizeof magic - 1) != NULL &&
                         (memmem(p, len, text1, sizeof text1 - 1) != NULL ||
                          memmem(p, len, text2, sizeof text2 - 1) != NULL);
}

int macho_inspect(const char *path, struct macho_slice *out, int cap, char *err, size_t errcap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        snprintf(err, errcap, "%s", fd < 0 ? strerror(errno) : "empty or unreadable");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errcap, "cannot map: %s", strerror(errno));
        return -1;
    }
    static const uint32_t cpus[] = {LF_MACHO_CPU_ARM64, LF_MACHO_CPU_X86_64};
    int n = 0;
    const char *why = "not a 64-bit arm64 or x86_64 Mach-O file";
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0] && n < cap; i++) {
        size_t off, len;
        const char *w;
        if (lf_macho_slice(map, (size_t)st.st_size, cpus[i], &off, &len, &w) == 0)
            inspect_slice((const unsigned char *)map + off, len, &out[n++]);
        else if (i == 0)
            why = w;
    }
    munmap(map, (size_t)st.st_size);
    if (n == 0)
        snprintf(err, errcap, "%s", why);
    return n;
}

void macho_slices_free(struct macho_slice *out, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < out[i].ndeps; k++)
            free(out[i].deps[k]);
        out[i].ndeps = 0;
    }
}

char *macho_dep_file(const char *dep, const char *loader, const char *exe)
{
    static const char lp[] = "@loader_path/", ep[] = "@executable_path/";
    char *path = NULL;
    if (strncmp(dep, lp, sizeof lp - 1) == 0 || strncmp(dep, ep, sizeof ep - 1) == 0) {
        int by_loader = dep[1] == 'l';
        char *dir = dir_name(by_loader ? loader : exe);
        path = xasprintf("%s/%s", dir, dep + (by_loader ? sizeof lp : sizeof ep) - 1);
        free(dir);
    } else if (dep[0] == '/') {
        path = xstrdup(dep);
    }
    if (path != NULL && access(path, R_OK) != 0) {
        free(path);
        path = NULL;
    }
    return path;
}

const char *macho_cs_forbidding(long flags, char *buf, size_t cap)
{
    static const struct {
        long bit;
        const char *name;
    } forbid[] = {{LF_CS_RUNTIME, "runtime"},
                  {LF_CS_KILL, "kill"},
                  {LF_CS_HARD, "hard"},
                  {LF_CS_RESTRICT, "restrict"},
                  {LF_CS_ENFORCEMENT, "enforcement"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; flags > 0 && i < sizeof forbid / sizeof forbid[0]; i++)
        if ((flags & forbid[i].bit) && used < cap) {
            int k = snprintf(buf + used, cap - used, "%s%s", used ? "," : "", forbid[i].name);
            used += k > 0 ? (size_t)k : 0;
        }
    return buf;
}

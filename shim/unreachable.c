/*
** Saying so when lockfix could not reach a process's SQLite.
**
** A preload library can only interpose exported, dynamically bound functions. A copy of SQLite
** that is linked statically with hidden symbols (better-sqlite3, many Go and Rust programs) or
** a module loaded with RTLD_DEEPBIND (PHP) calls SQLite without ever passing through the shim,
** and the user would see the old errors with no hint why. So at exit, if no hooked call was seen,
** the loaded objects are examined: one that contains SQLite's file-header string but exports no
** sqlite3_* function holds a copy lockfix cannot reach. Nothing is said in processes without
** SQLite code, so wrapping a shell script stays silent.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "lockfix.h"

#define LF_MAX_REPORTS 8

static const char sqlite_magic[] = "SQLite format 3"; /* every SQLite build carries it */

struct scan {
    const char *unreachable[LF_MAX_REPORTS];
    int n_unreachable;
    uintptr_t self_addr;
};

/* Whether the readable, file-backed segments of this object contain the magic string. */
static int contains_sqlite(const struct dl_phdr_info *info)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R) || ph->p_filesz == 0)
            continue;
        const void *at = (const void *)(info->dlpi_addr + ph->p_vaddr);
        if (memmem(at, ph->p_filesz, sqlite_magic, sizeof sqlite_magic - 1) != NULL)
            return 1;
    }
    return 0;
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *s = arg;
    (void)size;
    const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : NULL;
    if (info->dlpi_addr == s->self_addr) /* the magic string above is in our own object */
        return 0;
    if (!contains_sqlite(info))
        return 0;
    if (s->n_unreachable < LF_MAX_REPORTS)
        s->unreachable[s->n_unreachable++] = name ? name : "(main program)";
    return 0;
}

/* Whether the object named (or the main program) exports SQLite's API itself. */
static int exports_sqlite(const char *name)
{
    void *h = dlopen(strcmp(name, "(main program)") == 0 ? NULL : name, RTLD_NOLOAD | RTLD_LAZY);
    if (h == NULL)
        return 0;
    void *p = dlsym(h, "sqlite3_libversion_number");
    Dl_info info;
    int own = p != NULL && dladdr(p, &info) != 0 &&
              (strcmp(name, "(main program)") == 0 || strcmp(info.dli_fname, name) == 0);
    dlclose(h);
    return own;
}

static int is_php(void)
{
    char exe[LF_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    return strncmp(base, "php", 3) == 0;
}

void lf_report_unreachable(void)
{
    struct scan s = {0};
    Dl_info info;
    struct link_map *self = NULL;
    if (dladdr1((const void *)&lf_report_unreachable, &info, (void **)&self, RTLD_DL_LINKMAP) &&
        self != NULL)
        s.self_addr = self->l_addr;
    dl_iterate_phdr(scan_object, &s);
    for (int i = 0; i < s.n_unreachable; i++) {
        if (exports_sqlite(s.unreachable[i]))
            continue; /* reachable, simply not used by this process */
        lf_log("unreachable object=%s: it contains SQLite but exports none of its functions "
               "(static or hidden-symbol build, e.g. better-sqlite3): lockfix cannot interpose it "
               "and changed nothing in this process",
               s.unreachable[i]);
    }
    /* PHP unloads its extensions before exit, so there may be nothing left to find: the line is
    ** given for any PHP process in which no call came through. */
    if (is_php())
        lf_log("unreachable program=php: PHP loads its SQLite extensions with RTLD_DEEPBIND, "
               "which binds them to libsqlite3 directly and bypasses any preload: no SQLite call "
               "of this process reached lockfix; see docs/clients.md");
}

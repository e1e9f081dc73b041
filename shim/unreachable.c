/*
** Saying so when lockfix could not reach a process's SQLite.
**
** A preload library interposes exported, dynamically bound functions; static.c also redirects a
** SQLite compiled into an object whose symbol table still names its functions. What is left is a
** copy without names (Bun, Deno, a stripped build) and a module loaded with RTLD_DEEPBIND (PHP):
** their calls never pass through the shim, and the user would see the old errors with no hint
** why. static.c recognises the first kind when the object is loaded, by SQLite's strings in its
** .rodata, and the line is written then, not at exit: such programs may leave through quick_exit
** or _exit (Bun does), where no destructor runs. Nothing is said in processes without SQLite
** code, so wrapping a shell script stays silent.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unreachable.h"
#include "static.h"
#include "base.h"
#include "log.h"

static const char sqlite_magic[] = "SQLite format 3"; /* every SQLite build carries it */

/* The "3.x.y" string nearest to `at` in [p, p + n), as a version guess: SQLite's version is a
** NUL-terminated string of its own among its constants (after a NUL, or after the bytes of
** whatever the linker aligned it behind: not a letter, digit or dot). */
static void guess_version(const char *p, size_t n, const char *at, char *out, size_t cap)
{
    size_t best = (size_t)-1;
    out[0] = '\0';
    const char *v = p + 1, *end = p + n;
    while ((v = memmem(v, (size_t)(end - v), "3.", 2)) != NULL) {
        unsigned char before = (unsigned char)v[-1];
        size_t k = 0;
        int dots = 0, ok = !(before == '.' || (before >= '0' && before <= '9') ||
                             ((before | 0x20) >= 'a' && (before | 0x20) <= 'z'));
        while (ok && v + k < end && v[k] != '\0' && k < 12) {
            if (v[k] == '.')
                dots += v[k - 1] != '.' ? 1 : 9; /* ".." is no version */
            else if (v[k] < '0' || v[k] > '9')
                ok = 0;
            k++;
        }
        long minor = ok ? strtol(v + 2, NULL, 10) : 0;
        size_t dist = (size_t)(v > at ? v - at : at - v);
        if (ok && v + k < end && v[k] == '\0' && dots == 2 && minor >= 7 && minor < 100 &&
            v[k - 1] != '.' && k < cap && dist < best) {
            best = dist;
            memcpy(out, v, k);
            out[k] = '\0';
        }
        v += 2;
    }
}

/* SQLite's file header string alone is not enough: libmagic's database (PHP's fileinfo.so)
** carries it to recognise SQLite files. Two of SQLite's own messages must be there too. */
int lf_rodata_has_sqlite(const void *p, size_t n, char *version, size_t cap)
{
    static const char msg1[] = "unable to open database file", msg2[] = "sqlite_master";
    const char *at = memmem(p, n, sqlite_magic, sizeof sqlite_magic - 1);
    if (at == NULL || memmem(p, n, msg1, sizeof msg1 - 1) == NULL ||
        memmem(p, n, msg2, sizeof msg2 - 1) == NULL)
        return 0;
    guess_version(p, n, at, version, cap);
    return 1;
}

int lf_unreachable_reported;

void lf_report_unreachable_object(const char *object, const char *version, const char *why)
{
    lf_unreachable_reported++;
    lf_log("unreachable object=%s sqlite=%s: it carries SQLite but %s: lockfix cannot "
           "redirect its calls and changes nothing for it",
           object, version[0] ? version : "unknown", why);
}

/* By the name it was started as (a readlink at every exit of every process would cost more). */
LF_ONCE static int is_php(void)
{
    extern char *program_invocation_short_name;
    const char *n = program_invocation_short_name; /* by hand: strncmp is a lazy binding more */
    return n[0] == 'p' && n[1] == 'h' && n[2] == 'p';
}

/* Whether LD_LIBRARY_PATH puts lockfix's stand-in libsqlite3.so.0 (standin/standin.c) in front:
** then PHP's extensions are reached through it, and a PHP process with no call made none. */
LF_ONCE static int standin_in_path(void)
{
    static const char id[] = "lockfix stand-in for libsqlite3.so.0";
    /* from the environment the process started with: PHP has cleared its own by exit */
    char env[16384];
    int efd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    ssize_t en = efd >= 0 ? read(efd, env, sizeof env - 1) : -1;
    if (efd >= 0)
        close(efd);
    if (en <= 0)
        return 0;
    env[en] = '\0';
    const char *llp = NULL;
    for (const char *e = env; e < env + en; e += strlen(e) + 1)
        if (strncmp(e, "LD_LIBRARY_PATH=", 16) == 0)
            llp = e + 16;
    while (llp != NULL && *llp) {
        size_t len = strcspn(llp, ":");
        char path[LF_PATH_MAX], buf[65536];
        if (len > 0 && len + sizeof "/libsqlite3.so.0" < sizeof path) {
            memcpy(path, llp, len);
            memcpy(path + len, "/libsqlite3.so.0", sizeof "/libsqlite3.so.0");
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
            if (fd >= 0)
                close(fd);
            if (n > 0 && memmem(buf, (size_t)n, id, sizeof id - 1) != NULL)
                return 1;
        }
        llp += len + (llp[len] == ':');
    }
    return 0;
}

/* At exit, when no SQLite call came through the shim. */
LF_ONCE void lf_report_unreachable(void)
{
    /* PHP unloads its extensions before exit, so there may be nothing left to find: the line is
    ** given for any PHP process in which no call came through, unless the stand-in was in its
    ** way (`lockfix php`): then its extensions would have been reached, and it made no call. */
    if (is_php() && !standin_in_path())
        lf_log("unreachable program=php: PHP loads its SQLite extensions with RTLD_DEEPBIND, "
               "which binds them to libsqlite3 directly and bypasses any preload: no SQLite call "
               "of this process reached lockfix; see docs/clients.md");
}

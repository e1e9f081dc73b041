/*
 * A set-uid test helper (tests/hardening/test_setuid.py installs a copy owned by `nobody`, mode
 * 4755). The dynamic loader ignores LD_PRELOAD paths in a set-uid program, so the helper loads the
 * shim itself (dlopen of argv[1]) and calls SQLite through the shim's exported functions, the
 * way a preloaded shim would be reached.
 *
 * Usage: setuid_helper SHIM DB
 * Prints: secure=<getauxval(AT_SECURE)> euid=<n> busy_timeout=<ms>
 */
#include <dlfcn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

static int print_first(void *arg, int n, char **values, char **names)
{
    (void)arg;
    (void)names;
    printf("busy_timeout=%s\n", n > 0 && values[0] ? values[0] : "?");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: setuid_helper SHIM DB\n");
        return 2;
    }
    printf("secure=%lu euid=%d\n", getauxval(AT_SECURE), (int)geteuid());
    void *shim = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (shim == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    int (*open_v2)(const char *, sqlite3 **, int, const char *) = dlsym(shim, "sqlite3_open_v2");
    int (*exec)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **) =
        dlsym(shim, "sqlite3_exec");
    int (*close_db)(sqlite3 *) = dlsym(shim, "sqlite3_close");
    if (!open_v2 || !exec || !close_db)
        return 1;
    sqlite3 *db = NULL;
    if (open_v2(argv[2], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fprintf(stderr, "open failed\n");
        return 1;
    }
    (void)sqlite3_libversion(); /* the helper links SQLite: the copy the shim forwards to */
    if (exec(db, "CREATE TABLE IF NOT EXISTS t(a); INSERT INTO t VALUES(1)", NULL, NULL, NULL) !=
            SQLITE_OK ||
        exec(db, "PRAGMA busy_timeout", print_first, NULL, NULL) != SQLITE_OK)
        return 1;
    fflush(stdout);
    return close_db(db) == SQLITE_OK ? 0 : 1;
}

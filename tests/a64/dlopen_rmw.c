/*
 * A program without SQLite that loads a plugin holding it, after start-up: the case of a module
 * loaded with dlopen (Python's extension modules, Node's addons) whose SQLite is compiled in.
 *
 * Usage: dlopen_rmw PLUGIN DB N
 *
 * dlopens PLUGIN (tests/clients/twocopies_plugin.c built with libsqlite3.a inside, hidden) with
 * RTLD_NOW | RTLD_LOCAL, checks that its copy answers with the version it was compiled with, and
 * runs N read-modify-write transactions on DB through it (plain client defaults: no busy timeout,
 * a deferred BEGIN). Prints `ok=N failed=M` on stdout; exit 1 on any failure.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twocopies.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PLUGIN DB N\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlopen_rmw: %s\n", dlerror());
        return 1;
    }
    const struct twocopies_plugin *p = dlsym(h, "twocopies_plugin");
    if (p == NULL) {
        fprintf(stderr, "dlopen_rmw: %s\n", dlerror());
        return 1;
    }
    char err[512] = "", *sql_version = NULL, *cipher_version = NULL;
    if (p->versions(&sql_version, &cipher_version, err, sizeof err) != 0 || sql_version == NULL ||
        strcmp(sql_version, p->header_version()) != 0) {
        fprintf(stderr, "dlopen_rmw: header %s, sqlite_version() %s %s\n", p->header_version(),
                sql_version ? sql_version : "(none)", err);
        return 1;
    }
    void *db = p->open_db(argv[2], err, sizeof err);
    if (db == NULL) {
        fprintf(stderr, "dlopen_rmw: %s\n", err);
        return 1;
    }
    long n = atol(argv[3]), ok = 0, failed = 0;
    for (long i = 0; i < n; i++) {
        if (p->txn(db, 1, i, 0, err, sizeof err) == 0) {
            ok++;
        } else {
            failed++;
            fprintf(stderr, "dlopen_rmw: %s\n", err);
        }
    }
    int rc = p->close_db(db);
    printf("ok=%ld failed=%ld\n", ok, failed);
    free(sql_version);
    free(cipher_version);
    return failed == 0 && rc == 0 ? 0 : 1;
}

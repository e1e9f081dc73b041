/*
 * Two SQLite copies in one process, used at once from several threads.
 *
 * Usage: twocopies [--tail-close] PLUGIN_DIR DB_SYS DB_CIPHER THREADS N HOLD_MS
 *
 * The program itself does not link SQLite. It dlopens PLUGIN_DIR/plugin_sys.so (linked to the
 * system libsqlite3) and PLUGIN_DIR/plugin_cipher.so (linked to libsqlcipher, which exports the
 * same sqlite3_* names) with RTLD_NOW | RTLD_LOCAL, the way Python loads extension modules. Then
 * THREADS threads each open one connection through each plugin — DB_SYS through the system copy,
 * DB_CIPHER through SQLCipher (one file per copy: two copies must never share a file, their POSIX
 * locks would clobber each other) — and run N read-modify-write transactions on each, alternating
 * between the copies, so every thread keeps switching from one copy to the other.
 *
 * Checked by the program itself, before and after the workload and in every thread: each copy's
 * sqlite3_libversion() equals the version of the header its plugin was compiled with,
 * `SELECT sqlite_version()` answers the same, and `PRAGMA cipher_version` answers only in
 * SQLCipher. Any mismatch (a call that reached the other copy) is printed and the exit code is 1.
 *
 * Every sqlite3_close must succeed. --tail-close closes through the plugin's thin wrapper
 * `return sqlite3_close(db);`, which compiles to a tail call: sqlite3_close then sees a return
 * address in this program, not in the plugin.
 *
 * Output (stdout):
 *   copy=sys header=3.40.1 libversion=3.40.1 sql_version=3.40.1 cipher_version=none
 *   copy=cipher header=3.15.2 libversion=3.15.2 sql_version=3.15.2 cipher_version=3.4.1
 *   copy=sys ok=N failed=M locked=L
 *   copy=cipher ok=N failed=M locked=L
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twocopies.h"

enum { SYS, CIPHER, NCOPIES };
static const char *plugin_file[NCOPIES] = { "plugin_sys.so", "plugin_cipher.so" };

static const struct twocopies_plugin *plugin[NCOPIES];
static const char *db_path[NCOPIES];
static long n_txns, hold_ms;
static atomic_long ok[NCOPIES], failed[NCOPIES], locked[NCOPIES];
static atomic_int mismatches, close_errors;
static int tail_close;

/* Checks one copy's versions; prints a line when `print`. Returns 0 when all agree. */
static int check_versions(int c, int print)
{
    const struct twocopies_plugin *p = plugin[c];
    char err[512] = "";
    char *sqlv = NULL, *cipherv = NULL;
    const char *hdr = p->header_version(), *lib = p->lib_version();
    int bad = p->versions(&sqlv, &cipherv, err, sizeof err) != 0;
    if (bad)
        fprintf(stderr, "twocopies: %s: %s\n", p->name, err);
    bad |= strcmp(hdr, lib) != 0;
    bad |= sqlv == NULL || strcmp(sqlv, lib) != 0;
    bad |= (c == CIPHER) ? cipherv == NULL : cipherv != NULL;
    if (print || bad)
        fprintf(bad ? stderr : stdout, "%scopy=%s header=%s libversion=%s sql_version=%s cipher_version=%s\n",
                bad ? "twocopies: MISMATCH " : "", p->name, hdr, lib, sqlv ? sqlv : "none",
                cipherv ? cipherv : "none");
    free(sqlv);
    free(cipherv);
    if (bad)
        atomic_fetch_add(&mismatches, 1);
    return bad;
}

static void *worker(void *arg)
{
    long writer = (long)(intptr_t)arg;
    void *db[NCOPIES];
    char err[512];
    for (int c = 0; c < NCOPIES; c++) {
        check_versions(c, 0);
        db[c] = plugin[c]->open_db(db_path[c], err, sizeof err);
        if (db[c] == NULL) {
            fprintf(stderr, "twocopies: %s\n", err);
            exit(1);
        }
    }
    for (long i = 0; i < n_txns; i++) {
        for (int c = 0; c < NCOPIES; c++) {
            if (plugin[c]->txn(db[c], writer, i, hold_ms, err, sizeof err) == 0) {
                atomic_fetch_add(&ok[c], 1);
                continue;
            }
            atomic_fetch_add(&failed[c], 1);
            if (strstr(err, "database is locked"))
                atomic_fetch_add(&locked[c], 1);
            if (getenv("RMW_VERBOSE"))
                fprintf(stderr, "twocopies: %s writer %ld txn %ld: %s\n", plugin[c]->name, writer, i, err);
        }
    }
    for (int c = 0; c < NCOPIES; c++) {
        int rc = tail_close ? plugin[c]->close_db_tail(db[c]) : plugin[c]->close_db(db[c]);
        if (rc != 0) {
            fprintf(stderr, "twocopies: %s: closing writer %ld's connection failed: %d\n",
                    plugin[c]->name, writer, rc);
            atomic_fetch_add(&close_errors, 1);
        }
        check_versions(c, 0);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--tail-close") == 0) {
        tail_close = 1;
        argv++;
        argc--;
    }
    if (argc != 7) {
        fprintf(stderr, "usage: %s [--tail-close] PLUGIN_DIR DB_SYS DB_CIPHER THREADS N HOLD_MS\n",
                argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    db_path[SYS] = argv[2];
    db_path[CIPHER] = argv[3];
    int threads = atoi(argv[4]);
    n_txns = atol(argv[5]);
    hold_ms = atol(argv[6]);
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "twocopies: THREADS must be 1..64\n");
        return 2;
    }

    for (int c = 0; c < NCOPIES; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, plugin_file[c]);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            fprintf(stderr, "twocopies: dlopen %s: %s\n", path, dlerror());
            return 1;
        }
        plugin[c] = dlsym(h, "twocopies_plugin");
        if (plugin[c] == NULL) {
            fprintf(stderr, "twocopies: %s has no twocopies_plugin: %s\n", path, dlerror());
            return 1;
        }
    }
    /* The test means nothing unless the two copies really differ. */
    if (strcmp(plugin[SYS]->header_version(), plugin[CIPHER]->header_version()) == 0) {
        fprintf(stderr, "twocopies: both plugins were compiled with SQLite %s; cannot tell the copies apart\n",
                plugin[SYS]->header_version());
        return 1;
    }
    for (int c = 0; c < NCOPIES; c++)
        check_versions(c, 1);

    pthread_t tid[64];
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker, (void *)(intptr_t)(t + 1)) != 0) {
            fprintf(stderr, "twocopies: pthread_create failed\n");
            return 1;
        }
    }
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);

    for (int c = 0; c < NCOPIES; c++)
        check_versions(c, 0);
    for (int c = 0; c < NCOPIES; c++)
        printf("copy=%s ok=%ld failed=%ld locked=%ld\n", plugin[c]->name, atomic_load(&ok[c]),
               atomic_load(&failed[c]), atomic_load(&locked[c]));
    int m = atomic_load(&mismatches), ce = atomic_load(&close_errors);
    if (m)
        fprintf(stderr, "twocopies: %d version checks saw the wrong SQLite copy\n", m);
    if (ce)
        fprintf(stderr, "twocopies: %d connections could not be closed\n", ce);
    return m || ce ? 1 : 0;
}

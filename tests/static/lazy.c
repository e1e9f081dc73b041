/*
 * A program with SQLite compiled in (libsqlite3.a, its functions in .symtab only), for the test of
 * when lockfix patches a copy (test_static.c, static_lazy): at load only the opens of a copy that
 * an earlier process patched whole, the rest at its first open. It compares the first 16 bytes of
 * sqlite3_open_v2 and sqlite3_step in memory with the executable file's before its first open
 * and after it, and prints what it saw:
 *
 *   before: open_v2=changed step=unchanged
 *   after: open_v2=changed step=changed
 *   journal=wal rows=4 threads=4
 *
 * Usage: lazy DB [damage]. The first open comes from four threads at once (a barrier), each then
 * writing one row in a deferred transaction. With `damage`, before opening, the program overwrites the first
 * instruction of its own sqlite3_step (after a leading endbr64) with ud2, which no patcher may
 * relocate, and restores it after the opens: lockfix must refuse the copy at that first open and
 * leave the rest unpatched (`after: open_v2=changed step=unchanged`), its opens passing through.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "code_vs_file.h"

static const char *db_path;
static int thread_rc[4];

/* Write n bytes at p in the program's code, as a program that patches itself would. */
static int poke(void *p, const void *bytes, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(page - 1);
    if (mprotect((void *)lo, (size_t)page * 2, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return -1;
    memcpy(p, bytes, n);
    return mprotect((void *)lo, (size_t)page * 2, PROT_READ | PROT_EXEC);
}

static int run(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    return rc;
}

static sqlite3 *dbs[4];

static pthread_barrier_t start;

static void *opener(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_barrier_wait(&start); /* the four first opens at once */
    thread_rc[i] =
        sqlite3_open_v2(db_path, &dbs[i], SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    db_path = argv[1];
    int damage = argc > 2 && strcmp(argv[2], "damage") == 0;
    printf("before: open_v2=%s step=%s\n", code_state((const void *)sqlite3_open_v2),
           code_state((const void *)sqlite3_step));

    unsigned char *step = (unsigned char *)(uintptr_t)sqlite3_step, saved[2];
    size_t at = memcmp(step, "\xf3\x0f\x1e\xfa", 4) == 0 ? 4 : 0;
    memcpy(saved, step + at, 2);
    if (damage && poke(step + at, "\x0f\x0b", 2) != 0)
        return 3;

    pthread_t t[4];
    pthread_barrier_init(&start, NULL, 4);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, opener, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (damage && poke(step + at, saved, 2) != 0)
        return 3;
    printf("after: open_v2=%s step=%s\n", code_state((const void *)sqlite3_open_v2),
           code_state((const void *)sqlite3_step));

    int opened = 0;
    for (int i = 0; i < 4; i++) {
        if (thread_rc[i] != SQLITE_OK)
            continue;
        opened++;
        run(dbs[i], "CREATE TABLE IF NOT EXISTS t(x)");
        if (run(dbs[i], "BEGIN") != SQLITE_OK ||
            run(dbs[i], "INSERT INTO t VALUES (1)") != SQLITE_OK ||
            run(dbs[i], "COMMIT") != SQLITE_OK)
            printf("write %d: %s\n", i, sqlite3_errmsg(dbs[i]));
    }
    sqlite3_stmt *st = NULL;
    const char *journal = "?";
    int rows = -1;
    if (sqlite3_prepare_v2(dbs[0], "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        static char j[16];
        snprintf(j, sizeof j, "%s", (const char *)sqlite3_column_text(st, 0));
        journal = j;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(dbs[0], "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        rows = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    printf("journal=%s rows=%d threads=%d\n", journal, rows, opened);
    for (int i = 0; i < 4; i++)
        sqlite3_close(dbs[i]);
    return 0;
}

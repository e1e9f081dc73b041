/*
 * Helpers for the integration tests: temp dirs, spawning real client programs with or without
 * the shim (with a hang guard), reading their output, and querying the result with SQLite.
 *
 * The tests run from the repository root (`make integration` does that); LOCKFIX_TEST_SHIM may
 * name the shim library, otherwise <root>/build/liblockfix.so is used.
 */
#ifndef LOCKFIX_TEST_HARNESS_H
#define LOCKFIX_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Absolute path of the repository root (the directory holding tests/clients). */
const char *h_root(void);
/* Absolute path of the shim library; fails the current test if it does not exist. */
const char *h_shim(void);
/* The build directory of the shim under test (make's $(BUILD): build, or build/clang, build/asan),
 * where the other built test programs are too. */
const char *h_build(void);
/* The real python3 interpreter (sys.executable, resolved once without the shim), so that tests
 * see one process rather than a chain of wrapper scripts (pyenv shims and the like). */
const char *h_python(void);

/* Fresh private directory under $TMPDIR (or /tmp). */
char *h_tmpdir(void);
/* Remove a directory tree (unless LOCKFIX_TEST_KEEP is set). */
void h_rmtree(const char *dir);
/* malloc'ed "a/b". */
char *h_join(const char *dir, const char *name);
/* malloc'ed printf. */
char *h_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One child process. */
typedef struct {
    pid_t pid;
    char *out_path, *err_path; /* where its stdout / stderr went */
    int status;                /* exit code; 128+signal when killed by a signal */
    bool timed_out;
    bool done;
} h_proc;

/*
 * Start argv[0] (looked up on PATH) with stdin from /dev/null and stdout/stderr to the given
 * files, in its own process group. The environment is this process's, minus LD_PRELOAD and every
 * LOCKFIX_* variable, plus LD_PRELOAD=<shim> when `shim` is set, plus the "K=V" strings of `env`
 * (NULL-terminated, may be NULL). `cwd` may be NULL.
 */
void h_spawn(h_proc *p, char *const argv[], bool shim, const char *const env[], const char *cwd,
             const char *out_path, const char *err_path);
/* The same with stdin read from the file at `in_path` (NULL: /dev/null). */
void h_spawn_stdin(h_proc *p, char *const argv[], bool shim, const char *const env[],
                   const char *cwd, const char *in_path, const char *out_path,
                   const char *err_path);
/* Wait for all; any still running after timeout_s seconds is killed (hang guard, not a timing
 * assertion). Returns the number that timed out. */
int h_wait_all(h_proc *ps, int n, int timeout_s);

/* What the writers of one contention run reported: each prints exactly one stdout line
** `ok=N failed=M locked=L`. */
struct h_totals {
    long ok, failed, locked;
    int bad_output; /* processes whose stdout was not exactly one result line */
    int bad_exit;
    int timed_out;
    char *stderr_all; /* concatenated stderr of all processes */
    char *stdout_bad; /* the first unexpected stdout, with that writer's status and stderr */
};
/* Wait for the n writers (hang guard timeout_s) and add up what they reported. */
struct h_totals h_collect_writers(h_proc *ps, int n, int timeout_s);

/* Run one process to completion; out/err (may be NULL) receive malloc'ed copies of its output.
 * Output files live in `dir`. Returns the exit code (-1 on timeout). */
int h_run(const char *dir, char *const argv[], bool shim, const char *const env[], const char *cwd,
          char **out, char **err, int timeout_s);

/* malloc'ed file contents, NULL if it cannot be read. */
char *h_slurp(const char *path);
bool h_exists(const char *path);

/* Query a database with the system SQLite (this process is never preloaded). The result of the
 * first column of the first row; fails the current test on any error. */
long long h_sql_int(const char *db, const char *sql);
char *h_sql_text(const char *db, const char *sql);

/* Lines of `text` that contain every one of the (NULL-terminated) needles. */
int h_count_lines(const char *text, ...) __attribute__((sentinel));
/* First such line (malloc'ed) or NULL. */
char *h_find_line(const char *text, ...) __attribute__((sentinel));
/* Text for messages: s, or "(none)" when NULL; long texts are cut to their first 2000 bytes. */
const char *h_show(const char *s);
/* A prerequisite of the current test is missing (`what`: `why`; `how`: how to get it): the test
 * is skipped with a loud message, or fails under CI (CI set, and not "false" or "0"), where every
 * test must run. */
void h_missing(const char *what, const char *why, const char *how);

/* Create the read-modify-write database with tests/clients/init-db.sh (DELETE journal mode). */
void h_init_db(const char *dir, const char *db);

/* CLOCK_MONOTONIC in seconds. */
double h_mono_s(void);
/* Wait (bounded) until the file at `path` holds a line starting with `what`. */
bool h_wait_for(const char *path, const char *what, double limit_s);
/* The number after `key=` in text (first occurrence at a word start), or -1. */
double h_field(const char *text, const char *key);
/* Create an empty file (a flag another process waits for). */
void h_touch(const char *path);

/* A Criterion main that runs the tests one at a time (Criterion runs them in parallel by default):
 * parallel tests would load the machine and change the contention being measured. */
int h_main_one_at_a_time(int argc, char *argv[]);

#endif

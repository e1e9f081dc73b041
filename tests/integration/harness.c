/* Integration-test helpers; see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *h_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    cr_assert(s != NULL, "out of memory");
    return s;
}

char *h_join(const char *dir, const char *name)
{
    return h_fmt("%s/%s", dir, name);
}

bool h_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* `dir` is the repository root if it holds tests/clients/rmw.py: then it is copied to root. */
static bool root_is(const char *dir, char *root, size_t cap)
{
    char *probe = h_join(dir, "tests/clients/rmw.py");
    bool ok = h_exists(probe);
    free(probe);
    if (ok)
        snprintf(root, cap, "%s", dir);
    return ok;
}

const char *h_root(void)
{
    static char root[PATH_MAX];
    if (root[0])
        return root;
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf) && root_is(buf, root, sizeof root))
        return root;
    /* Fall back to <exe>/../.. (binaries live in build/tests/). */
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        for (int i = 0; i < 3; i++) {
            char *slash = strrchr(buf, '/');
            if (slash)
                *slash = '\0';
        }
        if (root_is(buf, root, sizeof root))
            return root;
    }
    cr_assert_fail("cannot find the repository root (run the tests from it)");
    return NULL;
}

const char *h_shim(void)
{
    static char shim[PATH_MAX];
    if (!shim[0]) {
        const char *env = getenv("LOCKFIX_TEST_SHIM");
        char *p = env && *env ? strdup(env) : h_join(h_root(), "build/liblockfix.so");
        char *abs = realpath(p, NULL);
        cr_assert(abs != NULL, "shim library %s not found: build it first (make)", p);
        snprintf(shim, sizeof shim, "%s", abs);
        free(abs);
        free(p);
    }
    return shim;
}

const char *h_build(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", h_shim());
        *strrchr(dir, '/') = '\0'; /* h_shim() is absolute */
    }
    return dir;
}

const char *h_python(void)
{
    static char py[PATH_MAX];
    if (!py[0]) {
        /* Resolve without the shim and without LOCKFIX_* in the environment. */
        FILE *f = popen("env -u LD_PRELOAD python3 -c 'import sys; print(sys.executable)'", "r");
        cr_assert(f != NULL, "popen: %s", strerror(errno));
        char line[PATH_MAX] = "";
        char *got = fgets(line, sizeof line, f);
        int rc = pclose(f);
        cr_assert(got != NULL && rc == 0 && line[0] == '/', "cannot run python3 (rc=%d)", rc);
        line[strcspn(line, "\n")] = '\0';
        snprintf(py, sizeof py, "%s", line);
    }
    return py;
}

char *h_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = h_fmt("%s/lockfix-it.XXXXXX", base && *base ? base : "/tmp");
    cr_assert(mkdtemp(tmpl) != NULL, "mkdtemp %s: %s", tmpl, strerror(errno));
    return tmpl;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void h_rmtree(const char *dir)
{
    if (getenv("LOCKFIX_TEST_KEEP")) {
        cr_log_info("kept %s", dir);
        return;
    }
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Environment for a child: ours minus LD_PRELOAD and LOCKFIX_*, plus the extras. */
static char **child_env(bool shim, const char *const env[])
{
    size_t n = 0, extra = 1;
    while (environ[n])
        n++;
    for (size_t i = 0; env && env[i]; i++)
        extra++;
    char **e = calloc(n + extra + 1, sizeof *e);
    cr_assert(e != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "LD_PRELOAD=", 11) == 0 || strncmp(environ[i], "LOCKFIX_", 8) == 0)
            continue;
        e[k++] = environ[i];
    }
    /* make asan: the sanitizer runtime must be the first object of every process that may load
    ** the shim (preloaded or through the stand-in) */
    const char *first = getenv("LOCKFIX_TEST_PRELOAD_FIRST");
    if (first != NULL && *first != '\0')
        e[k++] = h_fmt("LD_PRELOAD=%s%s%s", first, shim ? " " : "", shim ? h_shim() : "");
    else if (shim)
        e[k++] = h_fmt("LD_PRELOAD=%s", h_shim());
    for (size_t i = 0; env && env[i]; i++)
        e[k++] = (char *)env[i];
    e[k] = NULL;
    return e;
}

void h_spawn(h_proc *p, char *const argv[], bool shim, const char *const env[], const char *cwd,
             const char *out_path, const char *err_path)
{
    h_spawn_stdin(p, argv, shim, env, cwd, NULL, out_path, err_path);
}

void h_spawn_stdin(h_proc *p, char *const argv[], bool shim, const char *const env[],
                   const char *cwd, const char *in_path, const char *out_path,
                   const char *err_path)
{
    memset(p, 0, sizeof *p);
    p->out_path = strdup(out_path);
    p->err_path = strdup(err_path);
    char **e = child_env(shim, env);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        /* If the test worker dies (Criterion's timeout kills it), take the child with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (in > 2)
            close(in);
        if (out > 2)
            close(out);
        if (err > 2)
            close(err);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        execvpe(argv[0], argv, e);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    p->pid = pid;
    free(e);
}

int h_wait_all(h_proc *ps, int n, int timeout_s)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int left = 0;
    for (int i = 0; i < n; i++)
        left += !ps[i].done;
    while (left > 0) {
        for (int i = 0; i < n; i++) {
            if (ps[i].done)
                continue;
            int st;
            pid_t r = waitpid(ps[i].pid, &st, WNOHANG);
            if (r == ps[i].pid) {
                ps[i].done = true;
                ps[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                left--;
            } else if (r < 0 && errno != EINTR) {
                ps[i].done = true;
                ps[i].status = -1;
                left--;
            }
        }
        if (left == 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= timeout_s) {
            int timed_out = 0;
            for (int i = 0; i < n; i++) {
                if (ps[i].done)
                    continue;
                kill(-ps[i].pid, SIGKILL);
                kill(ps[i].pid, SIGKILL);
                waitpid(ps[i].pid, NULL, 0);
                ps[i].done = true;
                ps[i].timed_out = true;
                ps[i].status = -1;
                timed_out++;
            }
            return timed_out;
        }
        struct timespec ts = { 0, 5 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}

int h_run(const char *dir, char *const argv[], bool shim, const char *const env[], const char *cwd,
          char **out, char **err, int timeout_s)
{
    static int seq;
    seq++;
    char *o = h_fmt("%s/run%d.out", dir, seq);
    char *e = h_fmt("%s/run%d.err", dir, seq);
    h_proc p;
    h_spawn(&p, argv, shim, env, cwd, o, e);
    h_wait_all(&p, 1, timeout_s);
    if (out)
        *out = h_slurp(o);
    if (err)
        *err = h_slurp(e);
    free(o);
    free(e);
    free(p.out_path);
    free(p.err_path);
    return p.timed_out ? -1 : p.status;
}

char *h_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    cr_assert(buf != NULL);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert(buf != NULL);
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static sqlite3_stmt *query(const char *db, const char *sql, sqlite3 **out)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL);
    cr_assert(rc == SQLITE_OK, "open %s: %s", db, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(h, 10000);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    cr_assert(rc == SQLITE_OK, "prepare %s on %s: %s", sql, db, sqlite3_errmsg(h));
    rc = sqlite3_step(st);
    cr_assert(rc == SQLITE_ROW, "%s on %s: no row (%s)", sql, db, sqlite3_errmsg(h));
    *out = h;
    return st;
}

long long h_sql_int(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st = query(db, sql, &h);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

char *h_sql_text(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st = query(db, sql, &h);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *v = strdup(t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* Calls fn on each line (not NUL-terminated: ptr+len) that contains all needles. */
static int scan_lines(const char *text, va_list ap_in, char **first)
{
    const char *needles[16];
    int nn = 0;
    va_list ap;
    va_copy(ap, ap_in);
    const char *s;
    while (nn < 16 && (s = va_arg(ap, const char *)) != NULL)
        needles[nn++] = s;
    va_end(ap);
    if (first)
        *first = NULL;
    if (!text)
        return 0;
    int count = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, len);
        bool all = true;
        for (int i = 0; i < nn && all; i++)
            all = strstr(copy, needles[i]) != NULL;
        if (all) {
            count++;
            if (first && !*first) {
                *first = copy;
                copy = NULL;
            }
        }
        free(copy);
        if (!end)
            break;
        line = end + 1;
    }
    return count;
}

int h_count_lines(const char *text, ...)
{
    va_list ap;
    va_start(ap, text);
    int n = scan_lines(text, ap, NULL);
    va_end(ap);
    return n;
}

char *h_find_line(const char *text, ...)
{
    va_list ap;
    va_start(ap, text);
    char *first;
    scan_lines(text, ap, &first);
    va_end(ap);
    return first;
}

void h_missing(const char *what, const char *why, const char *how)
{
    const char *ci = getenv("CI");
    if (ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0)
        cr_assert_fail("%s: %s, but CI must run every test: %s", what, why, how);
    fprintf(stderr,
            "\n*** SKIPPED: %s: %s.\n*** To have it: %s; CI (CI=true) fails instead of "
            "skipping. ***\n\n",
            what, why, how);
    cr_skip_test("%s: %s", what, why);
}

const char *h_show(const char *s)
{
    if (!s)
        return "(none)";
    if (!*s)
        return "(empty)";
    size_t n = strlen(s);
    if (n <= 2000)
        return s;
    return h_fmt("%.2000s... [%zu bytes in all]", s, n);
}

void h_init_db(const char *dir, const char *db)
{
    char *script = h_join(h_root(), "tests/clients/init-db.sh");
    char *argv[] = { "sh", script, (char *)db, NULL };
    char *err = NULL;
    int rc = h_run(dir, argv, false, NULL, NULL, NULL, &err, 30);
    cr_assert(rc == 0, "init-db.sh %s failed (%d): %s", db, rc, h_show(err));
    free(err);
    free(script);
}

/* Parse `ok=N failed=M locked=L` followed by nothing else; true when it is exactly that. */
static bool parse_result(const char *out, long *ok, long *failed, long *locked)
{
    int used = 0;
    return out && sscanf(out, "ok=%ld failed=%ld locked=%ld\n%n", ok, failed, locked, &used) == 3 &&
           used > 0 && out[used] == '\0';
}

struct h_totals h_collect_writers(h_proc *ps, int n, int timeout_s)
{
    struct h_totals t = { 0 };
    t.timed_out = h_wait_all(ps, n, timeout_s);
    t.stderr_all = calloc(1, 1);
    size_t errlen = 0;
    for (int w = 0; w < n; w++) {
        char *out = h_slurp(ps[w].out_path);
        char *err = h_slurp(ps[w].err_path);
        long ok, failed, locked;
        if (parse_result(out, &ok, &failed, &locked)) {
            t.ok += ok;
            t.failed += failed;
            t.locked += locked;
        } else {
            t.bad_output++;
            if (!t.stdout_bad)
                t.stdout_bad = h_fmt("writer %d stdout: %s (status %d; stderr: %s)", w + 1,
                                     h_show(out), ps[w].status, h_show(err));
        }
        if (ps[w].status != 0)
            t.bad_exit++;
        if (err && *err) {
            size_t len = strlen(err);
            t.stderr_all = realloc(t.stderr_all, errlen + len + 1);
            memcpy(t.stderr_all + errlen, err, len + 1);
            errlen += len;
        }
        free(out);
        free(err);
    }
    return t;
}

int h_main_one_at_a_time(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    criterion_options.jobs = 1;
    int result = 0;
    if (criterion_handle_args(argc, argv, true))
        result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}

double h_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool h_wait_for(const char *path, const char *what, double limit_s)
{
    double end = h_mono_s() + limit_s;
    char *nl = h_fmt("\n%s", what);
    while (h_mono_s() < end) {
        char *s = h_slurp(path);
        bool ok = s && (strncmp(s, what, strlen(what)) == 0 || strstr(s, nl));
        free(s);
        if (ok) {
            free(nl);
            return true;
        }
        usleep(5000);
    }
    free(nl);
    return false;
}

double h_field(const char *text, const char *key)
{
    if (!text)
        return -1;
    char *pat = h_fmt("%s=", key);
    const char *p = text;
    while ((p = strstr(p, pat)) != NULL) {
        if (p == text || p[-1] == ' ' || p[-1] == '\n') {
            double v = strtod(p + strlen(pat), NULL);
            free(pat);
            return v;
        }
        p++;
    }
    free(pat);
    return -1;
}

void h_touch(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "cannot create %s", path);
    fclose(f);
}

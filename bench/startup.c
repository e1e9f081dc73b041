/*
 * What loading lockfix costs a process that never touches SQLite, start to exit.
 *
 * Usage: startup [-n RUNS] [-r ROUNDS] BASE_LIB LIB -- COMMAND [ARGS...]
 *
 * Runs COMMAND RUNS times with LD_PRELOAD=BASE_LIB and RUNS times with LD_PRELOAD=LIB,
 * alternating one run of each (so drift in the machine's load hits both alike), timing each
 * run from posix_spawn to wait4 (wall) and taking its CPU time (user + system, from wait4's
 * rusage: less disturbed by other processes on a shared machine). That is one round; the median
 * over ROUNDS rounds of each round's mean is printed, in microseconds per process, for both and
 * for the difference:
 *
 *   wall: base_us=812.4 lib_us=861.0 diff_us=48.6  cpu: base_us=... runs=1000 rounds=5
 *
 * BASE_LIB is normally an empty library (the cost of any preload at all is not lockfix's).
 * The command's stdout and stderr go to /dev/null; a run that exits non-zero is reported.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* environ without LD_PRELOAD, plus LD_PRELOAD=lib. */
static char **env_with(const char *lib)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **e = calloc(n + 2, sizeof *e);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            e[k++] = environ[i];
    size_t len = strlen(lib) + 12;
    e[k] = malloc(len);
    snprintf(e[k], len, "LD_PRELOAD=%s", lib);
    return e;
}

/* One run: its wall time; its CPU time (user + system, from wait4) added to *cpu. */
static double run_once(char **argv, char **env, posix_spawn_file_actions_t *fa, int *bad,
                       double *cpu)
{
    pid_t pid;
    double t0 = now_us();
    if (posix_spawnp(&pid, argv[0], fa, NULL, argv, env) != 0) {
        perror(argv[0]);
        exit(2);
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    double t = now_us() - t0;
    *cpu += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        (*bad)++;
    return t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int runs = 1000, rounds = 5, i = 1;
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "-n") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-r") == 0)
            rounds = atoi(argv[i + 1]);
    }
    if (argc - i < 4 || strcmp(argv[i + 2], "--") != 0 || runs < 1 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: startup [-n RUNS] [-r ROUNDS] BASE_LIB LIB -- COMMAND [ARGS...]\n");
        return 2;
    }
    char **env_base = env_with(argv[i]), **env_lib = env_with(argv[i + 1]);
    char **cmd = argv + i + 3;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

    /* per round: wall base, wall lib, wall diff, cpu base, cpu lib, cpu diff */
    double m[6][99];
    int bad = 0;
    double ignore = 0;
    run_once(cmd, env_base, &fa, &bad, &ignore); /* warm the page cache and lockfix's cache */
    run_once(cmd, env_lib, &fa, &bad, &ignore);
    for (int r = 0; r < rounds; r++) {
        double sb = 0, sl = 0, cb = 0, cl = 0;
        for (int k = 0; k < runs; k++) {
            sb += run_once(cmd, env_base, &fa, &bad, &cb);
            sl += run_once(cmd, env_lib, &fa, &bad, &cl);
        }
        m[0][r] = sb / runs;
        m[1][r] = sl / runs;
        m[2][r] = (sl - sb) / runs;
        m[3][r] = cb / runs;
        m[4][r] = cl / runs;
        m[5][r] = (cl - cb) / runs;
    }
    for (int i = 0; i < 6; i++)
        qsort(m[i], (size_t)rounds, sizeof(double), cmp);
    int mid = rounds / 2;
    printf("wall: base_us=%.1f lib_us=%.1f diff_us=%.1f  cpu: base_us=%.1f lib_us=%.1f "
           "diff_us=%.1f  runs=%d rounds=%d%s\n",
           m[0][mid], m[1][mid], m[2][mid], m[3][mid], m[4][mid], m[5][mid], runs, rounds,
           bad ? " (some runs failed)" : "");
    return bad ? 1 : 0;
}

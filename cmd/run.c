/*
** `lockfix [options] [--] COMMAND [ARGS...]`: run COMMAND with the shim preloaded.
**
** The command is exec'd, not supervised: its pid, signals, exit status, stdin and stdout are its
** own, which is what lets lockfix stand in front of an MCP server speaking JSON-RPC on stdout.
** Nothing here ever writes to stdout.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockfix.h"
#include "buf.h"
#include "preload.h"

/* The --help text of the wrapper; also `lockfix help run`. */
void usage_run(FILE *out)
{
    fprintf(out,
            "usage: lockfix [OPTIONS] [--] COMMAND [ARGS...]\n"
            "\n"
            "Run COMMAND with liblockfix preloaded (%s), so that its SQLite\n"
            "connections wait for locks instead of failing with \"database is locked\".\n"
            "The library is appended to what %s already holds, never twice, and\n"
            "COMMAND replaces lockfix (exec): its exit status, signals, stdin and stdout\n"
            "stay its own. The shim logs to stderr (never stdout) unless --log says\n"
            "otherwise.\n"
            "\n"
            "Options (each sets a LOCKFIX_* variable; see lockfix(1)):\n",
            PRELOAD_VAR, PRELOAD_VAR);
    shim_options_help(out);
    fprintf(out,
            "      --standin            also put lockfix's stand-in libsqlite3.so.0 first in\n"
            "                           LD_LIBRARY_PATH, to reach programs that bind past\n"
            "                           LD_PRELOAD (automatic when COMMAND is php*)\n"
            "      --no-standin         never do that\n"
            "  -h, --help               this help\n"
            "\n"
            "A first argument named env, doctor, check, stats or help is a subcommand; to\n"
            "run a program with one of those names, put -- before it. Exit status: that of\n"
            "COMMAND, or 125 (lockfix failed), 126 (COMMAND not executable), 127 (COMMAND\n"
            "not found).\n");
}

/* ld.so splits the preload list at spaces and colons: a library path containing either would be
** read as two bogus entries, so refuse it with a clear message instead. */
static int preloadable(const char *lib)
{
    for (const char *p = lib; *p; p++)
        if (preload_separator(*p))
            return 0;
    return 1;
}

/* Put the shim into the preload variable of this process, to be inherited by the command.
** Returns 0, or an exit code. */
static int add_shim_to_environment(void)
{
    struct buf tried = {0};
    const char *lib = shim_library(&tried);
    if (lib == NULL) {
        warnx_("cannot find %s (looked at: %s); reinstall lockfix or run it from its build "
               "directory",
               SHIM_FILE, tried.p ? tried.p : "nothing");
        buf_free(&tried);
        return EXIT_RUN_FAILED;
    }
    buf_free(&tried);
    if (!preloadable(lib)) {
        warnx_("the library path '%s' contains a space or ':', which %s cannot hold; install "
               "lockfix under a plain path",
               lib, PRELOAD_VAR);
        return EXIT_RUN_FAILED;
    }
    char *replaced = NULL;
    char *value = preload_value(getenv(PRELOAD_VAR), lib, &replaced);
    if (replaced != NULL) {
        warnx_("note: %s already held %s; using %s in its place", PRELOAD_VAR, replaced, lib);
        free(replaced);
    }
    setenv(PRELOAD_VAR, value, 1);
    free(value);
    return 0;
}

/* PHP's extensions bind past LD_PRELOAD (RTLD_DEEPBIND) but still look libsqlite3.so.0 up
** through LD_LIBRARY_PATH, where the stand-in puts the shim in front of the real library. Only
** done when asked or for PHP: other programs may ship their own libsqlite3.so.0 on purpose.
** Returns 0, or an exit code when the stand-in was asked for and is missing. */
static int add_standin_to_environment(int required)
{
    const char *dir = standin_dir();
    if (dir == NULL) {
        if (required) {
            warnx_("--standin: the stand-in libsqlite3.so.0 was not built (make standin)");
            return EXIT_RUN_FAILED;
        }
        return 0;
    }
    char *value = library_path_value(getenv("LD_LIBRARY_PATH"), dir);
    setenv("LD_LIBRARY_PATH", value, 1);
    free(value);
    return 0;
}

/* Options up to the first non-option (or --), then exec: nothing of lockfix stays running. */
int cmd_run(int argc, char **argv)
{
    struct shim_env env = {0};
    int standin = -1; /* -1: automatic (PHP only) */
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break; /* the command */
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_run(stdout);
            return EXIT_OK;
        }
        if (strcmp(a, "--standin") == 0 || strcmp(a, "--no-standin") == 0) {
            standin = a[2] == 's';
            continue;
        }
        int r = shim_option(argc, argv, &i, &env);
        if (r < 0)
            return EXIT_RUN_FAILED;
        if (r == 0) {
            warnx_("unknown option '%s' (lockfix --help lists them; put -- before a command "
                   "that starts with '-')",
                   a);
            return EXIT_RUN_FAILED;
        }
    }
    if (i >= argc) {
        warnx_("no command to run (usage: lockfix [OPTIONS] [--] COMMAND [ARGS...])");
        return EXIT_RUN_FAILED;
    }
    int rc = add_shim_to_environment();
    if (rc != 0)
        return rc;
    if (standin == 1 || (standin == -1 && is_php_command(argv[i]))) {
        rc = add_standin_to_environment(standin == 1);
        if (rc != 0)
            return rc;
    }
    shim_env_apply(&env);
    execvp(argv[i], argv + i);
    int err = errno;
    warnx_("%s: %s", argv[i], strerror(err));
    return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

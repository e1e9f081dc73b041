/*
** `lockfix env [options]`: print the variables the run wrapper would set, for places where
** lockfix cannot stand in front of the program: a shell session (eval), a systemd unit, a
** Dockerfile. Same options as the wrapper.
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shim/options.h"
#include "lockfix.h"
#include "buf.h"
#include "preload.h"

enum env_format { FMT_SH, FMT_SYSTEMD, FMT_DOCKER };

/* The --help text; also shown by `lockfix help env`. */
void usage_env(FILE *out)
{
    fprintf(out,
            "usage: lockfix env [OPTIONS] [--format sh|systemd|docker] [--unset]\n"
            "\n"
            "Print the environment that loads lockfix: %s and the LOCKFIX_*\n"
            "variables of the options given.\n"
            "  --format sh       export lines for POSIX shells (default), for\n"
            "                    eval \"$(lockfix env)\"; keeps the shell's own %s\n"
            "  --format systemd  Environment= lines for a unit drop-in ([Service] section)\n"
            "  --format docker   ENV lines for a Dockerfile\n"
            "  --standin         also LD_LIBRARY_PATH with lockfix's stand-in libsqlite3.so.0\n"
            "                    first (reaches PHP; see lockfix(1))\n"
            "  --unset           (sh) lines that undo it: lockfix out of %s,\n"
            "                    LOCKFIX_* unset\n"
            "\n"
            "Options (as for the run wrapper):\n",
            PRELOAD_VAR, PRELOAD_VAR, PRELOAD_VAR);
    shim_options_help(out);
}

/* systemd: double quotes with C-style escapes; '%' starts a specifier and must be doubled. */
static void quote_systemd(struct buf *b, const char *name, const char *value)
{
    buf_add(b, "Environment=\"");
    buf_add(b, name);
    buf_add(b, "=");
    for (const char *s = value; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_addn(b, "\\", 1);
        if (*s == '%')
            buf_addn(b, "%", 1);
        buf_addn(b, s, 1);
    }
    buf_add(b, "\"\n");
}

/* Dockerfile ENV: double quotes; backslash escapes '"', '\\' and '$' (which it would expand). */
static void quote_docker(struct buf *b, const char *name, const char *value)
{
    buf_add(b, "ENV ");
    buf_add(b, name);
    buf_add(b, "=\"");
    for (const char *s = value; *s; s++) {
        if (*s == '"' || *s == '\\' || *s == '$')
            buf_addn(b, "\\", 1);
        buf_addn(b, s, 1);
    }
    buf_add(b, "\"\n");
}

/* One NAME=VALUE in the chosen syntax. */
static void emit(struct buf *b, enum env_format f, const char *name, const char *value)
{
    if (f == FMT_SYSTEMD) {
        quote_systemd(b, name, value);
    } else if (f == FMT_DOCKER) {
        quote_docker(b, name, value);
    } else {
        buf_printf(b, "export %s=", name);
        buf_shell_quote(b, value);
        buf_add(b, "\n");
    }
}

/* The sh lines that take lockfix out of the current shell again. */
static void emit_unset(struct buf *b)
{
    /* The stand-in directory, if `env --standin` put it first, comes out again. */
    const char *dir = standin_dir();
    const char *llp = getenv("LD_LIBRARY_PATH");
    if (dir != NULL && llp != NULL && has_prefix(llp, dir)) {
        const char *after = llp + strlen(dir);
        if (*after == ':' || *after == '\0') {
            if (*after == ':')
                after++;
            if (*after) {
                buf_add(b, "export LD_LIBRARY_PATH=");
                buf_shell_quote(b, after);
                buf_add(b, "\n");
            } else {
                buf_add(b, "unset LD_LIBRARY_PATH\n");
            }
        }
    }
    char *rest = preload_without_shim(getenv(PRELOAD_VAR));
    if (rest[0] != '\0') {
        buf_printf(b, "export %s=", PRELOAD_VAR);
        buf_shell_quote(b, rest);
        buf_add(b, "\n");
    } else {
        buf_printf(b, "unset %s\n", PRELOAD_VAR);
    }
    free(rest);
    for (int i = 0; i < LF_OPTION_COUNT; i++) /* every LOCKFIX_* variable (shim/options.h) */
        buf_printf(b, "unset %s\n", lf_option_name((enum lf_option_id)i));
}

/* Entry point: same options as the wrapper, printed instead of exec'd. */
int cmd_env(int argc, char **argv)
{
    struct shim_env env = {0};
    enum env_format f = FMT_SH;
    int unset = 0, standin = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_env(stdout);
            return EXIT_OK;
        }
        if (strcmp(a, "--standin") == 0) {
            standin = 1;
            continue;
        }
        if (strcmp(a, "--unset") == 0) {
            unset = 1;
            continue;
        }
        if (strcmp(a, "--format") == 0 || has_prefix(a, "--format=")) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : "");
            if (strcmp(v, "sh") == 0)
                f = FMT_SH;
            else if (strcmp(v, "systemd") == 0)
                f = FMT_SYSTEMD;
            else if (strcmp(v, "docker") == 0)
                f = FMT_DOCKER;
            else {
                warnx_("env: --format: expected sh, systemd or docker, not '%s'", v);
                return EXIT_USAGE;
            }
            continue;
        }
        int r = shim_option(argc, argv, &i, &env);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0) {
            warnx_("env: unknown argument '%s' (lockfix env --help)", a);
            return EXIT_USAGE;
        }
    }
    struct buf out = {0};
    buf_add(&out, "");
    if (unset) {
        if (f != FMT_SH) {
            warnx_("env: --unset only makes sense with --format sh");
            return EXIT_USAGE;
        }
        emit_unset(&out);
    } else {
        struct buf tried = {0};
        const char *lib = shim_library(&tried);
        if (lib == NULL) {
            warnx_("env: cannot find %s (looked at: %s)", SHIM_FILE, tried.p ? tried.p : "");
            buf_free(&tried);
            return EXIT_RUN_FAILED;
        }
        buf_free(&tried);
        /* A unit or an image does not inherit this shell's preload list; a shell does. */
        char *value = preload_value(f == FMT_SH ? getenv(PRELOAD_VAR) : NULL, lib, NULL);
        emit(&out, f, PRELOAD_VAR, value);
        free(value);
        if (standin) {
            const char *dir = standin_dir();
            if (dir == NULL) {
                warnx_("env: --standin: the stand-in libsqlite3.so.0 was not built (make standin)");
                return EXIT_RUN_FAILED;
            }
            value = library_path_value(f == FMT_SH ? getenv("LD_LIBRARY_PATH") : NULL, dir);
            emit(&out, f, "LD_LIBRARY_PATH", value);
            free(value);
        }
        for (int i = 0; i < env.n; i++)
            emit(&out, f, env.name[i], env.value[i]);
    }
    fputs(out.p, stdout);
    buf_free(&out);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUN_FAILED;
}

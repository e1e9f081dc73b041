/*
** Command-line options that become the shim's LOCKFIX_* variables, described once in a table
** (like the shim's own config.c) and shared by the run wrapper and `lockfix env`.
**
** Unlike the shim, which must never stop a program over a bad variable, the command rejects a
** bad value at once: the user is right there to fix the typo.
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../shim/options.h"
#include "lockfix.h"
#include "buf.h"
#include "files.h"

enum opt_kind {
    K_FLAG,  /* no argument: sets `fixed` */
    K_MS,    /* milliseconds, 0..86400000 */
    K_COUNT, /* a count, 0..1000000 */
    K_US,    /* microseconds, 0..1000000 */
    K_LOG,   /* off | stderr | FILE (made absolute) */
    K_LEVEL, /* info | debug */
    K_GLOBS, /* ':'-separated globs; repeated options add to the list */
};

struct opt {
    const char *name; /* long option, without "--" */
    char short_name;  /* or 0 */
    enum lf_option_id var; /* LOCKFIX_* variable it sets (shim/options.h) */
    enum opt_kind kind;
    const char *fixed; /* value for K_FLAG */
    const char *metavar;
    const char *help;
};

static const struct opt opts[] = {
    {"log", 'l', LF_OPT_LOCKFIX_LOG, K_LOG, NULL, "DEST",
     "FILE (appended), stderr (default) or off"},
    {"quiet", 'q', LF_OPT_LOCKFIX_LOG, K_FLAG, "off", NULL, "same as --log off"},
    {"log-level", 0, LF_OPT_LOCKFIX_LOG_LEVEL, K_LEVEL, NULL, "LEVEL",
     "info (default) or debug (adds SQL text)"},
    {"debug", 0, LF_OPT_LOCKFIX_LOG_LEVEL, K_FLAG, "debug", NULL, "same as --log-level debug"},
    {"log-repeat", 0, LF_OPT_LOCKFIX_LOG_REPEAT, K_COUNT, NULL, "N",
     "log an event N times per connection, then count (1)"},
    {"timeout", 't', LF_OPT_LOCKFIX_TIMEOUT_MS, K_MS, NULL, "MS",
     "busy-timeout floor (default 5000; 0: none)"},
    {"retry-budget", 0, LF_OPT_LOCKFIX_RETRY_BUDGET_MS, K_MS, NULL, "MS",
     "retry time per statement (default 30000)"},
    {"no-wal", 0, LF_OPT_LOCKFIX_WAL, K_FLAG, "0", NULL, "do not switch databases to WAL"},
    {"wal", 0, LF_OPT_LOCKFIX_WAL, K_FLAG, "1", NULL, "switch databases to WAL at open (default)"},
    {"no-rewrite", 0, LF_OPT_LOCKFIX_REWRITE, K_FLAG, "0", NULL,
     "keep BEGIN (no BEGIN IMMEDIATE)"},
    {"rewrite", 0, LF_OPT_LOCKFIX_REWRITE, K_FLAG, "1", NULL, "rewrite BEGIN (default)"},
    {"no-retry", 0, LF_OPT_LOCKFIX_RETRY, K_FLAG, "0", NULL,
     "do not retry busy statements"},
    {"retry", 0, LF_OPT_LOCKFIX_RETRY, K_FLAG, "1", NULL, "retry where safe (default)"},
    {"no-queue", 0, LF_OPT_LOCKFIX_QUEUE, K_FLAG, "0", NULL,
     "no fair writer queue: SQLite's own locking only"},
    {"queue", 0, LF_OPT_LOCKFIX_QUEUE, K_FLAG, "1", NULL, "fair writer queue (default)"},
    {"queue-log", 0, LF_OPT_LOCKFIX_QUEUE_LOG_MS, K_MS, NULL, "MS",
     "log queue waits at least this long (1000)"},
    {"queue-slice", 0, LF_OPT_LOCKFIX_QUEUE_SLICE_US, K_US, NULL, "US",
     "a turn may cover short transactions for this long (1000)"},
    {"queue-linger", 0, LF_OPT_LOCKFIX_QUEUE_LINGER_US, K_US, NULL, "US",
     "...if each next one starts within this time (50; 0: one per turn)"},
    {"no-static", 0, LF_OPT_LOCKFIX_STATIC, K_FLAG, "0", NULL,
     "leave SQLite compiled into the program alone"},
    {"static", 0, LF_OPT_LOCKFIX_STATIC, K_FLAG, "1", NULL,
     "reach SQLite compiled in, through its symbols (default)"},
    {"long-turn", 0, LF_OPT_LOCKFIX_LONG_TURN_MS, K_MS, NULL, "MS",
     "log a queue turn held this long while others wait (1000; 0: never)"},
    {"dry-run", 'n', LF_OPT_LOCKFIX_DRY_RUN, K_FLAG, "1", NULL,
     "change nothing, log what would be done"},
    {"include", 0, LF_OPT_LOCKFIX_INCLUDE, K_GLOBS, NULL, "GLOB",
     "only databases matching GLOB (repeatable)"},
    {"exclude", 0, LF_OPT_LOCKFIX_EXCLUDE, K_GLOBS, NULL, "GLOB",
     "leave matching databases alone (repeatable)"},
    {"disable", 0, LF_OPT_LOCKFIX_DISABLE, K_FLAG, "1", NULL,
     "load it but pass every call through (A/B tests)"},
};

#define NOPTS (sizeof opts / sizeof opts[0])

/* Record NAME=VALUE, replacing an earlier value (or extending a glob list). */
static void env_set(struct shim_env *env, const char *name, const char *value, int append)
{
    for (int i = 0; i < env->n; i++) {
        if (strcmp(env->name[i], name) != 0)
            continue;
        char *v = append ? xasprintf("%s:%s", env->value[i], value) : xstrdup(value);
        free(env->value[i]);
        env->value[i] = v;
        return;
    }
    if (env->n < SHIM_VARS_MAX) {
        env->name[env->n] = name;
        env->value[env->n] = xstrdup(value);
        env->n++;
    }
}

/* A whole number from 0 to max, normalised; NULL after saying what was expected. */
static char *check_number(const struct opt *o, const char *v, long max, const char *what)
{
    long n;
    if (parse_ms(v, max, &n) == 0)
        return xasprintf("%ld", n);
    warnx_("--%s: '%s' is not %s (0 to %ld)", o->name, v, what, max);
    return NULL;
}

/* Check and normalise one option value; returns the value to export (malloc'd) or NULL after
** printing why it is bad. */
static char *check_value(const struct opt *o, const char *v)
{
    switch (o->kind) {
    case K_FLAG:
        return xstrdup(o->fixed);
    case K_MS: /* the limits are the shim's own */
        return check_number(o, v, lf_option_max(o->var), "a number of milliseconds");
    case K_COUNT:
        return check_number(o, v, lf_option_max(o->var), "a count");
    case K_US:
        return check_number(o, v, lf_option_max(o->var), "a number of microseconds");
    case K_LOG:
        if (strcasecmp(v, "off") == 0 || strcasecmp(v, "none") == 0)
            return xstrdup("off");
        if (strcasecmp(v, "stderr") == 0)
            return xstrdup("stderr");
        if (v[0] == '\0') {
            warnx_("--%s: expected FILE, stderr or off", o->name);
            return NULL;
        }
        if (strcmp(v, "-") == 0 || strcasecmp(v, "stdout") == 0) {
            warnx_("--%s: the log never goes to stdout (it may carry a protocol, e.g. MCP's "
                   "JSON-RPC); use stderr or a file",
                   o->name);
            return NULL;
        } else {
            char *p = abs_path(v);
            if (p == NULL)
                warnx_("--%s: cannot make '%s' absolute (current directory unknown)", o->name, v);
            return p;
        }
    case K_LEVEL:
        if (strcasecmp(v, "info") == 0 || strcasecmp(v, "debug") == 0)
            return xstrdup(v);
        warnx_("--%s: expected info or debug, not '%s'", o->name, v);
        return NULL;
    case K_GLOBS:
        if (v[0] == '\0') {
            warnx_("--%s: empty pattern", o->name);
            return NULL;
        }
        return xstrdup(v);
    }
    return NULL;
}

/* Accept --name VALUE, --name=VALUE and the short forms, for both run and env. */
int shim_option(int argc, char **argv, int *i, struct shim_env *env)
{
    const char *arg = argv[*i];
    const struct opt *o = NULL;
    const char *inline_val = NULL;
    if (arg[0] == '-' && arg[1] == '-' && arg[2] != '\0') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        for (size_t k = 0; k < NOPTS; k++)
            if (strlen(opts[k].name) == n && strncmp(opts[k].name, name, n) == 0)
                o = &opts[k];
        if (o != NULL && eq != NULL)
            inline_val = eq + 1;
    } else if (arg[0] == '-' && arg[1] != '\0' && arg[1] != '-' && arg[2] == '\0') {
        for (size_t k = 0; k < NOPTS; k++)
            if (opts[k].short_name == arg[1])
                o = &opts[k];
    }
    if (o == NULL)
        return 0;
    const char *v = NULL;
    if (o->kind == K_FLAG) {
        if (inline_val != NULL) {
            warnx_("--%s takes no value", o->name);
            return -1;
        }
    } else if (inline_val != NULL) {
        v = inline_val;
    } else if (*i + 1 < argc) {
        v = argv[++*i];
    } else {
        warnx_("--%s needs a value (%s)", o->name, o->metavar);
        return -1;
    }
    char *value = check_value(o, v);
    if (value == NULL)
        return -1;
    env_set(env, lf_option_name(o->var), value, o->kind == K_GLOBS);
    free(value);
    return 1;
}

/* The option list comes from the table, so help never disagrees with the parser. */
void shim_options_help(FILE *out)
{
    for (size_t k = 0; k < NOPTS; k++) {
        char head[64];
        if (opts[k].short_name)
            snprintf(head, sizeof head, "-%c, --%s%s%s", opts[k].short_name, opts[k].name,
                     opts[k].metavar ? " " : "", opts[k].metavar ? opts[k].metavar : "");
        else
            snprintf(head, sizeof head, "    --%s%s%s", opts[k].name, opts[k].metavar ? " " : "",
                     opts[k].metavar ? opts[k].metavar : "");
        /* Keep lines within 80 columns: the variable goes on its own line when it would not. */
        int used = fprintf(out, "  %-24s %s", head, opts[k].help);
        const char *var = lf_option_name(opts[k].var);
        if (used + (int)strlen(var) + 3 <= 80)
            fprintf(out, " (%s)\n", var);
        else
            fprintf(out, "\n  %-24s (%s)\n", "", var);
    }
}

/* For a command that judges what the shim did (doctor's long turns): the threshold the shim in
** the user's programs would take from the same environment. The shim keeps the default for a bad
** value, so this does too, after the warning; unlike a flag, it is not the command's to reject. */
long shim_option_env_number(int option_id, const char *who)
{
    enum lf_option_id id = (enum lf_option_id)option_id;
    const char *name = lf_option_name(id), *v = getenv(name);
    long n, def = lf_option_default_number(id);
    if (v == NULL || v[0] == '\0')
        return def;
    if (parse_ms(v, lf_option_max(id), &n) == 0)
        return n;
    warnx_("%s: %s='%s' is not a number from 0 to %ld: using %ld, as lockfix does", who, name, v,
           lf_option_max(id), def);
    return def;
}

/* The wrapper sets the variables in its own environment; exec passes them on. */
void shim_env_apply(const struct shim_env *env)
{
    for (int i = 0; i < env->n; i++)
        setenv(env->name[i], env->value[i], 1);
}

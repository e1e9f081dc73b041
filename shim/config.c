/*
** Configuration: LOCKFIX_* environment variables, described once in a table.
**
** Each option has a name, a parser and a default. A bad value never stops the program: it gets
** one warning naming the variable and the value, and the default stays. The environment is read
** once, on the first SQLite call (not in a constructor: a process that never uses SQLite must not
** even see a warning), and ignored in set-uid/set-gid programs, where it is the caller's, not
** the program owner's.
*/
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "base.h"
#include "globs.h"
#include "log.h"
#include "options.h"
#include "platform.h"

enum opt_type { OPT_BOOL, OPT_MS, OPT_US, OPT_COUNT, OPT_LOG, OPT_LEVEL, OPT_GLOBS };

struct option {
    const char *name;
    enum opt_type type;
    size_t offset; /* of the field in struct lf_config */
    long max;      /* for numbers */
    int def;       /* the default (an enum's value for LOG and LEVEL) */
};

#define OPT_ROW(var, type, field, max, def)                                                        \
    {#var, OPT_##type, offsetof(struct lf_config, field), max, def},
static const struct option options[] = {LF_OPTIONS(OPT_ROW)};
#undef OPT_ROW
_Static_assert(sizeof options / sizeof options[0] == LF_OPTION_COUNT, "one row per option");
_Static_assert(sizeof(enum lf_log_dest) == sizeof(int) && sizeof(enum lf_log_level) == sizeof(int),
               "the enum fields are set through an int, as the parser does");

/* The defaults are the table's last column (a GLOBS list starts empty: 0). */
void lf_config_defaults(struct lf_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (options[i].type != OPT_GLOBS)
            *(int *)(void *)((char *)cfg + options[i].offset) = options[i].def;
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int parse_bool(const char *v, int *out)
{
    static const char *yes[] = {"1", "on", "yes", "true"}, *no[] = {"0", "off", "no", "false"};
    for (size_t i = 0; i < 4; i++) {
        if (ieq(v, yes[i])) {
            *out = 1;
            return 0;
        }
        if (ieq(v, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_number(const char *v, long max, int *out)
{
    if (*v < '0' || *v > '9')
        return -1; /* no sign, no leading space */
    errno = 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0 || n > max)
        return -1;
    *out = (int)n;
    return 0;
}

/* Parse one option's value into cfg; returns NULL if good, else why it is not. */
static const char *parse_one(const struct option *o, const char *v, struct lf_config *cfg)
{
    void *field = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_BOOL:
        return parse_bool(v, field) == 0 ? NULL : "expected 0/1, on/off, yes/no or true/false";
    case OPT_MS:
        return parse_number(v, o->max, field) == 0 ? NULL : "expected milliseconds, 0 to 86400000";
    case OPT_US:
        return parse_number(v, o->max, field) == 0 ? NULL : "expected microseconds, 0 to 1000000";
    case OPT_COUNT:
        return parse_number(v, o->max, field) == 0 ? NULL : "expected a count, 0 to 1000000";
    case OPT_LOG:
        if (ieq(v, "off") || ieq(v, "none") || ieq(v, "0")) {
            cfg->log_dest = LF_LOG_OFF;
        } else if (ieq(v, "stderr") || v[0] == '\0') {
            cfg->log_dest = LF_LOG_STDERR;
        } else if (v[0] == '/') {
            if (strlen(v) >= sizeof cfg->log_path)
                return "path too long";
            cfg->log_dest = LF_LOG_FILE;
            strcpy(cfg->log_path, v);
        } else {
            return "expected off, stderr or an absolute path";
        }
        return NULL;
    case OPT_LEVEL:
        if (ieq(v, "info"))
            cfg->log_level = LF_LEVEL_INFO;
        else if (ieq(v, "debug"))
            cfg->log_level = LF_LEVEL_DEBUG;
        else
            return "expected info or debug";
        return NULL;
    case OPT_GLOBS:
        if (strlen(v) >= LF_PATH_MAX)
            return "list too long";
        strcpy(field, v);
        return NULL;
    }
    return "unknown option type";
}

int lf_config_parse(struct lf_config *cfg, lf_getenv_fn get, lf_warn_fn warn, void *ctx)
{
    int bad = 0;
    lf_config_defaults(cfg);
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const char *v = get(options[i].name, ctx);
        if (v == NULL)
            continue;
        struct lf_config before = *cfg;
        const char *why = parse_one(&options[i], v, cfg);
        if (why != NULL) {
            *cfg = before; /* keep the default */
            bad++;
            if (warn)
                warn(options[i].name, v, why, ctx);
        }
    }
    return bad;
}

int lf_config_selects(const struct lf_config *cfg, const char *path)
{
    if (cfg->include[0] != '\0' && !lf_glob_list_match(cfg->include, path))
        return 0;
    if (cfg->exclude[0] != '\0' && lf_glob_list_match(cfg->exclude, path))
        return 0;
    return 1;
}

static struct lf_config process_config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
int lf_disabled;
int lf_queue_enabled;

/* The LOCKFIX_* variables as they were when the process started. Copied (not parsed, nothing
** printed) by a constructor, because some programs clear their environment before they exit —
** PHP does at shutdown — and the exit-time report must still find its log destination. */
#define N_OPTIONS (sizeof options / sizeof options[0])
static char env_copy[N_OPTIONS][LF_PATH_MAX + 1];
LF_START_DATA static unsigned char env_present[N_OPTIONS];

/* One pass over the environment (a getenv per option scanned it once per option: ~5,000
** instructions in every process); the first of duplicate entries wins, as with getenv. */
LF_START_DATA static int env_snapped;

static void snapshot_env_once(void)
{
    extern char **environ;
    if (env_snapped)
        return;
    env_snapped = 1;
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        /* compared by hand: a libc string function called only here would be one more lazy
        ** binding and one more page of libc's code faulted in, in every process */
        const char *s = *e, *eq = s;
        size_t k = 0;
        while (k < 8 && s[k] == "LOCKFIX_"[k])
            k++;
        if (k < 8)
            continue;
        while (*eq != '\0' && *eq != '=')
            eq++;
        if (*eq != '=')
            continue;
        for (size_t i = 0; i < N_OPTIONS; i++) {
            const char *name = options[i].name;
            size_t n = 0;
            while (s + n < eq && name[n] == s[n])
                n++;
            if (env_present[i] || s + n != eq || name[n] != '\0')
                continue;
            env_present[i] = 1;
            /* one byte more than any valid value, so an over-long one still fails to parse */
            strncpy(env_copy[i], eq + 1, LF_PATH_MAX);
            env_copy[i][LF_PATH_MAX] = '\0';
            break;
        }
    }
}

__attribute__((constructor)) static void snapshot_env(void)
{
    snapshot_env_once();
}

int lf_config_env_present(int option_id)
{
    snapshot_env_once();
    return option_id >= 0 && (size_t)option_id < N_OPTIONS && env_present[option_id];
}

static const char *env_get(const char *name, void *ctx)
{
    (void)ctx;
    /* a value present at start wins; one set later by the program itself is read now */
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (env_present[i] && strcmp(options[i].name, name) == 0)
            return env_copy[i];
    return getenv(name);
}

/* Warnings are collected and logged after parsing: the log destination is itself an option.
** Room for one per option: with a fixed 8, the 9th and later bad variables (12 options can be
** invalid at once) were dropped without a word. */
#define N_OPTIONS (sizeof options / sizeof options[0])
struct warnings {
    int n;
    char line[N_OPTIONS][LF_PATH_MAX + 160];
};

static void collect_warning(const char *var, const char *value, const char *why, void *ctx)
{
    struct warnings *w = ctx;
    if ((size_t)w->n >= N_OPTIONS)
        return;
    char *dst = w->line[w->n++];
    size_t cap = sizeof w->line[0], k = 0;
    const char *parts[] = {var, "=\"", value, "\" is invalid (", why, "); using the default"};
    for (size_t p = 0; p < 6; p++)
        for (const char *s = parts[p]; *s && k + 1 < cap; s++)
            dst[k++] = (*s < 0x20 || *s == 0x7f) ? '?' : *s;
    dst[k] = '\0';
}

static struct warnings pending;
static atomic_int pending_count;

static void config_load(void)
{
    if (lf_secure_exec()) {
        lf_config_defaults(&process_config);
    } else {
        lf_config_parse(&process_config, env_get, collect_warning, &pending);
    }
    lf_disabled = process_config.disable;
    lf_queue_enabled = process_config.queue && !process_config.dry_run;
    atomic_store(&pending_count, pending.n);
}

/* Set once the configuration is read and its warnings are logged: then lf_config() is a load. */
static atomic_int config_ready;

__attribute__((noinline)) static const struct lf_config *config_first(void)
{
    pthread_once(&config_once, config_load);
    /* The warnings are logged outside the once-routine: logging reads the configuration. */
    if (LF_UNLIKELY(atomic_load_explicit(&pending_count, memory_order_relaxed) != 0)) {
        int n = atomic_exchange(&pending_count, 0);
        for (int i = 0; i < n; i++)
            lf_log("config %s", pending.line[i]); /* event "config", then VAR="value" */
    }
    atomic_store_explicit(&config_ready, 1, memory_order_release);
    return &process_config;
}

const struct lf_config *lf_config(void)
{
    if (LF_LIKELY(atomic_load_explicit(&config_ready, memory_order_acquire)))
        return &process_config;
    return config_first();
}

/*
** config.c: the LOCKFIX_* table. Every option is found by watching which names lf_config_parse
** asks for, so an option added to the table is covered by the generic tests without editing
** them; the known options are then checked field by field. A bad value must give exactly one
** warning naming the variable and the value, and keep the default.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "config.h"
#include "stubs.h"

/* ---- a fake environment and a warning recorder ------------------------------------------ */

#define MAX_VARS 64

struct env {
    int n;
    const char *name[MAX_VARS], *value[MAX_VARS];
    int nasked;
    char asked[MAX_VARS][64];
};

static const char *env_get(const char *name, void *ctx)
{
    struct env *e = ctx;
    if (e->nasked < MAX_VARS)
        snprintf(e->asked[e->nasked++], sizeof e->asked[0], "%s", name);
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0)
            return e->value[i];
    return NULL;
}

static void env_set(struct env *e, const char *name, const char *value)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0) {
            e->value[i] = value;
            return;
        }
    e->name[e->n] = name;
    e->value[e->n++] = value;
}

struct warns {
    int n;
    char var[MAX_VARS][64], value[MAX_VARS][2048], why[MAX_VARS][160];
};

static struct warns W;

static void warn_cb(const char *var, const char *value, const char *why, void *ctx)
{
    (void)ctx;
    cr_assert_lt(W.n, MAX_VARS);
    snprintf(W.var[W.n], sizeof W.var[0], "%s", var);
    snprintf(W.value[W.n], sizeof W.value[0], "%s", value);
    snprintf(W.why[W.n], sizeof W.why[0], "%s", why ? why : "");
    W.n++;
}

/* Parse one variable set to one value: returns the number of invalid values. */
static int parse1(struct lf_config *cfg, const char *name, const char *value)
{
    struct env e = {0};
    env_set(&e, name, value);
    memset(&W, 0, sizeof W);
    return lf_config_parse(cfg, env_get, warn_cb, &e);
}

static int same_config(const struct lf_config *a, const struct lf_config *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static struct lf_config defaults(void)
{
    struct lf_config d;
    lf_config_defaults(&d);
    return d;
}

/* The names the table holds, in table order. */
static int table_names(char names[MAX_VARS][64])
{
    struct env e = {0};
    struct lf_config cfg;
    lf_config_parse(&cfg, env_get, warn_cb, &e);
    for (int i = 0; i < e.nasked; i++)
        strcpy(names[i], e.asked[i]);
    return e.nasked;
}

/* Options that take any text (glob lists): accept both a word and a number. */
static int takes_any_text(const char *name)
{
    struct lf_config cfg;
    return parse1(&cfg, name, "banana") == 0 && parse1(&cfg, name, "5") == 0;
}

static int is_number_option(const char *name)
{
    struct lf_config cfg;
    return parse1(&cfg, name, "5") == 0 && parse1(&cfg, name, "banana") == 1;
}

static int is_bool_option(const char *name)
{
    struct lf_config cfg;
    return parse1(&cfg, name, "yes") == 0 && parse1(&cfg, name, "5") == 1;
}

/* Exactly one warning, for `name`, carrying `value`; the configuration is the default. */
static void expect_rejected(const char *name, const char *value)
{
    struct lf_config cfg, d = defaults();
    int bad = parse1(&cfg, name, value);
    cr_expect_eq(bad, 1, "%s=\"%s\": %d invalid values counted", name, value, bad);
    cr_expect_eq(W.n, 1, "%s=\"%s\": %d warnings", name, value, W.n);
    if (W.n >= 1) {
        cr_expect_str_eq(W.var[0], name);
        cr_expect_str_eq(W.value[0], value);
        cr_expect_neq(W.why[0][0], '\0', "%s=\"%s\": warning gives no reason", name, value);
    }
    cr_expect(same_config(&cfg, &d), "%s=\"%s\": default not kept", name, value);
}

static void expect_accepted(const char *name, const char *value, struct lf_config *out)
{
    int bad = parse1(out, name, value);
    cr_expect_eq(bad, 0, "%s=\"%s\" rejected (%s)", name, value, W.n ? W.why[0] : "");
    cr_expect_eq(W.n, 0, "%s=\"%s\": %d warnings", name, value, W.n);
}

/* ---- defaults and the table ------------------------------------------------------------- */

Test(config, defaults)
{
    struct lf_config d = defaults();
    cr_expect_eq(d.disable, 0);
    cr_expect_eq(d.wal, 1);
    cr_expect_eq(d.rewrite, 1);
    cr_expect_eq(d.retry, 1);
    cr_expect_eq(d.dry_run, 0);
    cr_expect_eq(d.queue, 1);
    cr_expect_eq(d.queue_log_ms, 1000);
    cr_expect_eq(d.queue_slice_us, 1000);
    cr_expect_eq(d.queue_linger_us, 50);
    cr_expect_eq(d.timeout_ms, 5000);
    cr_expect_eq(d.retry_budget_ms, 30000);
    cr_expect_eq(d.log_repeat, 1);
    cr_expect_eq(d.log_dest, LF_LOG_STDERR);
    cr_expect_eq(d.log_level, LF_LEVEL_INFO);
    cr_expect_str_eq(d.log_path, "");
    cr_expect_str_eq(d.include, "");
    cr_expect_str_eq(d.exclude, "");
    /* defaults overwrite whatever was there */
    struct lf_config dirty;
    memset(&dirty, 0x5a, sizeof dirty);
    lf_config_defaults(&dirty);
    cr_expect(same_config(&dirty, &d));
}

Test(config, empty_environment_gives_defaults_and_no_warning)
{
    struct env e = {0};
    struct lf_config cfg, d = defaults();
    memset(&W, 0, sizeof W);
    memset(&cfg, 0x5a, sizeof cfg);
    cr_expect_eq(lf_config_parse(&cfg, env_get, warn_cb, &e), 0);
    cr_expect_eq(W.n, 0);
    cr_expect(same_config(&cfg, &d));
}

Test(config, table_asks_for_every_documented_option_once)
{
    static const char *known[] = {
        "LOCKFIX_DISABLE",     "LOCKFIX_WAL",          "LOCKFIX_REWRITE",
        "LOCKFIX_RETRY",       "LOCKFIX_DRY_RUN",      "LOCKFIX_QUEUE",
        "LOCKFIX_QUEUE_LOG_MS", "LOCKFIX_TIMEOUT_MS",  "LOCKFIX_RETRY_BUDGET_MS",
        "LOCKFIX_LOG_REPEAT",  "LOCKFIX_LOG",          "LOCKFIX_LOG_LEVEL",
        "LOCKFIX_INCLUDE",     "LOCKFIX_EXCLUDE",      "LOCKFIX_QUEUE_SLICE_US",
        "LOCKFIX_QUEUE_LINGER_US", "LOCKFIX_LONG_TURN_MS",
    };
    char names[MAX_VARS][64];
    int n = table_names(names);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(strncmp(names[i], "LOCKFIX_", 8), 0, "%s", names[i]);
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(names[i], names[j], "asked twice");
    }
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(names[i], known[k]) == 0;
        cr_expect(found, "%s is not read", known[k]);
    }
}

/* Every option except the free-text glob lists rejects a word with one warning. */
Test(config, every_option_rejects_banana_with_one_warning)
{
    char names[MAX_VARS][64];
    int n = table_names(names), checked = 0;
    for (int i = 0; i < n; i++) {
        if (takes_any_text(names[i]))
            continue;
        expect_rejected(names[i], "banana");
        checked++;
    }
    cr_expect_geq(checked, 12);
}

Test(config, every_number_option_rejects_malformed_values)
{
    static const char *bad[] = {"banana", "-1",  "99999999999", "",    " 5",  "5ms",
                                "5 ",     "+5",  "0x10",        "1e3", "5.0", "\t5",
                                "-0",     "9223372036854775808", "18446744073709551621", "5\n"};
    char names[MAX_VARS][64];
    int n = table_names(names), numbers = 0;
    for (int i = 0; i < n; i++) {
        if (!is_number_option(names[i]))
            continue;
        numbers++;
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
            expect_rejected(names[i], bad[b]);
        struct lf_config cfg;
        expect_accepted(names[i], "0", &cfg);
        expect_accepted(names[i], "5", &cfg);
        expect_accepted(names[i], "007", &cfg);
    }
    cr_expect_geq(numbers, 4);
}

Test(config, every_bool_option_takes_the_usual_words_in_any_case)
{
    static const char *yes[] = {"1", "on", "yes", "true", "ON", "Yes", "TRUE", "tRuE"};
    static const char *no[] = {"0", "off", "no", "false", "OFF", "No", "FALSE"};
    static const char *bad[] = {"banana", "2", "", " 1", "1 ", "yess", "y", "n", "-1",
                                "99999999999", "5ms", "enabled", "01"};
    char names[MAX_VARS][64];
    int n = table_names(names), bools = 0;
    for (int i = 0; i < n; i++) {
        if (!is_bool_option(names[i]))
            continue;
        bools++;
        struct lf_config on, off, d = defaults();
        for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
            expect_accepted(names[i], yes[k], &on);
            struct lf_config first;
            expect_accepted(names[i], yes[0], &first);
            cr_expect(same_config(&on, &first), "%s=%s differs from %s=1", names[i], yes[k],
                      names[i]);
        }
        for (size_t k = 0; k < sizeof no / sizeof no[0]; k++) {
            expect_accepted(names[i], no[k], &off);
            struct lf_config first;
            expect_accepted(names[i], no[0], &first);
            cr_expect(same_config(&off, &first), "%s=%s differs from %s=0", names[i], no[k],
                      names[i]);
        }
        /* exactly one of on/off is the default, and the two differ */
        cr_expect(!same_config(&on, &off), "%s: on and off give the same configuration",
                  names[i]);
        cr_expect(same_config(&on, &d) || same_config(&off, &d), "%s", names[i]);
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
            expect_rejected(names[i], bad[b]);
    }
    cr_expect_geq(bools, 6);
}

/* ---- each known option lands in its own field ------------------------------------------- */

Test(config, bool_fields)
{
    struct { const char *name; size_t off; int def; } b[] = {
        {"LOCKFIX_DISABLE", offsetof(struct lf_config, disable), 0},
        {"LOCKFIX_WAL", offsetof(struct lf_config, wal), 1},
        {"LOCKFIX_REWRITE", offsetof(struct lf_config, rewrite), 1},
        {"LOCKFIX_RETRY", offsetof(struct lf_config, retry), 1},
        {"LOCKFIX_DRY_RUN", offsetof(struct lf_config, dry_run), 0},
        {"LOCKFIX_QUEUE", offsetof(struct lf_config, queue), 1},
    };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        struct lf_config cfg, d = defaults();
        expect_accepted(b[i].name, b[i].def ? "0" : "1", &cfg);
        int *field = (int *)((char *)&cfg + b[i].off);
        cr_expect_eq(*field, !b[i].def, "%s", b[i].name);
        *field = b[i].def; /* nothing else changed */
        cr_expect(same_config(&cfg, &d), "%s changed another field", b[i].name);
    }
}

Test(config, number_fields_and_their_limits)
{
    struct { const char *name; size_t off; long max; } m[] = {
        {"LOCKFIX_TIMEOUT_MS", offsetof(struct lf_config, timeout_ms), 86400000},
        {"LOCKFIX_RETRY_BUDGET_MS", offsetof(struct lf_config, retry_budget_ms), 86400000},
        {"LOCKFIX_QUEUE_LOG_MS", offsetof(struct lf_config, queue_log_ms), 86400000},
        {"LOCKFIX_LOG_REPEAT", offsetof(struct lf_config, log_repeat), 1000000},
        {"LOCKFIX_QUEUE_SLICE_US", offsetof(struct lf_config, queue_slice_us), 1000000},
        {"LOCKFIX_QUEUE_LINGER_US", offsetof(struct lf_config, queue_linger_us), 1000000},
        {"LOCKFIX_LONG_TURN_MS", offsetof(struct lf_config, long_turn_ms), 86400000},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        struct lf_config cfg, d = defaults();
        char v[32];
        int *field = (int *)((char *)&cfg + m[i].off);
        int def = *(int *)((char *)&d + m[i].off);
        expect_accepted(m[i].name, "0", &cfg);
        cr_expect_eq(*field, 0, "%s", m[i].name);
        expect_accepted(m[i].name, "1234", &cfg);
        cr_expect_eq(*field, 1234, "%s", m[i].name);
        *field = def;
        cr_expect(same_config(&cfg, &d), "%s changed another field", m[i].name);
        snprintf(v, sizeof v, "%ld", m[i].max);
        expect_accepted(m[i].name, v, &cfg);
        cr_expect_eq(*field, m[i].max, "%s", m[i].name);
        snprintf(v, sizeof v, "%ld", m[i].max + 1);
        expect_rejected(m[i].name, v);
    }
}

Test(config, log_destination)
{
    struct lf_config cfg;
    const char *off[] = {"off", "OFF", "none", "None", "0"};
    for (size_t i = 0; i < 5; i++) {
        expect_accepted("LOCKFIX_LOG", off[i], &cfg);
        cr_expect_eq(cfg.log_dest, LF_LOG_OFF, "%s", off[i]);
    }
    const char *err[] = {"stderr", "STDERR", ""};
    for (size_t i = 0; i < 3; i++) {
        expect_accepted("LOCKFIX_LOG", err[i], &cfg);
        cr_expect_eq(cfg.log_dest, LF_LOG_STDERR, "\"%s\"", err[i]);
    }
    expect_accepted("LOCKFIX_LOG", "/var/log/lockfix.log", &cfg);
    cr_expect_eq(cfg.log_dest, LF_LOG_FILE);
    cr_expect_str_eq(cfg.log_path, "/var/log/lockfix.log");
    /* a relative path would depend on each program's working directory: refused */
    const char *rel[] = {"lockfix.log", "./lockfix.log", "../x.log", "~/x.log", "tmp/x.log",
                         " /tmp/x.log", "1", "stdout", "file:/tmp/x"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
        expect_rejected("LOCKFIX_LOG", rel[i]);
    /* the longest path that fits, and one byte more */
    char path[LF_PATH_MAX + 1];
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[LF_PATH_MAX - 1] = '\0';
    expect_accepted("LOCKFIX_LOG", path, &cfg);
    cr_expect_eq(cfg.log_dest, LF_LOG_FILE);
    cr_expect_str_eq(cfg.log_path, path);
    path[LF_PATH_MAX - 1] = 'a';
    path[LF_PATH_MAX] = '\0';
    expect_rejected("LOCKFIX_LOG", path);
}

/* A rejected value must not leave half of itself behind (a path from an earlier variable, a
** destination switched before the path was refused). */
Test(config, rejected_log_path_leaves_no_trace)
{
    char path[LF_PATH_MAX + 8];
    memset(path, 'b', sizeof path);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    struct lf_config cfg, d = defaults();
    parse1(&cfg, "LOCKFIX_LOG", path);
    cr_expect_eq(cfg.log_dest, LF_LOG_STDERR);
    cr_expect_str_eq(cfg.log_path, "");
    cr_expect(same_config(&cfg, &d));
}

Test(config, log_level)
{
    struct lf_config cfg;
    expect_accepted("LOCKFIX_LOG_LEVEL", "debug", &cfg);
    cr_expect_eq(cfg.log_level, LF_LEVEL_DEBUG);
    expect_accepted("LOCKFIX_LOG_LEVEL", "DEBUG", &cfg);
    cr_expect_eq(cfg.log_level, LF_LEVEL_DEBUG);
    expect_accepted("LOCKFIX_LOG_LEVEL", "info", &cfg);
    cr_expect_eq(cfg.log_level, LF_LEVEL_INFO);
    const char *bad[] = {"verbose", "", "2", "debug ", "trace"};
    for (size_t i = 0; i < 5; i++)
        expect_rejected("LOCKFIX_LOG_LEVEL", bad[i]);
}

Test(config, include_exclude_lists)
{
    struct lf_config cfg;
    expect_accepted("LOCKFIX_INCLUDE", "/srv/*:*.db", &cfg);
    cr_expect_str_eq(cfg.include, "/srv/*:*.db");
    cr_expect_str_eq(cfg.exclude, "");
    expect_accepted("LOCKFIX_EXCLUDE", "*/cache/*", &cfg);
    cr_expect_str_eq(cfg.exclude, "*/cache/*");
    cr_expect_str_eq(cfg.include, "");
    char list[LF_PATH_MAX + 1];
    memset(list, 'x', sizeof list);
    list[LF_PATH_MAX - 1] = '\0';
    expect_accepted("LOCKFIX_INCLUDE", list, &cfg);
    cr_expect_eq(strlen(cfg.include), (size_t)LF_PATH_MAX - 1);
    list[LF_PATH_MAX - 1] = 'x';
    list[LF_PATH_MAX] = '\0';
    expect_rejected("LOCKFIX_INCLUDE", list);
    expect_rejected("LOCKFIX_EXCLUDE", list);
}

Test(config, several_bad_values_one_warning_each_and_good_ones_kept)
{
    struct env e = {0};
    env_set(&e, "LOCKFIX_TIMEOUT_MS", "5ms");
    env_set(&e, "LOCKFIX_WAL", "0");
    env_set(&e, "LOCKFIX_RETRY", "maybe");
    env_set(&e, "LOCKFIX_LOG", "relative.log");
    env_set(&e, "LOCKFIX_RETRY_BUDGET_MS", "100");
    env_set(&e, "LOCKFIX_EXCLUDE", "*.tmp");
    env_set(&e, "LOCKFIX_NOT_AN_OPTION", "banana"); /* unknown names are not read at all */
    memset(&W, 0, sizeof W);
    struct lf_config cfg;
    cr_expect_eq(lf_config_parse(&cfg, env_get, warn_cb, &e), 3);
    cr_assert_eq(W.n, 3);
    const char *vars[] = {"LOCKFIX_TIMEOUT_MS", "LOCKFIX_RETRY", "LOCKFIX_LOG"};
    const char *vals[] = {"5ms", "maybe", "relative.log"};
    for (int i = 0; i < 3; i++) {
        int found = 0;
        for (int k = 0; k < W.n; k++)
            found += strcmp(W.var[k], vars[i]) == 0 && strcmp(W.value[k], vals[i]) == 0;
        cr_expect_eq(found, 1, "%s", vars[i]);
    }
    cr_expect_eq(cfg.timeout_ms, 5000);
    cr_expect_eq(cfg.wal, 0);
    cr_expect_eq(cfg.retry, 1);
    cr_expect_eq(cfg.log_dest, LF_LOG_STDERR);
    cr_expect_eq(cfg.retry_budget_ms, 100);
    cr_expect_str_eq(cfg.exclude, "*.tmp");
}

Test(config, no_warning_sink_still_counts)
{
    struct env e = {0};
    env_set(&e, "LOCKFIX_TIMEOUT_MS", "-1");
    env_set(&e, "LOCKFIX_WAL", "2");
    struct lf_config cfg, d = defaults();
    cr_expect_eq(lf_config_parse(&cfg, env_get, NULL, &e), 2);
    cr_expect(same_config(&cfg, &d));
}

/* ---- include / exclude selection -------------------------------------------------------- */

Test(config, selects)
{
    struct lf_config cfg = defaults();
    cr_expect(lf_config_selects(&cfg, "/any/x.db"));
    cr_expect(lf_config_selects(&cfg, "")); /* memory and temp databases */

    strcpy(cfg.include, "/srv/*:*.sqlite");
    cr_expect(lf_config_selects(&cfg, "/srv/app/x.db"));
    cr_expect(lf_config_selects(&cfg, "/home/u/y.sqlite"));
    cr_expect_not(lf_config_selects(&cfg, "/home/u/y.db"));
    cr_expect_not(lf_config_selects(&cfg, ""));

    strcpy(cfg.exclude, "*/cache/*");
    cr_expect(lf_config_selects(&cfg, "/srv/app/x.db"));
    cr_expect_not(lf_config_selects(&cfg, "/srv/cache/x.db")); /* exclude wins */

    cfg.include[0] = '\0';
    cr_expect(lf_config_selects(&cfg, "/home/u/y.db"));
    cr_expect_not(lf_config_selects(&cfg, "/home/u/cache/y.db"));
}

/* ---- lf_config(): the process environment, read once ------------------------------------ */

static void clear_lockfix_env(void)
{
    extern char **environ;
    for (;;) {
        char name[256] = "";
        for (char **e = environ; e && *e; e++)
            if (strncmp(*e, "LOCKFIX_", 8) == 0) {
                size_t n = strcspn(*e, "=");
                if (n >= sizeof name)
                    n = sizeof name - 1;
                memcpy(name, *e, n);
                name[n] = '\0';
                break;
            }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

/* Criterion runs each test in its own process, so lf_config()'s once-state starts fresh. */
Test(config_process, reads_environment_once_and_logs_each_bad_value_once)
{
    clear_lockfix_env();
    stub_log_reset();
    stub_secure_exec = 0;
    setenv("LOCKFIX_TIMEOUT_MS", "banana", 1);
    setenv("LOCKFIX_WAL", "off", 1);
    setenv("LOCKFIX_DISABLE", "1", 1);
    const struct lf_config *cfg = lf_config();
    cr_expect_eq(cfg->timeout_ms, 5000);
    cr_expect_eq(cfg->wal, 0);
    cr_expect_eq(lf_disabled, 1);
    cr_expect_eq(stub_log_lines, 1, "log:\n%s", stub_log);
    cr_expect_eq(stub_log_count("LOCKFIX_TIMEOUT_MS=\"banana\" is invalid"), 1, "log:\n%s",
                 stub_log);
    /* later calls neither re-read nor re-log */
    setenv("LOCKFIX_WAL", "on", 1);
    const struct lf_config *again = lf_config();
    cr_expect_eq(again, cfg);
    cr_expect_eq(again->wal, 0);
    cr_expect_eq(stub_log_lines, 1);
}

Test(config_process, secure_exec_ignores_the_environment)
{
    clear_lockfix_env();
    stub_log_reset();
    stub_secure_exec = 1;
    setenv("LOCKFIX_TIMEOUT_MS", "1", 1);
    setenv("LOCKFIX_LOG", "/tmp/attacker-chosen.log", 1);
    setenv("LOCKFIX_RETRY", "banana", 1);
    const struct lf_config *cfg = lf_config();
    struct lf_config d = defaults();
    cr_expect(same_config(cfg, &d));
    cr_expect_eq(stub_log_lines, 0, "log:\n%s", stub_log);
}

Test(config_process, queue_is_off_in_dry_run)
{
    clear_lockfix_env();
    stub_secure_exec = 0;
    setenv("LOCKFIX_DRY_RUN", "1", 1);
    (void)lf_config();
    cr_expect_eq(lf_queue_enabled, 0);
}

Test(config_process, queue_on_by_default)
{
    clear_lockfix_env();
    stub_secure_exec = 0;
    (void)lf_config();
    cr_expect_eq(lf_queue_enabled, 1);
    cr_expect_eq(lf_disabled, 0);
}

/* Every option set to a bad value at once: every one of them is still reported, once. */
Test(config_process, every_bad_variable_is_logged)
{
    clear_lockfix_env();
    stub_log_reset();
    stub_secure_exec = 0;
    char names[MAX_VARS][64];
    int n = table_names(names), bad = 0;
    for (int i = 0; i < n; i++)
        if (!takes_any_text(names[i])) {
            setenv(names[i], "banana", 1);
            bad++;
        }
    (void)lf_config();
    cr_expect_eq(stub_log_lines, bad, "%d bad variables, %d lines:\n%s", bad, stub_log_lines,
                 stub_log);
    for (int i = 0; i < n; i++)
        if (!takes_any_text(names[i])) {
            char needle[128];
            snprintf(needle, sizeof needle, "%.63s=\"banana\" is invalid", names[i]);
            cr_expect_eq(stub_log_count(needle), 1, "%s", needle);
        }
}

/* The logged line never carries control characters from the value (one line per warning). */
Test(config_process, warning_line_is_sanitised)
{
    clear_lockfix_env();
    stub_log_reset();
    stub_secure_exec = 0;
    setenv("LOCKFIX_LOG_LEVEL", "de\nbug\x1b[31m", 1);
    (void)lf_config();
    cr_expect_eq(stub_log_lines, 1, "log:\n%s", stub_log);
    cr_expect_eq(stub_log_count("LOCKFIX_LOG_LEVEL=\"de?bug?[31m\" is invalid"), 1, "log:\n%s",
                 stub_log);
}

/*
 * libFuzzer target: the configuration parser (shim/config.c) and the include/exclude globs.
 *
 * Input: lines "NAME=VALUE" (any bytes); each LOCKFIX_* name gets the value of its last line, the
 * others are ignored as the environment's other variables are. The final line is a database path
 * tested against the parsed include/exclude lists. Checked: no crash; every bad value is
 * reported once and the field keeps its default; the result is within each option's limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "globs.h"
#include "options.h"

struct env {
    char *text;
    const char *value[64];
    const char *name[64];
    int n;
    int warnings;
};

static const char *get(const char *name, void *ctx)
{
    struct env *e = ctx;
    const char *v = NULL;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0)
            v = e->value[i];
    return v;
}

static void warn(const char *var, const char *value, const char *why, void *ctx)
{
    struct env *e = ctx;
    if (var == NULL || value == NULL || why == NULL || why[0] == '\0')
        abort();
    e->warnings++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 14)
        return 0;
    struct env e;
    memset(&e, 0, sizeof e);
    e.text = malloc(size + 1);
    memcpy(e.text, data, size);
    e.text[size] = '\0';
    char *path = "";
    for (char *line = e.text, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (eq && e.n < 64) {
            *eq = '\0';
            e.name[e.n] = line;
            e.value[e.n++] = eq + 1;
        } else {
            path = line;
        }
    }
    struct lf_config cfg;
    int bad = lf_config_parse(&cfg, get, warn, &e);
    if (bad != e.warnings)
        abort();
    if (cfg.timeout_ms < 0 || cfg.timeout_ms > lf_option_max(LF_OPT_LOCKFIX_TIMEOUT_MS) ||
        cfg.retry_budget_ms < 0 || cfg.queue_slice_us < 0 || cfg.log_repeat < 0)
        abort();
    if (cfg.log_dest == LF_LOG_FILE && cfg.log_path[0] != '/')
        abort();
    if (memchr(cfg.log_path, '\0', sizeof cfg.log_path) == NULL ||
        memchr(cfg.include, '\0', sizeof cfg.include) == NULL)
        abort();
    (void)lf_config_selects(&cfg, path);
    (void)lf_glob_list_match(path, path);
    free(e.text);
    return 0;
}

/*
** The LOCKFIX_* variables: one row each, read by the shim's parser (shim/config.c) and by the
** command (cmd/options.c maps its flags to these variables, cmd/env.c unsets them). A new option
** is one row here, its field in struct lf_config (config.h) and its flag in cmd/options.c.
**
**   X(VAR, TYPE, field, max, default)
**   TYPE: BOOL, MS (milliseconds), US (microseconds), COUNT, LOG (off|stderr|/path),
**         LEVEL (info|debug), GLOBS (':'-separated; 0: empty)
**   max: the largest number accepted (numbers only)
*/
#ifndef LOCKFIX_OPTIONS_H
#define LOCKFIX_OPTIONS_H

#define LF_DAY_MS (24L * 3600 * 1000)

#define LF_OPTIONS(X)                                                                              \
    X(LOCKFIX_DISABLE, BOOL, disable, 0, 0)                                                        \
    X(LOCKFIX_WAL, BOOL, wal, 0, 1)                                                                \
    X(LOCKFIX_REWRITE, BOOL, rewrite, 0, 1)                                                        \
    X(LOCKFIX_RETRY, BOOL, retry, 0, 1)                                                            \
    X(LOCKFIX_DRY_RUN, BOOL, dry_run, 0, 0)                                                        \
    X(LOCKFIX_QUEUE, BOOL, queue, 0, 1)                                                            \
    X(LOCKFIX_STATIC, BOOL, static_copies, 0, 1)                                                   \
    X(LOCKFIX_QUEUE_LOG_MS, MS, queue_log_ms, LF_DAY_MS, 1000)                                     \
    X(LOCKFIX_QUEUE_SLICE_US, US, queue_slice_us, 1000000, 1000)                                   \
    X(LOCKFIX_QUEUE_LINGER_US, US, queue_linger_us, 1000000, 50)                                   \
    X(LOCKFIX_LONG_TURN_MS, MS, long_turn_ms, LF_DAY_MS, 1000)                                     \
    X(LOCKFIX_TIMEOUT_MS, MS, timeout_ms, LF_DAY_MS, 5000)                                         \
    X(LOCKFIX_RETRY_BUDGET_MS, MS, retry_budget_ms, LF_DAY_MS, 30000)                              \
    X(LOCKFIX_LOG_REPEAT, COUNT, log_repeat, 1000000, 1)                                           \
    X(LOCKFIX_LOG, LOG, log_dest, 0, LF_LOG_STDERR)                                                \
    X(LOCKFIX_LOG_LEVEL, LEVEL, log_level, 0, LF_LEVEL_INFO)                                       \
    X(LOCKFIX_INCLUDE, GLOBS, include, 0, 0)                                                       \
    X(LOCKFIX_EXCLUDE, GLOBS, exclude, 0, 0)

/* LF_OPT_LOCKFIX_DISABLE, ...: an option's index in the table. */
#define LF_OPT_ENUM(var, type, field, max, def) LF_OPT_##var,
enum lf_option_id { LF_OPTIONS(LF_OPT_ENUM) LF_OPTION_COUNT };
#undef LF_OPT_ENUM

static inline const char *lf_option_name(enum lf_option_id id)
{
    switch (id) {
#define LF_OPT_NAME(var, type, field, max, def)                                                    \
    case LF_OPT_##var:                                                                             \
        return #var;
        LF_OPTIONS(LF_OPT_NAME)
#undef LF_OPT_NAME
    case LF_OPTION_COUNT:
        break;
    }
    return "";
}

static inline long lf_option_max(enum lf_option_id id)
{
    switch (id) {
#define LF_OPT_MAX(var, type, field, max, def)                                                     \
    case LF_OPT_##var:                                                                             \
        return max;
        LF_OPTIONS(LF_OPT_MAX)
#undef LF_OPT_MAX
    case LF_OPTION_COUNT:
        break;
    }
    return 0;
}

/* A number's default (BOOL, MS, US, COUNT); 0 for the others, whose defaults are the shim's enums
** (config.h), unknown to the command. For a command that judges what the shim does (doctor). */
#define LF_OPT_NUMBER_BOOL(def) (def)
#define LF_OPT_NUMBER_MS(def) (def)
#define LF_OPT_NUMBER_US(def) (def)
#define LF_OPT_NUMBER_COUNT(def) (def)
#define LF_OPT_NUMBER_LOG(def) 0
#define LF_OPT_NUMBER_LEVEL(def) 0
#define LF_OPT_NUMBER_GLOBS(def) 0
static inline long lf_option_default_number(enum lf_option_id id)
{
    switch (id) {
#define LF_OPT_DEF(var, type, field, max, def)                                                     \
    case LF_OPT_##var:                                                                             \
        return LF_OPT_NUMBER_##type(def);
        LF_OPTIONS(LF_OPT_DEF)
#undef LF_OPT_DEF
    case LF_OPTION_COUNT:
        break;
    }
    return 0;
}

#endif

/*
** The LOCKFIX_* variables (config.c): a pure parser, testable without the environment, and the
** process's copy, parsed once. The options themselves are the rows of options.h.
*/
#ifndef LOCKFIX_CONFIG_H
#define LOCKFIX_CONFIG_H

#include "base.h"

#pragma GCC visibility push(hidden)

enum lf_log_dest { LF_LOG_OFF, LF_LOG_STDERR, LF_LOG_FILE };
enum lf_log_level { LF_LEVEL_INFO, LF_LEVEL_DEBUG };

struct lf_config {
    int disable;         /* pass everything through, log nothing */
    int wal;             /* switch writable file databases to WAL */
    int rewrite;         /* BEGIN / BEGIN DEFERRED -> BEGIN IMMEDIATE */
    int retry;           /* retry statements that got SQLITE_BUSY where safe */
    int dry_run;         /* log what would be done, change nothing */
    int queue;           /* fair cross-process writer queue */
    int static_copies;   /* redirect SQLite compiled into the program (static.c) */
    int queue_log_ms;    /* log a queue wait at least this long */
    int queue_slice_us;  /* a turn may cover several short transactions for this long... */
    int queue_linger_us; /* ...each next one starting within this time; 0 = one per turn */
    int long_turn_ms;    /* log a queue turn held this long while others wait; 0 = never */
    int timeout_ms;      /* busy-timeout floor; 0 disables the floor */
    int retry_budget_ms; /* total time one statement may spend in retries */
    int log_repeat;      /* identical events logged per connection before only counting */
    enum lf_log_dest log_dest;
    enum lf_log_level log_level;
    char log_path[LF_PATH_MAX];
    char include[LF_PATH_MAX]; /* ':'-separated globs; empty = every database */
    char exclude[LF_PATH_MAX]; /* ':'-separated globs */
};

/* A getenv-like lookup, so parsing can be tested without touching the environment. */
typedef const char *(*lf_getenv_fn)(const char *name, void *ctx);
/* Warning sink for bad values: one call per bad variable. */
typedef void (*lf_warn_fn)(const char *var, const char *value, const char *why, void *ctx);

void lf_config_defaults(struct lf_config *cfg);
/* Fill cfg from the variables (defaults first); returns the number of invalid values. */
int lf_config_parse(struct lf_config *cfg, lf_getenv_fn get, lf_warn_fn warn, void *ctx);
/* The process configuration, parsed once on first use (environment ignored if AT_SECURE). */
const struct lf_config *lf_config(void);
/* Whether the LOCKFIX_* variable was set when the process started (read without parsing). */
int lf_config_env_present(int option_id); /* an enum lf_option_id (options.h) */
/* Whether the database at `path` is selected by LOCKFIX_INCLUDE / LOCKFIX_EXCLUDE. */
int lf_config_selects(const struct lf_config *cfg, const char *path);

/* Set once the configuration is read: LOCKFIX_DISABLE=1 makes every hook a plain forwarder. */
extern int lf_disabled;
/* LOCKFIX_QUEUE, read once with the configuration (checked on the hot path). */
extern int lf_queue_enabled;

#pragma GCC visibility pop

#endif

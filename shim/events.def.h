/*
** The events the shim logs: one row each, read by the shim (shim/conn.c, shim/conn.h), by
** `lockfix stats` (cmd/stats.c) and by the tests. A log line is "lockfix[PID]: NAME key=value ...".
** A new event is one row here; tests/hardening/test_events.py fails when the shim logs a name that
** is missing.
*/
#ifndef LOCKFIX_EVENTS_DEF_H
#define LOCKFIX_EVENTS_DEF_H

/* Counted per connection (the first LOCKFIX_LOG_REPEAT logged, the rest in a "summary" line):
** X(ID, "name", "summary_key") */
#define LF_COUNTED_EVENTS(X)                                                                       \
    X(BEGIN_REWRITTEN, "begin-rewritten", "begin_rewritten")                                       \
    X(TIMEOUT_RAISED, "timeout-raised", "timeout_raised")                                          \
    X(RETRY, "retry", "retries")                                                                   \
    X(RETRY_OK, "retry-ok", "retry_ok")                                                            \
    X(GAVE_UP, "gave-up", "gave_up")

/* Logged each time, or once: X(ID, "name", per_db), per_db when the line carries db=PATH. */
#define LF_OTHER_EVENTS(X)                                                                         \
    X(SUMMARY, "summary", 1)                                                                       \
    X(WAL_SWITCHED, "wal-switched", 1)                                                             \
    X(WAL_SKIPPED, "wal-skipped", 1)                                                               \
    X(WAL_FAILED, "wal-failed", 1)                                                                 \
    X(WAL_UNDONE, "wal-undone", 1)                                                                 \
    X(BUSY_HANDLER_KEPT, "busy-handler-kept", 1)                                                   \
    X(QUEUE_WAIT, "queue-wait", 1)                                                                 \
    X(QUEUE_SKIPPED, "queue-skipped", 0)                                                           \
    X(QUEUE_OFF, "queue-off", 1)                                                                   \
    X(LONG_TURN, "long-turn", 1)                                                                   \
    X(STATIC_REFUSED, "static-refused", 0)                                                         \
    X(STATIC_LATE_LOADS, "static-late-loads", 0)                                                   \
    X(STATIC_PATCHED, "static-patched", 0)                                                         \
    X(COMPILED_IN, "compiled-in", 0)                                                               \
    X(IMAGE_REBOUND, "image-rebound", 0)                                                           \
    X(IMAGE_PARTIAL, "image-partial", 0)                                                           \
    X(IMAGE_SKIPPED, "image-skipped", 0)                                                           \
    X(SLOT_SKIPPED, "slot-skipped", 0)                                                             \
    X(DEBUG, "debug", 1)                                                                           \
    X(CONFIG, "config", 0)                                                                         \
    X(NO_SQLITE, "no-sqlite", 0)                                                                   \
    X(UNREACHABLE, "unreachable", 0)

#endif

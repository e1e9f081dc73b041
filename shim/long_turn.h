/*
** The head waiter's `long-turn` line (long_turn.c), naming the process that holds the writer
** queue's turn too long.
*/
#ifndef LOCKFIX_LONG_TURN_H
#define LOCKFIX_LONG_TURN_H

#include <stdint.h>

#pragma GCC visibility push(hidden)

/* The head waiter of `queue` (whose database is `dbpath`) sees ticket `serving` held by process
** `pid` while `waiting` writers wait: logs one long-turn line per turn once it has been held
** LOCKFIX_LONG_TURN_MS. */
void lf_long_turn_watch(const void *queue, const char *dbpath, uint32_t serving, int32_t pid,
                        uint32_t waiting, int64_t now_ns);

#pragma GCC visibility pop

#endif

/*
** What every file of the shim may use: branch hints, the thread-local storage the hot path reads,
** and the longest path the shim keeps.
*/
#ifndef LOCKFIX_BASE_H
#define LOCKFIX_BASE_H

/* Everything below is internal to the library: declared hidden, it is reached without the GOT. */
#pragma GCC visibility push(hidden)

#define LF_LIKELY(x) __builtin_expect(!!(x), 1)
#define LF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LF_TLS __thread __attribute__((tls_model("initial-exec")))

/* The room for a path lockfix keeps (database, log file, queue file), terminator included. */
#define LF_PATH_MAX 1024

#pragma GCC visibility pop

#endif

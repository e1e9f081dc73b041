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
/* State that every process touches at start or exit, even one that never uses SQLite: kept in
** .data, on the page the dynamic linker has already written while relocating the library (the
** .got.plt and the start of .bss share it). Zero-initialised state is otherwise spread over
** .bss's 45 pages, and the first read and the first write of each page is a page fault (~1-5 us
** each on the machines measured, docs/benchmarks.md). A few hundred bytes at most. */
#ifdef __APPLE__
#define LF_START_DATA
#else
#define LF_START_DATA __attribute__((section(".data.lf_start")))
#endif

/* The room for a path lockfix keeps (database, log file, queue file), terminator included. */
#define LF_PATH_MAX 1024

#pragma GCC visibility pop

#endif

/*
** Running a helper process (proc.c).
*/
#ifndef LOCKFIX_CMD_PROC_H
#define LOCKFIX_CMD_PROC_H

#include <stddef.h>

/* Run argv with stdin from /dev/null, stdout captured (at most cap-1 bytes), stderr to
** /dev/null, killed after timeout_ms. `stdin_text` (may be NULL) is written to its stdin
** instead. Returns the exit status, or -1 if it could not run or timed out. */
int run_capture(char *const argv[], const char *stdin_text, char *out, size_t cap, int timeout_ms);

#endif

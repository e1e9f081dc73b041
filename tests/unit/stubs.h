/*
** Test doubles for the few functions the pure shim files (rewrite.c, config.c, glob.c, retry.c)
** call in the rest of the shim, so the unit tests link without SQLite or the dynamic loader.
*/
#ifndef LOCKFIX_UNIT_STUBS_H
#define LOCKFIX_UNIT_STUBS_H

/* What lf_secure_exec() answers (platform.c reads AT_SECURE). */
extern int stub_secure_exec;

/* Every lf_log() line, '\n'-terminated, in order; stub_log_lines counts them. */
extern char stub_log[16384];
extern int stub_log_lines;
void stub_log_reset(void);
/* How many logged lines contain `needle`. */
int stub_log_count(const char *needle);

#endif

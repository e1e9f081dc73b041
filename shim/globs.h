/*
** LOCKFIX_INCLUDE / LOCKFIX_EXCLUDE glob matching (glob.c, pure). Not named glob.h: the unit and
** fuzz builds put shim/ on the include path, where it would hide the system's <glob.h>.
*/
#ifndef LOCKFIX_GLOBS_H
#define LOCKFIX_GLOBS_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* fnmatch-like: '*' '?' '[...]'; '*' matches '/' too (so "*.db" matches any path ending .db). */
int lf_glob_match(const char *pattern, size_t plen, const char *str);
/* Whether any pattern of a ':'-separated list matches. */
int lf_glob_list_match(const char *list, const char *str);

#pragma GCC visibility pop

#endif

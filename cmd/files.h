/*
** Paths and files (files.c).
*/
#ifndef LOCKFIX_CMD_FILES_H
#define LOCKFIX_CMD_FILES_H

#include <stddef.h>

const char *base_name(const char *path);
char *dir_name(const char *path); /* malloc'd */
char *abs_path(const char *path); /* malloc'd, not resolving links; NULL if getcwd fails */
const char *list_entry(const char **p, size_t *n); /* next entry of an a:b:c list */
/* Find `name` on PATH the way execvp would; malloc'd path or NULL. Names with '/' are returned
** as they are if they exist. */
char *path_lookup(const char *name);
char *read_file_text(const char *path, size_t max, size_t *len); /* malloc'd, NUL-terminated */

#endif

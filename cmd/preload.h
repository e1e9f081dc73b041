/*
** What the command puts in a child's environment (preload.c): the shim library, the stand-in,
** the preload list and the library path.
*/
#ifndef LOCKFIX_CMD_PRELOAD_H
#define LOCKFIX_CMD_PRELOAD_H

#include "buf.h"

/* The shim library this command loads: next to the executable, else the install LIBDIR.
** Returns a static path or NULL, and fills `tried` with what was looked at. */
const char *shim_library(struct buf *tried);
/* The directory holding lockfix's stand-in libsqlite3.so.0 (build/standin next to the library,
** LIBDIR/standin when installed), or NULL if it was not built. Linux only. */
const char *standin_dir(void);
/* LD_LIBRARY_PATH with `dir` put first (once). malloc'd. */
char *library_path_value(const char *current, const char *dir);
/* Whether a command is PHP, whose RTLD_DEEPBIND loader only the stand-in reaches. */
int is_php_command(const char *cmd);
/* The new value of the preload variable: `current` (may be NULL) with `lib` appended, unless
** the same file is already in it. An entry naming another liblockfix is replaced (two shims
** stacked would hook every call twice). Sets *replaced to the entry that was replaced, if any.
** malloc'd. */
char *preload_value(const char *current, const char *lib, char **replaced);
/* The preload value without any liblockfix entry (for children the command itself starts). */
char *preload_without_shim(const char *current);

#endif

/*
** The lockfix command: declarations shared by its files.
**
** One file per subcommand (run.c, env.c, doctor*.c, check.c, stats.c), the option table they
** share (options.c), a small ELF reader (elf.c), Mach-O verdicts over the shim's reader
** (macho_inspect.c), the dynamic linker's search path (ldpath.c), process/lock inspection
** (holders.c) and platform differences (platform.c). The plain helpers have a header each:
** memory and strings (buf.h), paths and files (files.h), a child's preload environment
** (preload.h), running a helper process (proc.h). Nothing here is a library API: it is the
** command's own plumbing.
*/
#ifndef LOCKFIX_CMD_H
#define LOCKFIX_CMD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef LOCKFIX_VERSION
#define LOCKFIX_VERSION "0.1.0"
#endif
#ifndef LOCKFIX_LIBDIR
#define LOCKFIX_LIBDIR "/usr/local/lib/lockfix"
#endif

/* Exit codes. The run wrapper follows env(1)/nice(1) so they never look like the command's own. */
enum {
    EXIT_OK = 0,
    EXIT_PROBLEM = 1, /* doctor: problems found; check: not reachable */
    EXIT_USAGE = 2,   /* bad arguments, or the database/program cannot be opened */
    EXIT_RUN_FAILED = 125,
    EXIT_CANNOT_EXEC = 126,
    EXIT_NOT_FOUND = 127,
};

/* ---- subcommands ------------------------------------------------------------------------ */
int cmd_run(int argc, char **argv);    /* lockfix [options] [--] COMMAND ARGS */
int cmd_env(int argc, char **argv);    /* lockfix env [options] */
int cmd_doctor(int argc, char **argv); /* lockfix doctor DB */
int cmd_check(int argc, char **argv);  /* lockfix check PROGRAM */
int cmd_stats(int argc, char **argv);  /* lockfix stats [LOG...] */
void usage_run(FILE *out);
void usage_env(FILE *out);
void usage_doctor(FILE *out);
void usage_check(FILE *out);
void usage_stats(FILE *out);

/* ---- options.c: command-line options that become LOCKFIX_* variables -------------------- */
#define SHIM_VARS_MAX 32
struct shim_env {
    int n;
    const char *name[SHIM_VARS_MAX];
    char *value[SHIM_VARS_MAX];
};
/* If argv[*i] is a shim option, consume it (and its value), record the variable and return 1;
** return 0 if it is not one; return -1 after printing an error for a bad value. */
int shim_option(int argc, char **argv, int *i, struct shim_env *env);
/* Print the option list for --help. */
void shim_options_help(FILE *out);
/* Apply the recorded variables to this process's environment (setenv). */
void shim_env_apply(const struct shim_env *env);
/* The number the shim takes from this process's LOCKFIX_* variable for option_id (an enum
** lf_option_id, shim/options.h; MS, US or COUNT): its value, or the default when it is unset or
** bad (a bad one is warned about, named by `who`), as the shim itself would do. */
long shim_option_env_number(int option_id, const char *who);

/* ---- platform.c: everything that differs on macOS ---------------------------------------- */
extern const char *const PRELOAD_VAR;  /* LD_PRELOAD, or DYLD_INSERT_LIBRARIES on macOS */
extern const char *const SHIM_FILE;    /* liblockfix.so / liblockfix.dylib */
extern const int HAVE_STANDIN;         /* the libsqlite3.so.0 stand-in exists for this system */
/* Whether c separates entries of the preload variable (ld.so: ':' and ' '; dyld: ':'). */
int preload_separator(char c);
/* A pipe whose ends are closed on exec (pipe2 is not everywhere). Returns 0 or -1. */
int cloexec_pipe(int fds[2]);
/* Major and minor numbers of a device, as /proc/locks prints them. */
unsigned dev_major(dev_t dev);
unsigned dev_minor(dev_t dev);
/* Absolute path of this executable, into buf; returns buf or NULL. */
char *self_exe(char *buf, size_t cap);
/* Filesystem type name of the filesystem holding `path`, and whether SQLite's WAL is unsafe
** there (network or FUSE filesystems). Returns 0, or -1 if statfs fails. */
int fs_type(const char *path, char *name, size_t cap, unsigned long *magic, int *wal_unsafe);

#endif

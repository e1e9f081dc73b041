/*
** lockfix: run a program with the lockfix shim, or diagnose "database is locked".
** This file only dispatches: a first argument naming a subcommand selects it, anything else is
** the run wrapper's options or command.
*/
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "lockfix.h"
#include "buf.h"
#include "preload.h"

/* The overview for `lockfix --help`; each subcommand has its own --help. */
static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: lockfix [OPTIONS] [--] COMMAND [ARGS...]  run COMMAND with lockfix\n"
            "       lockfix env [OPTIONS]                     print the export lines instead\n"
            "       lockfix doctor [--json] [--fix] DB        diagnose a database\n"
            "       lockfix check [--json] PROGRAM            can lockfix reach its SQLite?\n"
            "       lockfix stats [--json] [LOG...]           summarise a lockfix log\n"
            "       lockfix help SUBCOMMAND | --version\n"
            "\n"
            "lockfix makes programs that use SQLite wait for locks instead of failing with\n"
            "\"database is locked\": it raises the busy timeout, switches databases to WAL,\n"
            "turns BEGIN into BEGIN IMMEDIATE and retries where that is safe.\n"
            "\n"
            "Options of the run wrapper and of `lockfix env`:\n");
    shim_options_help(out);
    fprintf(out, "\n`lockfix SUBCOMMAND --help` describes each subcommand; see also lockfix(1).\n");
}

/* --version also says which library the wrapper would load: the usual question after install. */
static int version(void)
{
    struct buf tried = {0};
    const char *lib = shim_library(&tried);
    printf("lockfix %s\n", LOCKFIX_VERSION);
    printf("library: %s\n", lib ? lib : "(not found)");
    printf("sqlite (doctor): %s\n", sqlite3_libversion());
    buf_free(&tried);
    return EXIT_OK;
}

/* `lockfix help SUB` and `lockfix SUB --help` print the same text. */
static int help(const char *sub)
{
    if (sub == NULL) {
        usage_main(stdout);
    } else if (strcmp(sub, "env") == 0) {
        usage_env(stdout);
    } else if (strcmp(sub, "doctor") == 0) {
        usage_doctor(stdout);
    } else if (strcmp(sub, "check") == 0) {
        usage_check(stdout);
    } else if (strcmp(sub, "stats") == 0) {
        usage_stats(stdout);
    } else if (strcmp(sub, "run") == 0) {
        usage_run(stdout);
    } else {
        warnx_("help: no subcommand '%s' (env, doctor, check, stats, run)", sub);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Subcommands are recognised only as the first argument, so any program can still be run. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        return help(NULL);
    if (strcmp(a, "help") == 0)
        return help(argc > 2 ? argv[2] : NULL);
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)
        return version();
    if (strcmp(a, "env") == 0)
        return cmd_env(argc - 1, argv + 1);
    if (strcmp(a, "doctor") == 0)
        return cmd_doctor(argc - 1, argv + 1);
    if (strcmp(a, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(a, "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    return cmd_run(argc, argv);
}

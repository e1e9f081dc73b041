/*
** `lockfix doctor DB`: the diagnostic timeline of "database is locked" as a command. The facts
** are gathered in doctor_facts.c and judged in doctor_findings.c; this file reads the options,
** prints the findings (text or JSON) and carries out --fix, the only path that writes to the
** database, after asking.
*/
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../shim/options.h"
#include "doctor.h"
#include "lockfix.h"
#include "buf.h"

/* The --help text; also shown by `lockfix help doctor`. */
void usage_doctor(FILE *out)
{
    fprintf(out,
            "usage: lockfix doctor [--json] [--full] [--checkpoint] [--fix [--yes]]\n"
            "                      [--timeout MS] DB\n"
            "\n"
            "Diagnose \"database is locked\" for the SQLite database DB: journal mode,\n"
            "filesystem (is WAL safe there?), -wal size, -shm, stale or hot -journal, the\n"
            "processes holding DB open and which of them is inside a transaction, whether a\n"
            "reader blocks checkpoints, busy_timeout, page/cache sizes, quick_check and the\n"
            "SQLite version. Each finding has a severity (ok, info, warn, error) and a fix.\n"
            "\n"
            "DB is opened read-only and nothing is written, unless:\n"
            "  --checkpoint    run PRAGMA wal_checkpoint(PASSIVE), which copies WAL pages\n"
            "                  into the database (content unchanged), and report whether a\n"
            "                  reader blocks it\n"
            "  --fix           switch DB to WAL (not on network filesystems), roll back a hot\n"
            "                  journal and checkpoint; asks on stdin first\n"
            "  -y, --yes       do not ask\n"
            "Other options:\n"
            "  --full          PRAGMA integrity_check instead of quick_check (slower)\n"
            "  --json          machine-readable output\n"
            "  --timeout MS    how long doctor's own queries wait for a lock (default 2000)\n"
            "The writer queue's turn is reported as long (warn) when held while others wait\n"
            "for LOCKFIX_LONG_TURN_MS (default 1000; 0: never), as the library logs it.\n"
            "Exit status: 0 no problems (only ok/info), 1 problems (warn/error), 2 usage or\n"
            "DB cannot be opened as an SQLite database.\n");
}

/* warn and error are problems; ok and info are not. */
static int count_problems(const struct findings *fd, int *errors, int *warnings)
{
    *errors = *warnings = 0;
    for (int i = 0; i < fd->n; i++) {
        if (fd->find[i].sev == SEV_ERROR)
            (*errors)++;
        else if (fd->find[i].sev == SEV_WARN)
            (*warnings)++;
    }
    return *errors + *warnings;
}

/* One line per finding, its fix beneath: readable in a terminal, greppable by check name. */
static void print_human(const struct facts *d, const struct findings *fd)
{
    printf("lockfix doctor: %s\n", d->db);
    for (int i = 0; i < fd->n; i++) {
        const struct finding *f = &fd->find[i];
        printf("  %-5s  %-14s %s\n", severity_name(f->sev), f->check, f->message);
        if (f->fix)
            printf("  %-5s  %-14s fix: %s\n", "", "", f->fix);
    }
    int errors, warnings;
    int n = count_problems(fd, &errors, &warnings);
    if (n == 0)
        printf("no problems found.\n");
    else
        printf("%d problem%s: %d error%s, %d warning%s.\n", n, n == 1 ? "" : "s", errors,
               errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
}

/* The body of the JSON report for one diagnosis (without the enclosing braces). */
static void json_diag(struct buf *b, const struct facts *d, const struct findings *fd)
{
    int errors, warnings;
    buf_add(b, "\"db\":");
    buf_json_str(b, d->db);
    buf_add(b, ",\"sqlite_version\":");
    buf_json_str(b, d->lib_version);
    buf_add(b, ",\"journal_mode\":");
    buf_json_str(b, d->mode);
    buf_add(b, ",\"filesystem\":");
    buf_json_str(b, d->fsname);
    buf_printf(b, ",\"wal_safe\":%s", d->wal_unsafe ? "false" : "true");
    buf_add(b, ",\"holders\":[");
    for (int i = 0; i < d->nholders; i++) {
        const struct holder *h = &d->holders[i];
        char state[160];
        holder_state(h, strcmp(d->mode, "wal") == 0, state, sizeof state);
        buf_printf(b, "%s{\"pid\":%d,\"comm\":", i ? "," : "", (int)h->pid);
        buf_json_str(b, h->comm);
        buf_add(b, ",\"cmdline\":");
        buf_json_str(b, h->cmdline);
        buf_printf(b, ",\"files\":[%s%s%s%s]", h->files & F_DB ? "\"db\"" : "",
                   h->files & F_WAL ? (h->files & F_DB ? ",\"wal\"" : "\"wal\"") : "",
                   h->files & F_SHM ? (h->files & (F_DB | F_WAL) ? ",\"shm\"" : "\"shm\"") : "",
                   h->files & F_JOURNAL ? (h->files & (F_DB | F_WAL | F_SHM) ? ",\"journal\""
                                                                             : "\"journal\"")
                                        : "");
        buf_printf(b, ",\"write_transaction\":%s",
                   h->lk.reserved || h->lk.wal_write || h->lk.pending || h->lk.exclusive
                       ? "true"
                       : "false");
        buf_add(b, ",\"state\":");
        buf_json_str(b, state);
        buf_add(b, "}");
    }
    buf_add(b, "],\"findings\":[");
    for (int i = 0; i < fd->n; i++) {
        const struct finding *f = &fd->find[i];
        buf_add(b, i ? ",{\"check\":" : "{\"check\":");
        buf_json_str(b, f->check);
        buf_add(b, ",\"severity\":");
        buf_json_str(b, severity_name(f->sev));
        buf_add(b, ",\"message\":");
        buf_json_str(b, f->message);
        buf_add(b, ",\"fix\":");
        if (f->fix)
            buf_json_str(b, f->fix);
        else
            buf_add(b, "null");
        buf_add(b, "}");
    }
    buf_printf(b, "],\"problems\":%d", count_problems(fd, &errors, &warnings));
    buf_printf(b, ",\"errors\":%d,\"warnings\":%d", errors, warnings);
}

/* What --fix would do for this diagnosis; returns the number of actions. */
static int plan_fix(const struct facts *d, const char *actions[], int max)
{
    int n = 0;
    int wal = strcmp(d->mode, "wal") == 0;
    if (d->journal.exists && d->journal.st.st_size > 0 && n < max)
        actions[n++] = "open the database read-write once (rolls back a hot journal, removes a "
                       "stale one)";
    if (!wal && !d->wal_unsafe && n < max)
        actions[n++] = "switch it to WAL (PRAGMA journal_mode=WAL, recorded in the file)";
    if ((wal || !d->wal_unsafe) && n < max)
        actions[n++] = "checkpoint it (PRAGMA wal_checkpoint(PASSIVE))";
    return n;
}

/* --fix asks first, on stdin, unless --yes: it is the one path that writes. */
static int confirm(const char *db, const char *actions[], int n)
{
    fprintf(stderr, "lockfix doctor --fix will, for %s:\n", db);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "  - %s\n", actions[i]);
    fprintf(stderr, "Proceed? [y/N] ");
    fflush(stderr);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) {
        fprintf(stderr, "\n");
        return 0;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

/* Apply the fix on a read-write connection; each step's outcome is appended to `log`. Returns
** the number of steps that failed. */
static int apply_fix(const struct facts *d, const struct doctor_opts *o, struct buf *log)
{
    sqlite3 *db = NULL;
    int failed = 0;
    /* No SQLITE_OPEN_CREATE: the file was there when diagnosed and must not be made anew. */
    int rc = sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        buf_printf(log, "open read-write: failed: %s\n", db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, o->timeout_ms > 5000 ? (int)o->timeout_ms : 5000);
    /* Any read makes SQLite roll back a hot journal (it needs the file consistent to read). */
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    buf_printf(log, "open read-write: %s\n", rc == SQLITE_OK ? "ok" : sqlite3_errmsg(db));
    failed += rc != SQLITE_OK;
    if (strcmp(d->mode, "wal") != 0 && !d->wal_unsafe) {
        sqlite3_stmt *st = NULL;
        char mode[16] = "";
        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = sqlite3_finalize(st);
        /* SQLite keeps the old mode where WAL is impossible and says so only in its answer. */
        if (rc == SQLITE_OK && strcasecmp(mode, "wal") == 0) {
            buf_add(log, "journal_mode=WAL: ok\n");
        } else {
            buf_printf(log, "journal_mode=WAL: failed: %s\n",
                       rc != SQLITE_OK ? sqlite3_errmsg(db) : mode[0] ? mode : "no answer");
            failed++;
        }
    }
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(PASSIVE)", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        int logf = sqlite3_column_int(st, 1), done = sqlite3_column_int(st, 2);
        if (logf < 0)
            buf_add(log, "checkpoint: not in WAL mode, nothing to do\n");
        else
            buf_printf(log, "checkpoint: %d of %d frames copied%s\n", done, logf,
                       done < logf ? " (a reader still uses the rest)" : "");
    } else {
        buf_printf(log, "checkpoint: failed: %s\n", sqlite3_errmsg(db));
        failed++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return failed;
}

/* Gather the facts about `db`, then judge them. Returns 0 or gather_facts's EXIT_USAGE. */
static int diagnose(const char *db, const struct doctor_opts *o, struct facts *d,
                    struct findings *fd)
{
    memset(d, 0, sizeof *d);
    memset(fd, 0, sizeof *fd);
    d->db_arg = db;
    int rc = gather_facts(d, o);
    if (rc == 0)
        judge(d, o, fd);
    return rc;
}

/* Both halves of a diagnosis own their strings; --fix makes a second one. */
static void diagnosis_free(struct facts *d, struct findings *fd)
{
    findings_free(fd);
    facts_free(d);
}

/* Entry point: diagnose; with --fix, confirm, apply and diagnose again so the output shows
** the state the user is left with. */
int cmd_doctor(int argc, char **argv)
{
    struct doctor_opts o = {0, 0, 0, 0, 0, 2000, 0};
    const char *db = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_doctor(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--full") == 0) {
            o.full = 1;
        } else if (strcmp(a, "--fix") == 0) {
            o.fix = 1;
        } else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) {
            o.yes = 1;
        } else if (strcmp(a, "--checkpoint") == 0) {
            o.checkpoint = 1;
        } else if (strcmp(a, "--timeout") == 0 || has_prefix(a, "--timeout=")) {
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : "");
            if (parse_ms(v, 86400000L, &o.timeout_ms) != 0) {
                warnx_("doctor: --timeout: '%s' is not a number of milliseconds", v);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--") == 0 && i + 1 < argc && db == NULL) {
            db = argv[++i];
        } else if (a[0] == '-' || db != NULL) {
            warnx_("doctor: unexpected argument '%s' (lockfix doctor --help)", a);
            return EXIT_USAGE;
        } else {
            db = a;
        }
    }
    if (db == NULL) {
        warnx_("doctor: which database? (usage: lockfix doctor [--json] [--fix] DB)");
        return EXIT_USAGE;
    }
    /* A turn is long from where the user's programs log it (LOCKFIX_LONG_TURN_MS) */
    o.long_turn_ms = shim_option_env_number(LF_OPT_LOCKFIX_LONG_TURN_MS, "doctor");
    /* If this shell preloads lockfix, doctor's own connections must not be changed by it. */
    setenv("LOCKFIX_DISABLE", "1", 1);

    struct facts d;
    struct findings fd;
    int rc = diagnose(db, &o, &d, &fd);
    if (rc != 0) {
        diagnosis_free(&d, &fd);
        return rc;
    }
    int errors, warnings;
    int problems = count_problems(&fd, &errors, &warnings);
    if (!o.fix) {
        if (o.json) {
            struct buf b = {0};
            buf_add(&b, "{");
            json_diag(&b, &d, &fd);
            buf_add(&b, "}\n");
            fputs(b.p, stdout);
            buf_free(&b);
        } else {
            print_human(&d, &fd);
        }
        diagnosis_free(&d, &fd);
        return problems ? EXIT_PROBLEM : EXIT_OK;
    }

    /* --fix: show the diagnosis, ask, apply, diagnose again. */
    struct buf out = {0};
    if (o.json) {
        buf_add(&out, "{\"before\":{");
        json_diag(&out, &d, &fd);
        buf_add(&out, "}");
    } else {
        print_human(&d, &fd);
        fflush(stdout);
    }
    const char *actions[4];
    int nact = problems ? plan_fix(&d, actions, 4) : 0;
    int applied = 0, failed = 0;
    struct buf log = {0};
    buf_add(&log, "");
    if (nact == 0) {
        buf_add(&log, problems ? "nothing --fix can change: see the fixes above\n"
                               : "nothing to fix\n");
    } else if (o.yes || confirm(d.db, actions, nact)) {
        applied = 1;
        failed = apply_fix(&d, &o, &log);
    } else {
        buf_add(&log, "not confirmed: nothing changed\n");
    }
    struct facts after;
    struct findings after_fd;
    memset(&after, 0, sizeof after);
    memset(&after_fd, 0, sizeof after_fd);
    const struct facts *final = &d;
    const struct findings *final_fd = &fd;
    if (applied && diagnose(db, &o, &after, &after_fd) == 0) {
        final = &after;
        final_fd = &after_fd;
    }
    problems = count_problems(final_fd, &errors, &warnings);
    if (o.json) {
        buf_printf(&out, ",\"fix\":{\"applied\":%s,\"failed\":%d,\"log\":",
                   applied ? "true" : "false", failed);
        buf_json_str(&out, log.p);
        buf_add(&out, "},");
        json_diag(&out, final, final_fd);
        buf_add(&out, "}\n");
        fputs(out.p, stdout);
    } else {
        printf("\n--fix:\n");
        fputs(log.p, stdout);
        if (final == &after) {
            printf("\nafter --fix:\n");
            print_human(&after, &after_fd);
        }
    }
    buf_free(&out);
    buf_free(&log);
    diagnosis_free(&after, &after_fd);
    diagnosis_free(&d, &fd);
    return problems || failed ? EXIT_PROBLEM : EXIT_OK;
}

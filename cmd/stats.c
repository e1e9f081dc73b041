/*
** `lockfix stats [LOG...]`: summarise what the shim did, per database and per process.
**
** The log is "lockfix[PID]: EVENT key=value ..." lines, possibly prefixed (journald, docker and
** systemd add timestamps) and interleaved with other programs' stderr. Unknown events and keys
** are counted, not fatal: the shim will grow new ones. The shim logs each kind of event only the
** first LOCKFIX_LOG_REPEAT times per connection and then writes a "summary" line with the full
** counts; so for each (process, database) a count is the larger of the lines seen and the
** summaries' sums — exact when a process opens a database once, a lower bound otherwise.
*/
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shim/events.def.h"
#include "lockfix.h"
#include "buf.h"

/* The events the summary line also counts, in the shim's order (shim/events.def.h). */
#define EV_ENUM(id, name, key) EV_##id,
enum ev { LF_COUNTED_EVENTS(EV_ENUM) EV_N };
#undef EV_ENUM
#define EV_KEY(id, name, key) key,
static const char *const ev_summary_key[EV_N] = {LF_COUNTED_EVENTS(EV_KEY)};
#undef EV_KEY

/* Every event the shim logs: a name not here is reported as unknown (a newer shim's). */
static int known_event(const char *event)
{
#define EV_NAME_C(id, name, key) name,
#define EV_NAME_O(id, name, per_db) name,
    static const char *const names[] = {LF_COUNTED_EVENTS(EV_NAME_C) LF_OTHER_EVENTS(EV_NAME_O)};
#undef EV_NAME_C
#undef EV_NAME_O
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], event) == 0)
            return 1;
    return 0;
}

/* A small string -> count table (WAL skip reasons, give-up codes). */
struct tally {
    int n;
    char **key;
    long *count;
};

/* Few distinct keys (reasons, codes): a linear table is enough. */
static void tally_add(struct tally *t, const char *key, long by)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->key[i], key) == 0) {
            t->count[i] += by;
            return;
        }
    t->key = xrealloc(t->key, (size_t)(t->n + 1) * sizeof *t->key);
    t->count = xrealloc(t->count, (size_t)(t->n + 1) * sizeof *t->count);
    t->key[t->n] = xstrdup(key);
    t->count[t->n++] = by;
}

struct waits {
    long *v;
    int n, cap;
};

/* Waits are kept whole so percentiles are exact, not estimated. */
static void waits_add(struct waits *w, long ms)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->v = xrealloc(w->v, (size_t)w->cap * sizeof *w->v);
    }
    w->v[w->n++] = ms;
}

/* What one process did to one database. */
struct unit {
    long pid;
    char *db;
    long lines[EV_N], summary[EV_N];
    int has_summary;
    long timeout_at_open, wal_switched, wal_skipped, wal_failed, handler_kept, dry_run;
    long queue_no_turn;
    struct waits waits, queue_waits;
    struct tally wal_reasons, gave_up_codes;
    char wal_from[16];
    /* long-turn lines this process logged as the writer next in line: the holders they name */
    long long_turns, long_turn_max_ms;
    struct tally long_turn_holders;
};

/* Process-wide messages (config warnings, unreachable SQLite), kept once per text. */
struct note {
    long pid;
    char *event, *text;
    long count;
};

struct stats {
    long lines, matched, unrecognised;
    int nunits, capunits;
    struct unit *units;
    int nnotes;
    struct note *notes;
    struct tally unknown_events;
    long queue_skipped; /* tickets of gone or given-up writers passed over */
};

/* The --help text; also shown by `lockfix help stats`. */
void usage_stats(FILE *out)
{
    fprintf(out,
            "usage: lockfix stats [--json] [LOG...]\n"
            "\n"
            "Summarise lockfix log lines (from LOG files, or stdin if none or '-'), per\n"
            "database and per process: busy timeouts raised, BEGINs rewritten, retries and\n"
            "their outcome, waits (median, p99, max over the statements retried), give-ups,\n"
            "long turns in the writer queue (who held it) and WAL decisions. Lines may carry prefixes (journald, docker); other lines are\n"
            "skipped. Counts include events the shim only counted in its summary lines.\n"
            "  --json   machine-readable output\n"
            "Exit status: 0, or 2 if a LOG cannot be read.\n");
}

/* Summaries are per connection, so counts are kept per (process, database). */
static struct unit *unit_for(struct stats *s, long pid, const char *db)
{
    for (int i = 0; i < s->nunits; i++)
        if (s->units[i].pid == pid && strcmp(s->units[i].db, db) == 0)
            return &s->units[i];
    if (s->nunits == s->capunits) {
        s->capunits = s->capunits ? s->capunits * 2 : 16;
        s->units = xrealloc(s->units, (size_t)s->capunits * sizeof *s->units);
    }
    struct unit *u = &s->units[s->nunits++];
    memset(u, 0, sizeof *u);
    u->pid = pid;
    u->db = xstrdup(db);
    return u;
}

/* key=value fields. A value runs to the next " key=" or " (" so that paths with spaces survive;
** the shim writes free text only in parentheses, after the fields. */
struct field {
    char key[32];
    char *value;
};

/* A field starts with a lower-case identifier and '='. */
static int is_key_start(const char *p)
{
    const char *q = p;
    while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9'))
        q++;
    return q > p && *q == '=';
}

/* Cut the text into fields in place; unknown keys are kept (and ignored by the caller). */
static int parse_fields(char *text, struct field *f, int max)
{
    int n = 0;
    char *p = text;
    while (*p && n < max) {
        while (*p == ' ')
            p++;
        if (*p == '(' || *p == '\0')
            break;
        if (!is_key_start(p)) { /* free text: skip a word */
            while (*p && *p != ' ')
                p++;
            continue;
        }
        char *eq = strchr(p, '=');
        size_t kl = (size_t)(eq - p);
        snprintf(f[n].key, sizeof f[n].key, "%.*s", (int)(kl < 31 ? kl : 31), p);
        char *v = eq + 1, *end = v;
        for (;;) {
            char *sp = strchr(end, ' ');
            if (sp == NULL) {
                end = v + strlen(v);
                break;
            }
            if (sp[1] == '(' || is_key_start(sp + 1)) {
                end = sp;
                break;
            }
            end = sp + 1;
        }
        f[n].value = v;
        p = *end ? end + 1 : end;
        *end = '\0';
        n++;
    }
    return n;
}

/* Look a field up by key; NULL when the shim did not write it. */
static const char *field(const struct field *f, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].key, key) == 0)
            return f[i].value;
    return NULL;
}

/* Warnings repeat (once per connection): show each text once per process, with a count. */
static void add_note(struct stats *s, long pid, const char *event, const char *text)
{
    for (int i = 0; i < s->nnotes; i++)
        if (s->notes[i].pid == pid && strcmp(s->notes[i].text, text) == 0) {
            s->notes[i].count++;
            return;
        }
    s->notes = xrealloc(s->notes, (size_t)(s->nnotes + 1) * sizeof *s->notes);
    s->notes[s->nnotes++] = (struct note){pid, xstrdup(event), xstrdup(text), 1};
}

/* One log line. */
static void parse_line(struct stats *s, char *line)
{
    s->lines++;
    line[strcspn(line, "\r\n")] = '\0';
    char *p = strstr(line, "lockfix[");
    if (p == NULL)
        return; /* another program's output */
    p += 8;
    char *end;
    errno = 0;
    long pid = strtol(p, &end, 10);
    if (end == p || errno != 0 || strncmp(end, "]: ", 3) != 0) {
        s->unrecognised++;
        return;
    }
    s->matched++;
    char *body = end + 3;
    char event[48];
    size_t el = strcspn(body, " ");
    snprintf(event, sizeof event, "%.*s", (int)(el < 47 ? el : 47), body);
    size_t k = strlen(event);
    if (k > 0 && event[k - 1] == ':')
        event[k - 1] = '\0';
    char *rest = body + el;
    char *text = xstrdup(body); /* for notes, before fields are cut up */

    struct field f[24];
    int nf = parse_fields(rest, f, 24);
    const char *db = field(f, nf, "db");
    int dry = field(f, nf, "dry_run") != NULL;
    if (db == NULL) {
        if (!known_event(event))
            tally_add(&s->unknown_events, event, 1);
        if (strcmp(event, "queue-skipped") == 0)
            s->queue_skipped++; /* one per ticket: counted, not a message each */
        else
            add_note(s, pid, event, text);
        free(text);
        return;
    }
    struct unit *u = unit_for(s, pid, db);
    u->dry_run += dry;
    const char *waited = field(f, nf, "waited_ms");
    if (strcmp(event, "timeout-raised") == 0) {
        const char *via = field(f, nf, "via");
        /* At open it is not counted in the summary; the program's own changes are. */
        if (via && strcmp(via, "open") == 0)
            u->timeout_at_open++;
        else
            u->lines[EV_TIMEOUT_RAISED]++;
    } else if (strcmp(event, "begin-rewritten") == 0) {
        u->lines[EV_BEGIN_REWRITTEN]++;
    } else if (strcmp(event, "retry") == 0) {
        u->lines[EV_RETRY]++;
    } else if (strcmp(event, "retry-ok") == 0) {
        u->lines[EV_RETRY_OK]++;
        if (waited)
            waits_add(&u->waits, atol(waited));
    } else if (strcmp(event, "gave-up") == 0) {
        u->lines[EV_GAVE_UP]++;
        if (waited)
            waits_add(&u->waits, atol(waited));
        const char *why = field(f, nf, "reason");
        const char *code = field(f, nf, "code");
        char key[96];
        snprintf(key, sizeof key, "%s%s%s", why ? why : "", why && code ? "/" : "",
                 code ? code : (why ? "" : "unknown"));
        tally_add(&u->gave_up_codes, key, 1);
    } else if (strcmp(event, "summary") == 0) {
        u->has_summary = 1;
        for (int e = 0; e < EV_N; e++) {
            const char *v = field(f, nf, ev_summary_key[e]);
            if (v)
                u->summary[e] += atol(v);
        }
    } else if (strcmp(event, "wal-switched") == 0) {
        u->wal_switched++;
        const char *from = field(f, nf, "from");
        if (from)
            snprintf(u->wal_from, sizeof u->wal_from, "%s", from);
    } else if (strcmp(event, "wal-skipped") == 0) {
        u->wal_skipped++;
        const char *why = field(f, nf, "reason");
        const char *fs = field(f, nf, "fs");
        char key[96];
        snprintf(key, sizeof key, "%s%s%s", why ? why : "unknown", fs ? " fs=" : "",
                 fs ? fs : "");
        tally_add(&u->wal_reasons, key, 1);
    } else if (strcmp(event, "wal-failed") == 0) {
        u->wal_failed++;
    } else if (strcmp(event, "busy-handler-kept") == 0) {
        u->handler_kept++;
    } else if (strcmp(event, "queue-wait") == 0) {
        /* Only waits of at least LOCKFIX_QUEUE_LOG_MS are logged: the long tail, by design. */
        if (waited)
            waits_add(&u->queue_waits, atol(waited));
        u->queue_no_turn += strstr(text, "no turn") != NULL;
    } else if (strcmp(event, "long-turn") == 0) {
        const char *held = field(f, nf, "held_ms"), *hpid = field(f, nf, "pid");
        const char *comm = field(f, nf, "comm");
        char key[96];
        snprintf(key, sizeof key, "pid %s (%s)", hpid ? hpid : "?", comm ? comm : "?");
        tally_add(&u->long_turn_holders, key, 1);
        u->long_turns++;
        if (held && atol(held) > u->long_turn_max_ms)
            u->long_turn_max_ms = atol(held);
    } else if (!known_event(event)) {
        tally_add(&s->unknown_events, event, 1);
    }
    free(text);
}

/* Lines of any length: a debug line may carry long SQL. */
static int read_log(struct stats *s, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) >= 0)
        parse_line(s, line);
    free(line);
    return ferror(in) ? -1 : 0;
}

/* ---- aggregation ------------------------------------------------------------------------ */

/* The count of one event for one unit: summaries include the events not logged one by one. */
static long unit_count(const struct unit *u, int e)
{
    return u->summary[e] > u->lines[e] ? u->summary[e] : u->lines[e];
}

struct agg {
    long count[EV_N];
    long timeout_at_open, wal_switched, wal_skipped, wal_failed, handler_kept, dry_run;
    long processes, queue_no_turn;
    struct waits waits, queue_waits;
    struct tally wal_reasons, gave_up_codes;
    long long_turns, long_turn_max_ms;
    struct tally long_turn_holders;
};

/* Per-database and total figures are sums of the per-process ones. */
static void agg_add(struct agg *a, const struct unit *u)
{
    for (int e = 0; e < EV_N; e++)
        a->count[e] += unit_count(u, e);
    a->timeout_at_open += u->timeout_at_open;
    a->wal_switched += u->wal_switched;
    a->wal_skipped += u->wal_skipped;
    a->wal_failed += u->wal_failed;
    a->handler_kept += u->handler_kept;
    a->dry_run += u->dry_run;
    a->queue_no_turn += u->queue_no_turn;
    for (int i = 0; i < u->waits.n; i++)
        waits_add(&a->waits, u->waits.v[i]);
    for (int i = 0; i < u->queue_waits.n; i++)
        waits_add(&a->queue_waits, u->queue_waits.v[i]);
    for (int i = 0; i < u->wal_reasons.n; i++)
        tally_add(&a->wal_reasons, u->wal_reasons.key[i], u->wal_reasons.count[i]);
    for (int i = 0; i < u->gave_up_codes.n; i++)
        tally_add(&a->gave_up_codes, u->gave_up_codes.key[i], u->gave_up_codes.count[i]);
    a->long_turns += u->long_turns;
    if (u->long_turn_max_ms > a->long_turn_max_ms)
        a->long_turn_max_ms = u->long_turn_max_ms;
    for (int i = 0; i < u->long_turn_holders.n; i++)
        tally_add(&a->long_turn_holders, u->long_turn_holders.key[i],
                  u->long_turn_holders.count[i]);
}

/* The units are sorted by database: sum those of the database of unit i into *a (zeroed first);
** returns the index of the next database's first unit. */
static int agg_database(const struct stats *s, int i, struct agg *a)
{
    memset(a, 0, sizeof *a);
    int j = i;
    for (; j < s->nunits && strcmp(s->units[j].db, s->units[i].db) == 0; j++) {
        agg_add(a, &s->units[j]);
        a->processes++;
    }
    return j;
}

/* Aggregates are built per database and thrown away after printing. */
static void agg_free(struct agg *a)
{
    free(a->waits.v);
    free(a->queue_waits.v);
    for (int i = 0; i < a->wal_reasons.n; i++)
        free(a->wal_reasons.key[i]);
    for (int i = 0; i < a->gave_up_codes.n; i++)
        free(a->gave_up_codes.key[i]);
    free(a->wal_reasons.key);
    free(a->wal_reasons.count);
    free(a->gave_up_codes.key);
    free(a->gave_up_codes.count);
    for (int i = 0; i < a->long_turn_holders.n; i++)
        free(a->long_turn_holders.key[i]);
    free(a->long_turn_holders.key);
    free(a->long_turn_holders.count);
}

/* qsort order for waits. */
static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* qsort that accepts an empty array with no storage yet (qsort(NULL, 0, ...) is undefined). */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

/* Nearest-rank percentile of sorted values. */
static long percentile(const struct waits *w, double pct)
{
    if (w->n == 0)
        return 0;
    long rank = (long)(pct / 100.0 * w->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > w->n)
        rank = w->n;
    return w->v[rank - 1];
}

/* Group by database, then by pid, for the per-database and per-process tables. */
static int cmp_unit(const void *a, const void *b)
{
    const struct unit *x = a, *y = b;
    int c = strcmp(x->db, y->db);
    if (c)
        return c;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* ---- output ------------------------------------------------------------------------------ */

/* Distinct processes, whether they touched a database or only left a message. */
static long count_pids(const struct stats *s)
{
    long n = 0;
    for (int i = 0; i < s->nunits + s->nnotes; i++) {
        long pid = i < s->nunits ? s->units[i].pid : s->notes[i - s->nunits].pid;
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = (k < s->nunits ? s->units[k].pid : s->notes[k - s->nunits].pid) == pid;
        n += !seen;
    }
    return n;
}

/* The counts object shared by totals, databases and processes in the JSON output. */
/* A tally as a JSON object {"key":count,...}. */
static void json_tally(struct buf *b, const struct tally *t)
{
    buf_add(b, "{");
    for (int i = 0; i < t->n; i++) {
        buf_add(b, i ? "," : "");
        buf_json_str(b, t->key[i]);
        buf_printf(b, ":%ld", t->count[i]);
    }
    buf_add(b, "}");
}

static void json_counts(struct buf *b, const struct agg *a)
{
    for (int e = 0; e < EV_N; e++)
        buf_printf(b, "\"%s\":%ld,", ev_summary_key[e], a->count[e]);
    buf_printf(b,
               "\"timeout_raised_at_open\":%ld,\"wal_switched\":%ld,\"wal_skipped\":%ld,"
               "\"wal_failed\":%ld,\"busy_handler_kept\":%ld,\"dry_run_events\":%ld",
               a->timeout_at_open, a->wal_switched, a->wal_skipped, a->wal_failed,
               a->handler_kept, a->dry_run);
    struct waits w = a->waits;
    sort_n(w.v, (size_t)w.n, sizeof *w.v, cmp_long);
    buf_printf(b, ",\"waits_ms\":{\"n\":%d,\"median\":%ld,\"p99\":%ld,\"max\":%ld}", w.n,
               percentile(&w, 50), percentile(&w, 99), w.n ? w.v[w.n - 1] : 0L);
    struct waits q = a->queue_waits;
    sort_n(q.v, (size_t)q.n, sizeof *q.v, cmp_long);
    buf_printf(b,
               ",\"queue_waits_ms\":{\"n\":%d,\"median\":%ld,\"max\":%ld,\"without_turn\":%ld}",
               q.n, percentile(&q, 50), q.n ? q.v[q.n - 1] : 0L, a->queue_no_turn);
    buf_add(b, ",\"wal_skipped_reasons\":");
    json_tally(b, &a->wal_reasons);
    buf_add(b, ",\"gave_up_reasons\":");
    json_tally(b, &a->gave_up_codes);
    buf_printf(b, ",\"long_turns\":{\"n\":%ld,\"max_held_ms\":%ld,\"holders\":",
               a->long_turns, a->long_turn_max_ms);
    json_tally(b, &a->long_turn_holders);
    buf_add(b, "}");
}

/* Totals first: the figures a test or a dashboard wants most. */
static void print_json(struct stats *s)
{
    struct buf b = {0};
    struct agg total;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < s->nunits; i++)
        agg_add(&total, &s->units[i]);
    buf_printf(&b, "{\"lines\":%ld,\"lockfix_lines\":%ld,\"unrecognised\":%ld,\"processes\":%ld,",
               s->lines, s->matched, s->unrecognised, count_pids(s));
    buf_add(&b, "\"totals\":{");
    json_counts(&b, &total);
    buf_add(&b, "},\"databases\":[");
    int ndb = 0;
    for (int i = 0; i < s->nunits;) {
        struct agg a;
        int j = agg_database(s, i, &a);
        buf_add(&b, ndb++ ? ",{\"db\":" : "{\"db\":");
        buf_json_str(&b, s->units[i].db);
        buf_printf(&b, ",\"processes\":%ld,", a.processes);
        json_counts(&b, &a);
        buf_add(&b, "}");
        agg_free(&a);
        i = j;
    }
    buf_add(&b, "],\"per_process\":[");
    for (int i = 0; i < s->nunits; i++) {
        struct agg a;
        memset(&a, 0, sizeof a);
        agg_add(&a, &s->units[i]);
        buf_printf(&b, "%s{\"pid\":%ld,\"db\":", i ? "," : "", s->units[i].pid);
        buf_json_str(&b, s->units[i].db);
        buf_printf(&b, ",\"summary_seen\":%s,", s->units[i].has_summary ? "true" : "false");
        json_counts(&b, &a);
        buf_add(&b, "}");
        agg_free(&a);
    }
    buf_add(&b, "],\"notes\":[");
    for (int i = 0; i < s->nnotes; i++) {
        buf_printf(&b, "%s{\"pid\":%ld,\"event\":", i ? "," : "", s->notes[i].pid);
        buf_json_str(&b, s->notes[i].event);
        buf_add(&b, ",\"text\":");
        buf_json_str(&b, s->notes[i].text);
        buf_printf(&b, ",\"count\":%ld}", s->notes[i].count);
    }
    buf_printf(&b, "],\"queue_skipped\":%ld,\"unknown_events\":", s->queue_skipped);
    json_tally(&b, &s->unknown_events);
    buf_add(&b, "}\n");
    fputs(b.p, stdout);
    buf_free(&b);
    agg_free(&total);
}

/* One database's figures, one line per kind of intervention. */
static void print_agg(const struct agg *a)
{
    printf("  busy timeout raised   %ld at open, %ld of the program's own settings\n",
           a->timeout_at_open, a->count[EV_TIMEOUT_RAISED]);
    printf("  BEGIN rewritten       %ld (to BEGIN IMMEDIATE)\n", a->count[EV_BEGIN_REWRITTEN]);
    printf("  retries               %ld; statements that then succeeded: %ld, gave up: %ld\n",
           a->count[EV_RETRY], a->count[EV_RETRY_OK], a->count[EV_GAVE_UP]);
    struct waits w = a->waits;
    sort_n(w.v, (size_t)w.n, sizeof *w.v, cmp_long);
    if (w.n > 0)
        printf("  waits (ms)            median %ld, p99 %ld, max %ld (%d retried statements "
               "logged)\n",
               percentile(&w, 50), percentile(&w, 99), w.v[w.n - 1], w.n);
    else
        printf("  waits (ms)            none logged\n");
    for (int i = 0; i < a->gave_up_codes.n; i++)
        printf("  gave up: %-12s %ld\n", a->gave_up_codes.key[i], a->gave_up_codes.count[i]);
    struct waits q = a->queue_waits;
    sort_n(q.v, (size_t)q.n, sizeof *q.v, cmp_long);
    if (q.n > 0)
        printf("  writer queue          %d waits logged (those >= LOCKFIX_QUEUE_LOG_MS): median "
               "%ld ms, max %ld ms; %ld fell back to SQLite's locking\n",
               q.n, percentile(&q, 50), q.v[q.n - 1], a->queue_no_turn);
    if (a->long_turns > 0) {
        printf("  long turns            %ld held >= LOCKFIX_LONG_TURN_MS while others waited "
               "(longest seen %ld ms); held by:\n", a->long_turns, a->long_turn_max_ms);
        for (int i = 0; i < a->long_turn_holders.n; i++)
            printf("    %s: %ld\n", a->long_turn_holders.key[i], a->long_turn_holders.count[i]);
    }
    printf("  WAL                   switched %ld, skipped %ld, failed %ld\n", a->wal_switched,
           a->wal_skipped, a->wal_failed);
    for (int i = 0; i < a->wal_reasons.n; i++)
        printf("    skipped: %s (%ld)\n", a->wal_reasons.key[i], a->wal_reasons.count[i]);
    if (a->handler_kept)
        printf("  own busy handler kept %ld (the program installed one; the timeout floor "
               "did not apply)\n",
               a->handler_kept);
    if (a->dry_run)
        printf("  dry run               %ld events logged with dry_run=1: nothing was changed\n",
               a->dry_run);
}

/* Per database, then per process, then messages that belong to no database. */
static void print_human(struct stats *s)
{
    long pids = count_pids(s);
    printf("lockfix stats: %ld lines, %ld from lockfix, %ld process%s, %ld unrecognised\n",
           s->lines, s->matched, pids, pids == 1 ? "" : "es", s->unrecognised);
    if (s->nunits == 0)
        printf("no per-database events found.\n");
    for (int i = 0; i < s->nunits;) {
        struct agg a;
        int j = agg_database(s, i, &a);
        printf("\ndatabase %s (%ld process%s)\n", s->units[i].db, a.processes,
               a.processes == 1 ? "" : "es");
        print_agg(&a);
        agg_free(&a);
        i = j;
    }
    if (s->nunits > 0) {
        printf("\nper process:\n  %-8s %-9s %-8s %-8s %-8s %-9s %s\n", "pid", "rewrites",
               "retries", "ok", "gave-up", "max-wait", "database");
        for (int i = 0; i < s->nunits; i++) {
            const struct unit *u = &s->units[i];
            long mx = -1;
            for (int k = 0; k < u->waits.n; k++)
                mx = u->waits.v[k] > mx ? u->waits.v[k] : mx;
            char mw[24];
            if (mx < 0)
                snprintf(mw, sizeof mw, "-");
            else
                snprintf(mw, sizeof mw, "%ld", mx);
            printf("  %-8ld %-9ld %-8ld %-8ld %-8ld %-9s %s\n", u->pid,
                   unit_count(u, EV_BEGIN_REWRITTEN), unit_count(u, EV_RETRY),
                   unit_count(u, EV_RETRY_OK), unit_count(u, EV_GAVE_UP), mw, u->db);
        }
    }
    if (s->nnotes > 0) {
        printf("\nother messages:\n");
        for (int i = 0; i < s->nnotes; i++) {
            printf("  pid %ld: %s", s->notes[i].pid, s->notes[i].text);
            if (s->notes[i].count > 1)
                printf(" (x%ld)", s->notes[i].count);
            printf("\n");
        }
    }
    if (s->queue_skipped)
        printf("\nwriter queue: %ld ticket%s skipped (the writer's process was gone or gave up)\n",
               s->queue_skipped, s->queue_skipped == 1 ? "" : "s");
    for (int i = 0; i < s->unknown_events.n; i++)
        printf("%sunknown event %s: %ld\n", i ? "" : "\n", s->unknown_events.key[i],
               s->unknown_events.count[i]);
}

/* Entry point: read every LOG (or stdin), then summarise. */
int cmd_stats(int argc, char **argv)
{
    struct stats s;
    memset(&s, 0, sizeof s);
    int json = 0, files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage_stats(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            warnx_("stats: unknown option '%s' (lockfix stats --help)", argv[i]);
            return EXIT_USAGE;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            continue;
        files++;
        FILE *in = strcmp(a, "-") == 0 ? stdin : fopen(a, "r");
        if (in == NULL) {
            warnx_("stats: %s: %s", a, strerror(errno));
            failed = 1;
            continue;
        }
        if (read_log(&s, in) != 0) {
            warnx_("stats: %s: read error", a);
            failed = 1;
        }
        if (in != stdin)
            fclose(in);
    }
    if (files == 0 && read_log(&s, stdin) != 0) {
        warnx_("stats: stdin: read error");
        failed = 1;
    }
    if (failed)
        return EXIT_USAGE;
    sort_n(s.units, (size_t)s.nunits, sizeof *s.units, cmp_unit);
    if (json)
        print_json(&s);
    else
        print_human(&s);
    return EXIT_OK;
}

/*
 * libFuzzer target: the log-line parser of `lockfix stats` (cmd/stats.c), and both reports.
 *
 * cmd/stats.c is included whole, so its static parser is reachable. Input: any bytes, cut into
 * lines as the command reads them. Checked: no crash, no overflow, no leak of a parsed record
 * (the stats are freed after each input); the reports are written to /dev/null.
 */
#include "../../cmd/stats.c"

#include <stdint.h>

static void tally_free(struct tally *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->key[i]);
    free(t->key);
    free(t->count);
}

static void stats_free(struct stats *s)
{
    for (int i = 0; i < s->nunits; i++) {
        struct unit *u = &s->units[i];
        free(u->db);
        free(u->waits.v);
        free(u->queue_waits.v);
        tally_free(&u->wal_reasons);
        tally_free(&u->gave_up_codes);
        tally_free(&u->long_turn_holders);
    }
    free(s->units);
    for (int i = 0; i < s->nnotes; i++) {
        free(s->notes[i].event);
        free(s->notes[i].text);
    }
    free(s->notes);
    tally_free(&s->unknown_events);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (freopen("/dev/null", "w", stdout) == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct stats s;
    memset(&s, 0, sizeof s);
    for (char *line = text, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        parse_line(&s, line);
    }
    sort_n(s.units, (size_t)s.nunits, sizeof *s.units, cmp_unit);
    print_json(&s);
    print_human(&s);
    stats_free(&s);
    free(text);
    return 0;
}

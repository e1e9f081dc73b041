/*
** rewrite.c: statement classification and the BEGIN / PRAGMA busy_timeout rewrite, for UTF-8
** and native UTF-16 texts, with the tail mapped back into the caller's text.
**
** Each case gives the caller's text, the rewritten text lockfix must hand to SQLite (or NULL:
** unchanged), the kind, and what follows the tail: SQLite puts pzTail just past the first
** statement's ';', or at the end of the text. Every case runs in both widths, with the text
** exactly n units long and followed by garbage that must never be read.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"
#include "rewrite_cases.h"
#include "utf16.h"

/* A printable form of a UTF-16 text, for messages (non-ASCII as '?'). */
static const char *show16(const unsigned short *u, size_t n)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    size_t i = 0;
    for (; i < n && i + 1 < sizeof buf[0]; i++)
        b[i] = u[i] < 0x80 ? (char)u[i] : '?';
    b[i] = '\0';
    return b;
}

/* ---- running one case ------------------------------------------------------------------- */

static const char GARBAGE[] = "x' \" [ ` /* TRANSACTION foo; BEGIN";

/* Runs the case in one width; the caller's text is followed by GARBAGE in the same buffer. */
static void check_case(const struct rcase *c, int wide)
{
    char what[600];
    snprintf(what, sizeof what, "[%s] \"%s\"", wide ? "utf16" : "utf8", c->in);
    static unsigned short buf16[8192], out16[8192];
    static char buf8[8192];
    size_t in_len = strlen(c->in);
    struct lf_text t;
    size_t n_in, n_out = 0, n_rest;
    if (wide) {
        n_in = to16(c->in, in_len, buf16);
        to16(GARBAGE, sizeof GARBAGE, buf16 + n_in);
        t = (struct lf_text){buf16, n_in, 1};
        if (c->out)
            n_out = to16(c->out, strlen(c->out), out16);
        n_rest = units16(c->rest);
    } else {
        n_in = in_len;
        memcpy(buf8, c->in, in_len);
        memcpy(buf8 + in_len, GARBAGE, sizeof GARBAGE);
        t = (struct lf_text){buf8, n_in, 0};
        if (c->out)
            n_out = strlen(c->out);
        n_rest = strlen(c->rest);
    }
    cr_assert_geq(n_in, n_rest, "%s: bad case", what);
    size_t tail = n_in - n_rest;

    struct lf_rewritten rw;
    memset(&rw, 0x5a, sizeof rw);
    int r = lf_rewrite_first(&t, FLOOR, 1, &rw);
    cr_expect_eq(rw.st.kind, c->kind, "%s: kind %d, want %d", what, rw.st.kind, c->kind);
    cr_expect_eq(rw.st.end, tail, "%s: statement end %zu, want %zu", what, rw.st.end, tail);
    if (c->out == NULL) {
        cr_expect_eq(r, 0, "%s: rewritten although nothing should change", what);
        cr_expect_null(rw.p, "%s", what);
        cr_expect_eq(rw.st.edit_with[0], '\0', "%s: edit \"%s\"", what, rw.st.edit_with);
        lf_rewritten_release(&rw);
        return;
    }
    cr_expect_eq(r, 1, "%s: not rewritten", what);
    if (r != 1)
        return;
    cr_expect_eq(rw.n, n_out, "%s: %zu units, want %zu", what, rw.n, n_out);
    if (wide) {
        const unsigned short *p = rw.p;
        cr_expect(rw.n == n_out && memcmp(p, out16, n_out * 2) == 0, "%s: got \"%s\"", what,
                  show16(p, rw.n));
        cr_expect_eq(p[rw.n], 0, "%s: not NUL-terminated", what);
    } else {
        const char *p = rw.p;
        cr_expect(rw.n == n_out && memcmp(p, c->out, n_out) == 0, "%s: got \"%.*s\"", what,
                  (int)rw.n, p);
        cr_expect_eq(p[rw.n], '\0', "%s: not NUL-terminated", what);
    }
    /* SQLite's tail on the rewritten text is its end: mapped back, the caller's tail */
    cr_expect_eq(lf_rewrite_map_back(&rw, rw.n), tail, "%s: tail maps to %zu, want %zu", what,
                 lf_rewrite_map_back(&rw, rw.n), tail);
    /* the edit lies inside the first statement */
    cr_expect(rw.st.start <= rw.st.edit_at && rw.st.edit_at + rw.st.edit_len <= rw.st.end,
              "%s: edit [%zu,+%zu) outside statement [%zu,%zu)", what, rw.st.edit_at,
              rw.st.edit_len, rw.st.start, rw.st.end);
    /* rewriting the rewritten text changes nothing more (an inner prepare under exec) */
    struct lf_text again = {rw.p, rw.n, wide};
    struct lf_rewritten rw2;
    cr_expect_eq(lf_rewrite_first(&again, FLOOR, 1, &rw2), 0, "%s: rewritten twice", what);
    lf_rewritten_release(&rw2);
    lf_rewritten_release(&rw);
}

Test(rewrite_first, cases_utf8)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], 0);
}

Test(rewrite_first, cases_utf16)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], 1);
}

/* Each text in a heap block of exactly n units, no terminator: under -fsanitize=address any
** read past n (the caller's nByte) is caught. Results as with the terminated copies. */
Test(rewrite_first, reads_nothing_past_n)
{
    static unsigned short u[8192];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int wide = 0; wide <= 1; wide++) {
            size_t n = wide ? to16(cases[i].in, strlen(cases[i].in), u) : strlen(cases[i].in);
            size_t bytes = n * (wide ? 2 : 1);
            void *p = malloc(bytes ? bytes : 1);
            cr_assert_not_null(p);
            memcpy(p, wide ? (const void *)u : (const void *)cases[i].in, bytes);
            struct lf_text t = {p, n, wide};
            struct lf_rewritten rw;
            int r = lf_rewrite_first(&t, FLOOR, 1, &rw);
            cr_expect_eq(r, cases[i].out != NULL, "\"%s\"", cases[i].in);
            cr_expect_eq(rw.st.kind, cases[i].kind, "\"%s\"", cases[i].in);
            lf_rewritten_release(&rw);
            if (!wide) {
                char *copy = malloc(n + 1);
                memcpy(copy, p, n);
                copy[n] = '\0'; /* lf_rewrite_all takes a C string */
                int nb, nt, ns, oom;
                enum lf_stmt_kind fk;
                free(lf_rewrite_all(copy, FLOOR, 1, &nb, &nt, &ns, &fk, &oom));
                free(copy);
            }
            free(p);
        }
}

/* Tail offsets count units: characters outside the BMP take two UTF-16 units, and several
** UTF-8 bytes. */
Test(rewrite_first, tail_counts_units_in_both_widths)
{
    const char *in = "/* \xf0\x9f\x98\x80 \xc3\xa9 */ BEGIN TRANSACTION \xe2\x82\xac; SELECT '\xf0\x9f\x98\x80'";
    unsigned short u[256];
    size_t n16 = to16(in, strlen(in), u);
    size_t end8 = (size_t)(strchr(in, ';') - in) + 1;
    size_t end16 = 0;
    while (u[end16] != ';')
        end16++;
    end16++;
    struct lf_text t8 = {in, strlen(in), 0}, t16 = {u, n16, 1};
    struct lf_rewritten a, b;
    cr_assert_eq(lf_rewrite_first(&t8, FLOOR, 1, &a), 1);
    cr_assert_eq(lf_rewrite_first(&t16, FLOOR, 1, &b), 1);
    cr_expect_eq(lf_rewrite_map_back(&a, a.n), end8);
    cr_expect_eq(lf_rewrite_map_back(&b, b.n), end16);
    cr_expect_eq(end8 - end16, 2 + 1 + 2); /* 😀: 4 bytes, 2 units; é: 2/1; €: 3/1 */
    lf_rewritten_release(&a);
    lf_rewritten_release(&b);
}

/* UTF-16 units whose low byte is an ASCII letter are not letters. */
Test(rewrite_first, utf16_units_are_compared_whole)
{
    /* "BEGIN" with 'N' replaced by U+014E (low byte 0x4E = 'N') */
    unsigned short u[] = {'B', 'E', 'G', 'I', 0x014E};
    struct lf_text t = {u, 5, 1};
    struct lf_rewritten rw;
    cr_expect_eq(lf_rewrite_first(&t, FLOOR, 1, &rw), 0);
    cr_expect_eq(rw.st.kind, LF_STMT_OTHER);
    /* a space whose low byte is ' ' (U+0120) is an identifier character, not a blank */
    unsigned short v[] = {'B', 'E', 'G', 'I', 'N', 0x0120, 'x'};
    struct lf_text t2 = {v, 7, 1};
    cr_expect_eq(lf_rewrite_first(&t2, FLOOR, 1, &rw), 0);
    cr_expect_eq(rw.st.kind, LF_STMT_OTHER);
}

Test(rewrite_first, switches)
{
    struct lf_rewritten rw;
    struct lf_text b = {"BEGIN", 5, 0}, p = {"PRAGMA busy_timeout=1", 21, 0};
    /* rewrite_begin=0: BEGIN recognised but left alone; the timeout floor still applies */
    cr_expect_eq(lf_rewrite_first(&b, FLOOR, 0, &rw), 0);
    cr_expect_eq(rw.st.kind, LF_STMT_BEGIN_DEFERRED);
    cr_expect_eq(lf_rewrite_first(&p, FLOOR, 0, &rw), 1);
    cr_expect_eq(strcmp(rw.p, "PRAGMA busy_timeout=5000"), 0);
    lf_rewritten_release(&rw);
    /* floor 0: PRAGMA recognised (with its value) but left alone */
    cr_expect_eq(lf_rewrite_first(&p, 0, 1, &rw), 0);
    cr_expect_eq(rw.st.kind, LF_STMT_PRAGMA_TIMEOUT);
    cr_expect_eq(rw.st.value, 1);
    /* the floor's own digits */
    long floors[] = {1, 9, 10, 86400000};
    const char *want[] = {"PRAGMA busy_timeout=1", NULL, "PRAGMA busy_timeout=10",
                          "PRAGMA busy_timeout=86400000"};
    struct lf_text z = {"PRAGMA busy_timeout=0", 21, 0};
    for (int i = 0; i < 4; i++) {
        if (want[i] == NULL)
            continue;
        cr_expect_eq(lf_rewrite_first(&z, floors[i], 1, &rw), 1);
        cr_expect_str_eq((char *)rw.p, want[i]);
        lf_rewritten_release(&rw);
    }
}

/* ---- classify ----------------------------------------------------------------------------- */

Test(classify, pragma_values)
{
    struct {
        const char *sql;
        long long value;
    } v[] = {
        {"PRAGMA busy_timeout=100", 100},   {"PRAGMA busy_timeout(0)", 0},
        {"PRAGMA busy_timeout = -5", -5},   {"PRAGMA busy_timeout=+7", 7},
        {"PRAGMA busy_timeout=10000", 10000}, {"PRAGMA busy_timeout=2147483647", 2147483647},
        {"PRAGMA busy_timeout=007", 7},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct lf_text t = {v[i].sql, strlen(v[i].sql), 0};
        struct lf_stmt st;
        cr_expect_eq(lf_sql_classify(&t, 0, FLOOR, 1, &st), 0);
        cr_expect_eq(st.kind, LF_STMT_PRAGMA_TIMEOUT, "%s", v[i].sql);
        cr_expect_eq(st.value, v[i].value, "%s: %lld", v[i].sql, st.value);
    }
}

/* What SQLite applies is what lockfix compares with the floor (and logs as from=). */
Test(classify, pragma_value_is_what_sqlite_applies)
{
    const char *zero[] = {"PRAGMA busy_timeout=2147483648", "PRAGMA busy_timeout=99999999999",
                          "PRAGMA busy_timeout=123456789012345678901234567890"};
    for (size_t i = 0; i < 3; i++) {
        struct lf_text t = {zero[i], strlen(zero[i]), 0};
        struct lf_stmt st;
        lf_sql_classify(&t, 0, FLOOR, 1, &st);
        cr_expect_eq(st.kind, LF_STMT_PRAGMA_TIMEOUT, "%s", zero[i]);
        cr_expect_eq(st.value, 0, "%s: %lld", zero[i], st.value);
        cr_expect_str_eq(st.edit_with, "5000", "%s", zero[i]);
    }
}

/* Walking a text statement by statement from each one's end visits each statement once. */
Test(classify, walks_statements_from_an_offset)
{
    const char *sql = " BEGIN ; SELECT ';' ; -- x\n COMMIT;PRAGMA busy_timeout(1);;ROLLBACK";
    enum lf_stmt_kind want[] = {LF_STMT_BEGIN_DEFERRED, LF_STMT_OTHER,
                                LF_STMT_COMMIT,         LF_STMT_PRAGMA_TIMEOUT,
                                LF_STMT_EMPTY,          LF_STMT_ROLLBACK};
    struct lf_text t = {sql, strlen(sql), 0};
    size_t pos = 0;
    int k = 0;
    while (pos < t.n) {
        struct lf_stmt st;
        lf_sql_classify(&t, pos, FLOOR, 1, &st);
        cr_assert_lt(k, 6);
        cr_expect_eq(st.kind, want[k], "statement %d at %zu: kind %d", k, pos, st.kind);
        cr_assert_gt(st.end, pos, "no progress at %zu", pos);
        cr_expect(st.start >= pos && st.start < st.end);
        pos = st.end;
        k++;
    }
    cr_expect_eq(k, 6);
    cr_expect_eq(pos, t.n);
}

Test(classify, empty_texts)
{
    struct lf_stmt st;
    struct lf_text t = {"", 0, 0};
    lf_sql_classify(&t, 0, FLOOR, 1, &st);
    cr_expect_eq(st.kind, LF_STMT_EMPTY);
    cr_expect_eq(st.end, 0);
    struct lf_text u = {"  ;x", 4, 0};
    lf_sql_classify(&u, 0, FLOOR, 1, &st);
    cr_expect_eq(st.kind, LF_STMT_EMPTY);
    cr_expect_eq(st.end, 3);
    lf_sql_classify(&u, 4, FLOOR, 1, &st); /* from the very end */
    cr_expect_eq(st.kind, LF_STMT_EMPTY);
    cr_expect_eq(st.end, 4);
}

/* A bare BEGIN followed only by spaces (python's "BEGIN ") is answered without the tokenizer:
** every field must be what the tokenizer gives for the same text with its last space a newline
** (a blank the shortcut does not take), or with a comment appended. */
Test(classify, bare_begin_shortcut_agrees_with_the_tokenizer)
{
    const char *shortcut[] = {"BEGIN ", "begin  ", "BeGiN   ", ";BEGIN ", "x;bEgIn    "};
    for (size_t i = 0; i < sizeof shortcut / sizeof *shortcut; i++) {
        char slow[64];
        size_t n = strlen(shortcut[i]);
        memcpy(slow, shortcut[i], n + 1);
        slow[n - 1] = '\n';
        size_t from = strchr(shortcut[i], ';') ? (size_t)(strchr(shortcut[i], ';') - shortcut[i]) + 1 : 0;
        for (int rewrite = 0; rewrite <= 1; rewrite++) {
            struct lf_text a = {shortcut[i], n, 0}, b = {slow, n, 0};
            struct lf_stmt sa, sb;
            lf_sql_classify(&a, from, FLOOR, rewrite, &sa);
            lf_sql_classify(&b, from, FLOOR, rewrite, &sb);
            cr_expect_eq(sa.kind, LF_STMT_BEGIN_DEFERRED, "%s", shortcut[i]);
            cr_expect_eq(sa.kind, sb.kind, "%s", shortcut[i]);
            cr_expect_eq(sa.start, sb.start, "%s", shortcut[i]);
            cr_expect_eq(sa.end, sb.end, "%s", shortcut[i]);
            cr_expect_eq(sa.edit_at, sb.edit_at, "%s", shortcut[i]);
            cr_expect_eq(sa.edit_len, sb.edit_len, "%s", shortcut[i]);
            cr_expect_str_eq(sa.edit_with, sb.edit_with, "%s", shortcut[i]);
            cr_expect_eq(sa.value, sb.value, "%s", shortcut[i]);
        }
    }
    /* not bare: the tokenizer decides (a word after BEGIN, a tab, a longer word) */
    const char *other[] = {"BEGIN IMMEDIATE", "BEGINS ", "BEGIN\t", "BEGI ", "BEGIN;"};
    enum lf_stmt_kind kind[] = {LF_STMT_BEGIN_IMMEDIATE, LF_STMT_OTHER, LF_STMT_BEGIN_DEFERRED,
                                LF_STMT_OTHER, LF_STMT_BEGIN_DEFERRED};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        struct lf_text t = {other[i], strlen(other[i]), 0};
        struct lf_stmt st;
        lf_sql_classify(&t, 0, FLOOR, 1, &st);
        cr_expect_eq(st.kind, kind[i], "%s: kind %d", other[i], st.kind);
    }
}

/* Python's exact "BEGIN " (and "BEGIN") is rewritten without the tokenizer: the text, its length,
** every field of the statement and the mapping back must be what the tokenizer gives, in both
** switch positions; texts next to it (another case, a tab, a third space, UTF-16) take the
** tokenizer. */
Test(rewrite_first, python_begin_shortcut_agrees_with_the_tokenizer)
{
    const char *texts[] = {"BEGIN ", "BEGIN", "begin ", "BEGIN\t", "BEGIN  ", "BEGIN;", "BEGI",
                           "BEGINS", ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        for (int rewrite = 0; rewrite <= 1; rewrite++) {
            struct lf_text t = {texts[i], strlen(texts[i]), 0};
            struct lf_rewritten a, b;
            int ra = lf_rewrite_first(&t, FLOOR, rewrite, &a);
            int rb = lf_rewrite_first_tokenized(&t, FLOOR, rewrite, &b);
            const char *w = texts[i];
            cr_expect_eq(ra, rb, "[%s] %d", w, rewrite);
            cr_expect_eq(a.n, b.n, "[%s] %d", w, rewrite);
            if (ra == 1 && rb == 1) {
                cr_expect_str_eq((char *)a.p, (char *)b.p, "[%s]", w);
                for (size_t off = 0; off <= a.n; off++)
                    cr_expect_eq(lf_rewrite_map_back(&a, off), lf_rewrite_map_back(&b, off),
                                 "[%s] offset %zu", w, off);
            }
            cr_expect_eq(a.st.kind, b.st.kind, "[%s]", w);
            cr_expect_eq(a.st.start, b.st.start, "[%s]", w);
            cr_expect_eq(a.st.end, b.st.end, "[%s]", w);
            cr_expect_eq(a.st.value, b.st.value, "[%s]", w);
            cr_expect_eq(a.st.edit_at, b.st.edit_at, "[%s]", w);
            cr_expect_eq(a.st.edit_len, b.st.edit_len, "[%s]", w);
            cr_expect_str_eq(a.st.edit_with, b.st.edit_with, "[%s]", w);
            if (ra == 1)
                lf_rewritten_release(&a);
            if (rb == 1)
                lf_rewritten_release(&b);
        }
    }
    /* the exact texts are the ones rewritten: the shortcut is taken, and says so */
    struct lf_text t = {"BEGIN ", 6, 0};
    struct lf_rewritten rw;
    cr_assert_eq(lf_rewrite_first(&t, FLOOR, 1, &rw), 1);
    cr_expect_str_eq((char *)rw.p, "BEGIN IMMEDIATE ");
    cr_expect(rw.p == rw.small);
}

/* ---- map back ----------------------------------------------------------------------------- */

Test(map_back, insertion)
{
    /* "BEGIN;" -> "BEGIN IMMEDIATE;": 10 units inserted at 5 */
    struct lf_text t = {"BEGIN; x", 8, 0};
    struct lf_rewritten rw;
    cr_assert_eq(lf_rewrite_first(&t, FLOOR, 1, &rw), 1);
    cr_expect_eq(rw.st.edit_at, 5);
    cr_expect_eq(rw.st.edit_len, 0);
    for (size_t o = 0; o <= 5; o++)
        cr_expect_eq(lf_rewrite_map_back(&rw, o), o);
    for (size_t o = 6; o < 15; o++) /* inside the inserted text: just after the edit */
        cr_expect_eq(lf_rewrite_map_back(&rw, o), 5);
    cr_expect_eq(lf_rewrite_map_back(&rw, 15), 5);
    cr_expect_eq(lf_rewrite_map_back(&rw, 16), 6);
    lf_rewritten_release(&rw);
}

Test(map_back, replacement)
{
    /* "PRAGMA busy_timeout=-5;" -> "PRAGMA busy_timeout=5000;": "-5" (2) -> "5000" (4) at 20 */
    struct lf_text t = {"PRAGMA busy_timeout=-5;", 23, 0};
    struct lf_rewritten rw;
    cr_assert_eq(lf_rewrite_first(&t, FLOOR, 1, &rw), 1);
    cr_expect_eq(rw.st.edit_at, 20);
    cr_expect_eq(rw.st.edit_len, 2);
    cr_expect_eq(rw.n, 25);
    for (size_t o = 0; o <= 20; o++)
        cr_expect_eq(lf_rewrite_map_back(&rw, o), o);
    for (size_t o = 21; o < 24; o++)
        cr_expect_eq(lf_rewrite_map_back(&rw, o), 22);
    cr_expect_eq(lf_rewrite_map_back(&rw, 24), 22);
    cr_expect_eq(lf_rewrite_map_back(&rw, 25), 23);
    lf_rewritten_release(&rw);
    /* same length: "DEFERRED" -> "IMMEDIATE" is 8 -> 9 */
    struct lf_text d = {"BEGIN DEFERRED;", 15, 0};
    cr_assert_eq(lf_rewrite_first(&d, FLOOR, 1, &rw), 1);
    cr_expect_eq(rw.n, 16);
    cr_expect_eq(lf_rewrite_map_back(&rw, 16), 15);
    cr_expect_eq(lf_rewrite_map_back(&rw, 6), 6);
    cr_expect_eq(lf_rewrite_map_back(&rw, 10), 14);
    lf_rewritten_release(&rw);
}

/* Mapping back is monotonic and stays within the caller's statement, for every offset. */
Test(map_back, monotonic_for_every_case)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].out == NULL)
            continue;
        struct lf_text t = {cases[i].in, strlen(cases[i].in), 0};
        struct lf_rewritten rw;
        cr_assert_eq(lf_rewrite_first(&t, FLOOR, 1, &rw), 1, "%s", cases[i].in);
        size_t prev = 0;
        for (size_t o = 0; o <= rw.n; o++) {
            size_t m = lf_rewrite_map_back(&rw, o);
            cr_expect_geq(m, prev, "%s: offset %zu", cases[i].in, o);
            cr_expect_leq(m, rw.st.end, "%s: offset %zu", cases[i].in, o);
            /* outside the edit, the units are the caller's */
            if (o < rw.st.edit_at || o >= rw.st.edit_at + strlen(rw.st.edit_with))
                if (o < rw.n)
                    cr_expect_eq(((char *)rw.p)[o], cases[i].in[m], "%s: offset %zu",
                                 cases[i].in, o);
            prev = m;
        }
        lf_rewritten_release(&rw);
    }
}

/* ---- rewrite_all (sqlite3_exec) ------------------------------------------------------------ */

struct all_result {
    char *out;
    int nbegin, ntimeout, nstmts, oom;
    enum lf_stmt_kind first;
};

static struct all_result all(const char *sql, long floor, int rb)
{
    struct all_result r;
    r.out = lf_rewrite_all(sql, floor, rb, &r.nbegin, &r.ntimeout, &r.nstmts, &r.first, &r.oom);
    return r;
}

Test(rewrite_all, every_statement)
{
    struct all_result r = all("BEGIN; UPDATE t SET a='BEGIN'; COMMIT; begin deferred;", FLOOR, 1);
    cr_assert_not_null(r.out);
    cr_expect_str_eq(r.out, "BEGIN IMMEDIATE; UPDATE t SET a='BEGIN'; COMMIT; begin IMMEDIATE;");
    cr_expect_eq(r.nbegin, 2);
    cr_expect_eq(r.ntimeout, 0);
    cr_expect_eq(r.nstmts, 4);
    cr_expect_eq(r.first, LF_STMT_BEGIN_DEFERRED);
    cr_expect_eq(r.oom, 0);
    free(r.out);
}

Test(rewrite_all, begins_and_pragmas)
{
    struct all_result r = all("PRAGMA busy_timeout=10; ; BEGIN TRANSACTION; PRAGMA busy_timeout"
                              "=20000;PRAGMA main.busy_timeout(-1);begin immediate;commit",
                              FLOOR, 1);
    cr_assert_not_null(r.out);
    cr_expect_str_eq(r.out, "PRAGMA busy_timeout=5000; ; BEGIN IMMEDIATE TRANSACTION; PRAGMA "
                            "busy_timeout=20000;PRAGMA main.busy_timeout(5000);begin immediate;"
                            "commit");
    cr_expect_eq(r.nbegin, 1);
    cr_expect_eq(r.ntimeout, 2);
    cr_expect_eq(r.nstmts, 6);
    cr_expect_eq(r.first, LF_STMT_PRAGMA_TIMEOUT);
    free(r.out);
}

Test(rewrite_all, nothing_to_change)
{
    struct all_result r = all("SELECT 'BEGIN'; /* BEGIN */ COMMIT; BEGIN IMMEDIATE", FLOOR, 1);
    cr_expect_null(r.out);
    cr_expect_eq(r.nbegin + r.ntimeout, 0);
    cr_expect_eq(r.nstmts, 3);
    cr_expect_eq(r.first, LF_STMT_OTHER);
    cr_expect_eq(r.oom, 0);
    r = all("", FLOOR, 1);
    cr_expect_null(r.out);
    cr_expect_eq(r.nstmts, 0);
    cr_expect_eq(r.first, LF_STMT_EMPTY);
    r = all(" ;; -- x", FLOOR, 1);
    cr_expect_null(r.out);
    cr_expect_eq(r.nstmts, 0);
    r = all("BEGIN; PRAGMA busy_timeout=1", FLOOR, 0); /* BEGIN off, PRAGMA still raised */
    cr_expect_str_eq(r.out, "BEGIN; PRAGMA busy_timeout=5000");
    cr_expect_eq(r.nbegin, 0);
    cr_expect_eq(r.ntimeout, 1);
    cr_expect_eq(r.first, LF_STMT_BEGIN_DEFERRED);
    free(r.out);
    r = all("BEGIN; PRAGMA busy_timeout=1", 0, 0);
    cr_expect_null(r.out);
    cr_expect_eq(r.nstmts, 2);
}

/* A trigger is one statement, however many ';' its body holds. */
Test(rewrite_all, trigger_is_one_statement)
{
    struct all_result r =
        all("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a=1; DELETE FROM u; END;",
            FLOOR, 1);
    cr_expect_null(r.out);
    cr_expect_eq(r.nstmts, 1);
    r = all("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a=1; END; BEGIN;", FLOOR, 1);
    cr_expect_str_eq(r.out, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a=1; END; "
                            "BEGIN IMMEDIATE;");
    cr_expect_eq(r.nstmts, 2);
    cr_expect_eq(r.nbegin, 1);
    free(r.out);
}

/* A malformed statement ends at its own ';': the statements after it are still seen. */
Test(rewrite_all, malformed_pragma_does_not_swallow_the_next_statement)
{
    struct all_result r = all("PRAGMA busy_timeout=;BEGIN;", FLOOR, 1);
    cr_expect_str_eq(r.out, "PRAGMA busy_timeout=;BEGIN IMMEDIATE;");
    cr_expect_eq(r.nstmts, 2);
    cr_expect_eq(r.nbegin, 1);
    free(r.out);
}

/* Under sqlite3_exec the shim rewrites the whole text, then SQLite prepares each statement of
** it through the hooked prepare: that second look must change nothing (exactly once). */
Test(rewrite_all, exactly_once_under_exec_reentry)
{
    const char *texts[] = {
        "BEGIN; UPDATE t SET a='BEGIN'; COMMIT; begin deferred;",
        "PRAGMA busy_timeout=0;BEGIN TRANSACTION x;END",
        ";;BEGIN;;PRAGMA main.busy_timeout(-1);BEGIN DEFERRED TRANSACTION;",
    };
    for (size_t i = 0; i < 3; i++) {
        struct all_result r = all(texts[i], FLOOR, 1);
        cr_assert_not_null(r.out, "%s", texts[i]);
        struct all_result again = all(r.out, FLOOR, 1);
        cr_expect_null(again.out, "%s: rewritten twice to %s", texts[i], again.out);
        cr_expect_eq(again.nstmts, r.nstmts);
        /* each statement, as the inner prepare sees it (from its start to the text's end) */
        struct lf_text t = {r.out, strlen(r.out), 0};
        for (size_t pos = 0; pos < t.n;) {
            struct lf_text rest = {r.out + pos, t.n - pos, 0};
            struct lf_rewritten rw;
            cr_expect_eq(lf_rewrite_first(&rest, FLOOR, 1, &rw), 0, "%s at %zu", r.out, pos);
            cr_assert_gt(rw.st.end, 0);
            pos += rw.st.end;
        }
        free(r.out);
    }
}

/* rewrite_all and rewrite_first agree on the first statement. */
Test(rewrite_all, agrees_with_rewrite_first)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lf_text t = {cases[i].in, strlen(cases[i].in), 0};
        struct lf_rewritten rw;
        int r = lf_rewrite_first(&t, FLOOR, 1, &rw);
        struct all_result a = all(cases[i].in, FLOOR, 1);
        if (r == 1) {
            cr_expect_not_null(a.out, "%s", cases[i].in);
            if (a.out)
                cr_expect_eq(strncmp(a.out, rw.p, rw.n), 0, "%s: %s vs %s", cases[i].in, a.out,
                             (char *)rw.p);
            lf_rewritten_release(&rw);
        } else if (a.out) {
            /* unchanged first statement: the rewritten text starts with it verbatim */
            cr_expect_eq(strncmp(a.out, cases[i].in, rw.st.end), 0, "%s", cases[i].in);
        }
        if (rw.st.kind != LF_STMT_EMPTY)
            cr_expect_eq(a.first, rw.st.kind, "%s", cases[i].in);
        free(a.out);
    }
}

/* ---- generated texts: invariants in both widths ------------------------------------------- */

static const char *pieces[] = {
    "BEGIN", "begin", "DEFERRED", "IMMEDIATE", "TRANSACTION", "COMMIT", "END", "ROLLBACK", "TO",
    "PRAGMA", "busy_timeout", "main", ".", "=", "(", ")", "-", "+", "0", "100", "99999999999",
    "x", ";", ";", " ", " ", "\n", "--", "/*", "*/", "'", "\"", "`", "[", "]", "\xc3\xa9",
    "CREATE", "TRIGGER", "TEMP", "1.5", "$",
};

Test(generated, invariants_hold_in_both_widths)
{
    unsigned seed = 4242;
    static unsigned short u[4096];
    for (int iter = 0; iter < 40000; iter++) {
        char sql[1024] = "";
        int npieces = 1 + rand_r(&seed) % 12;
        for (int k = 0; k < npieces; k++) {
            strcat(sql, pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])]);
            if (rand_r(&seed) % 3 == 0)
                strcat(sql, " ");
        }
        size_t n8 = strlen(sql), n16 = to16(sql, n8, u);
        struct lf_text t8 = {sql, n8, 0}, t16 = {u, n16, 1};
        struct lf_rewritten a, b;
        int ra = lf_rewrite_first(&t8, FLOOR, 1, &a);
        int rb = lf_rewrite_first(&t16, FLOOR, 1, &b);
        cr_assert_eq(ra, rb, "\"%s\": utf8 %d utf16 %d", sql, ra, rb);
        cr_assert_eq(a.st.kind, b.st.kind, "\"%s\"", sql);
        cr_assert_leq(a.st.end, n8, "\"%s\"", sql);
        /* same statement end, counted in each width's units */
        cr_assert_eq(to16(sql, a.st.end, u + 2048), b.st.end, "\"%s\"", sql);
        if (ra == 1) {
            cr_assert(a.st.kind == LF_STMT_BEGIN_DEFERRED || a.st.kind == LF_STMT_PRAGMA_TIMEOUT,
                      "\"%s\": edit on kind %d", sql, a.st.kind);
            cr_assert_eq(lf_rewrite_map_back(&a, a.n), a.st.end, "\"%s\"", sql);
            cr_assert_eq(lf_rewrite_map_back(&b, b.n), b.st.end, "\"%s\"", sql);
            struct lf_text again = {a.p, a.n, 0};
            struct lf_rewritten c;
            cr_assert_eq(lf_rewrite_first(&again, FLOOR, 1, &c), 0, "\"%s\" -> \"%s\"", sql,
                         (char *)a.p);
            /* the rewritten texts are the same text in both widths */
            static unsigned short w[4096];
            size_t nw = to16(a.p, a.n, w);
            cr_assert(nw == b.n && memcmp(w, b.p, nw * 2) == 0, "\"%s\"", sql);
            lf_rewritten_release(&a);
            lf_rewritten_release(&b);
        }
        /* exec: every statement visited, each counted once, and rewriting is exactly-once */
        struct all_result r = all(sql, FLOOR, 1);
        cr_assert_eq(r.oom, 0);
        if (r.out) {
            struct all_result again = all(r.out, FLOOR, 1);
            cr_assert_null(again.out, "\"%s\" -> \"%s\" -> \"%s\"", sql, r.out, again.out);
            cr_assert_eq(again.nstmts, r.nstmts, "\"%s\" -> \"%s\"", sql, r.out);
            cr_assert_gt(r.nbegin + r.ntimeout, 0, "\"%s\"", sql);
            cr_assert_leq(r.nbegin + r.ntimeout, r.nstmts, "\"%s\"", sql);
            free(r.out);
        }
    }
}

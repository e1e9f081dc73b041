/*
** Cross-check of rewrite.c against the real SQLite (this binary alone links -lsqlite3; it is
** built and run by `make unit-sqlite`, part of `make test`).
**
** For every text of the shared corpus, every prepare variant (v1/v2/v3, UTF-8 and native
** UTF-16) and every way of passing the length (nByte < 0; exact, with garbage after it; counting
** the NUL terminator; past an embedded NUL), the shim's pipeline is replayed: the length SQLite
** reads, lf_rewrite_first, the real prepare of the rewritten text, and lf_rewrite_map_back of the
** tail SQLite computed there. The tail must be exactly where SQLite puts it when it prepares the
** caller's original text, and the rewritten statement must compile when the original does and
** really be BEGIN IMMEDIATE (sqlite3_stmt_readonly() is 0 for it, 1 for a deferred BEGIN) or
** really set busy_timeout to the floor. Generated texts then check the classifier against what
** SQLite does: the statement end equals SQLite's tail, and no deferred BEGIN goes unrewritten.
*/
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "rewrite.h"
#include "rewrite_cases.h"
#include "utf16.h"

static sqlite3 *db;

static void open_db(void)
{
    cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t(a); CREATE TABLE u(a);", NULL, NULL, NULL),
                 SQLITE_OK);
}

static void close_db(void)
{
    sqlite3_close_v2(db);
}

static int busy_timeout_now(void)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void back_to_autocommit(void)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- one prepare, by variant ------------------------------------------------------------- */

enum { V1, V2, V3, V3_PERSISTENT, NVERSIONS };
static const char *version_name[] = {"v1", "v2", "v3", "v3(persistent)"};

static int real_prepare(int wide, int version, const void *sql, int nbyte, sqlite3_stmt **st,
                        const void **tail)
{
    *st = NULL;
    if (wide) {
        switch (version) {
        case V1:
            return sqlite3_prepare16(db, sql, nbyte, st, tail);
        case V2:
            return sqlite3_prepare16_v2(db, sql, nbyte, st, tail);
        case V3:
            return sqlite3_prepare16_v3(db, sql, nbyte, 0, st, tail);
        default:
            return sqlite3_prepare16_v3(db, sql, nbyte, SQLITE_PREPARE_PERSISTENT, st, tail);
        }
    }
    const char **t8 = (const char **)tail;
    switch (version) {
    case V1:
        return sqlite3_prepare(db, sql, nbyte, st, t8);
    case V2:
        return sqlite3_prepare_v2(db, sql, nbyte, st, t8);
    case V3:
        return sqlite3_prepare_v3(db, sql, nbyte, 0, st, t8);
    default:
        return sqlite3_prepare_v3(db, sql, nbyte, SQLITE_PREPARE_PERSISTENT, st, t8);
    }
}

/* Units in the caller's text as the shim counts them (a copy of stmt.c's text_units): up to
** nByte bytes, stopping at a NUL unit. */
/* ---- the replay ---------------------------------------------------------------------------- */

struct outcome {
    int rc_orig, rc_shim, rewritten;
    size_t tail_orig, tail_shim; /* in units from the caller's text start */
    int readonly_orig, readonly_shim;
    struct lf_stmt st;
    int wide;
    unsigned first_unit;
};

/* Prepare the caller's text directly, and as the shim would: both tails in units. */
static struct outcome replay(int wide, int version, const void *sql, int nbyte, const char *what)
{
    struct outcome o = {0};
    size_t w = wide ? 2 : 1;
    o.wide = wide;
    o.first_unit = wide ? ((const unsigned short *)sql)[0] : ((const unsigned char *)sql)[0];
    sqlite3_stmt *s0, *s1;
    const void *tail0 = NULL, *tail1 = NULL;

    o.rc_orig = real_prepare(wide, version, sql, nbyte, &s0, &tail0);
    cr_assert_not_null(tail0, "%s: SQLite set no tail", what);
    o.tail_orig = (size_t)((const char *)tail0 - (const char *)sql) / w;
    o.readonly_orig = s0 ? sqlite3_stmt_readonly(s0) : -1;

    struct lf_text text = {sql, lf_text_units(sql, nbyte, wide), wide};
    struct lf_rewritten rw;
    int r = lf_rewrite_first(&text, FLOOR, 1, &rw);
    cr_assert_neq(r, -1, "%s: out of memory", what);
    o.rewritten = r == 1;
    o.st = rw.st;
    if (r == 1) {
        /* SQLite applies PRAGMA busy_timeout while compiling it: reset before the prepare */
        sqlite3_busy_timeout(db, 1);
        o.rc_shim = real_prepare(wide, version, rw.p, (int)(rw.n * w), &s1, &tail1);
        size_t off = tail1 ? (size_t)((const char *)tail1 - (const char *)rw.p) / w : rw.n;
        o.tail_shim = lf_rewrite_map_back(&rw, off);
        o.readonly_shim = s1 ? sqlite3_stmt_readonly(s1) : -1;
        if (s1 && o.st.kind == LF_STMT_PRAGMA_TIMEOUT) {
            sqlite3_step(s1);
            cr_expect_eq(busy_timeout_now(), FLOOR, "%s: rewritten PRAGMA sets %d", what,
                         busy_timeout_now());
        }
        if (s1 && o.st.kind == LF_STMT_BEGIN_DEFERRED) {
            cr_expect_eq(sqlite3_step(s1), SQLITE_DONE, "%s", what);
            cr_expect_eq(sqlite3_get_autocommit(db), 0, "%s: rewritten BEGIN began nothing", what);
            back_to_autocommit();
        }
        sqlite3_finalize(s1);
        lf_rewritten_release(&rw);
    } else {
        o.rc_shim = o.rc_orig;
        o.tail_shim = o.tail_orig;
        o.readonly_shim = o.readonly_orig;
    }
    sqlite3_finalize(s0);
    return o;
}

/* SQLite drops a leading U+FEFF when it converts a UTF-16 text, then counts the tail's
** characters from the converted text but applies the count to the original: the tail it
** returns is one unit early (for "\uFEFFBEGIN" it points at the 'N'). The shim's tail is the
** same when it falls after the edit; when SQLite's early tail falls inside the inserted
** " IMMEDIATE", map_back gives the true end instead, one unit later. */
static int sqlite_tail_skewed(const struct outcome *o)
{
    return o->wide && o->first_unit == 0xFEFF;
}

static void check_outcome(const struct outcome *o, const char *what)
{
    cr_expect_eq(o->rc_shim == SQLITE_OK, o->rc_orig == SQLITE_OK,
                 "%s: original rc %d, rewritten rc %d", what, o->rc_orig, o->rc_shim);
    if (o->rc_orig != SQLITE_OK)
        return;
    if (sqlite_tail_skewed(o)) /* SQLite's one-unit-early tail, or the true end of the text */
        cr_expect(o->tail_shim == o->tail_orig || o->tail_shim == o->tail_orig + 1,
                  "%s: tail at %zu, SQLite puts it at %zu", what, o->tail_shim, o->tail_orig);
    else
        cr_expect_eq(o->tail_shim, o->tail_orig, "%s: tail at %zu, SQLite puts it at %zu", what,
                     o->tail_shim, o->tail_orig);
    /* the classifier's statement end is SQLite's tail, for every kind */
    if (!sqlite_tail_skewed(o))
        cr_expect_eq(o->st.end, o->tail_orig, "%s: statement end %zu, SQLite's tail %zu", what,
                 o->st.end, o->tail_orig);
    if (o->rewritten && o->st.kind == LF_STMT_BEGIN_DEFERRED) {
        cr_expect_eq(o->readonly_orig, 1, "%s: the original is not a deferred BEGIN", what);
        cr_expect_eq(o->readonly_shim, 0, "%s: the rewritten BEGIN is not IMMEDIATE", what);
    }
}

/* How a case's text is laid out in memory and passed. */
enum layout { NEG, EXACT_GARBAGE, WITH_NUL, PAST_NUL, NLAYOUTS };
static const char *layout_name[] = {"nByte<0", "nByte=len,garbage after", "nByte=len+NUL",
                                    "nByte past NUL"};
static const char GARBAGE[] = "x' \" [ ` /* TRANSACTION foo; BEGIN";

static void run_text(const char *in, int wide, int version, enum layout lay)
{
    static char buf8[8192];
    static unsigned short buf16[8192];
    char what[700];
    snprintf(what, sizeof what, "[%s %s %s] \"%s\"", wide ? "utf16" : "utf8",
             version_name[version], layout_name[lay], in);
    size_t len = strlen(in), n, w = wide ? 2 : 1;
    void *buf = wide ? (void *)buf16 : (void *)buf8;
    if (wide) {
        n = to16(in, len, buf16);
        buf16[n] = 0;
        to16(GARBAGE, sizeof GARBAGE - 1, buf16 + n + 1);
    } else {
        n = len;
        memcpy(buf8, in, len);
        buf8[n] = '\0';
        memcpy(buf8 + n + 1, GARBAGE, sizeof GARBAGE);
    }
    int nbyte = -1;
    switch (lay) {
    case NEG:
        nbyte = -1;
        break;
    case EXACT_GARBAGE: /* no terminator at all: garbage right after the text */
        if (wide)
            to16(GARBAGE, sizeof GARBAGE - 1, buf16 + n);
        else
            memcpy(buf8 + n, GARBAGE, sizeof GARBAGE - 1);
        nbyte = (int)(n * w);
        break;
    case WITH_NUL:
        nbyte = (int)((n + 1) * w);
        break;
    case PAST_NUL:
        nbyte = (int)((n + 1 + 6) * w);
        break;
    default:
        break;
    }
    struct outcome o = replay(wide, version, buf, nbyte, what);
    check_outcome(&o, what);
}

TestSuite(sqlite_cross, .init = open_db, .fini = close_db);

Test(sqlite_cross, corpus_every_variant_and_length)
{
    int runs = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int wide = 0; wide <= 1; wide++)
            for (int v = 0; v < NVERSIONS; v++)
                for (int lay = 0; lay < NLAYOUTS; lay++) {
                    run_text(cases[i].in, wide, v, (enum layout)lay);
                    runs++;
                }
    cr_log_info("%d prepares replayed", runs);
}

/* The corpus's expected results agree with SQLite: what the tests of test_rewrite.c assume
** about where SQLite ends a statement holds for the SQLite on this machine. */
Test(sqlite_cross, corpus_expected_tails_are_sqlites)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqlite3_stmt *st;
        const char *tail;
        int rc = sqlite3_prepare_v2(db, cases[i].in, -1, &st, &tail);
        if (rc == SQLITE_OK)
            cr_expect_str_eq(tail, cases[i].rest, "\"%s\"", cases[i].in);
        sqlite3_finalize(st);
    }
}

/* ---- generated texts ----------------------------------------------------------------------- */

static const char *pieces[] = {
    "BEGIN", "begin", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "TRANSACTION", "COMMIT", "END",
    "ROLLBACK", "TO", "PRAGMA", "busy_timeout", "main", ".", "=", "(", ")", "-", "0", "100",
    "x", ";", ";", " ", " ", "\n", "-- c\n", "/* c */", "'s'", "\"q\"", "[b]", "`g`", "SELECT",
    "1", ",", "\xc3\xa9", "\xef\xbb\xbf", "CREATE", "TRIGGER", "ON", "t", "AFTER", "INSERT", "SAVEPOINT",
};

static void gen(char *sql, size_t cap, unsigned *seed, int npieces)
{
    sql[0] = '\0';
    for (int k = 0; k < npieces; k++) {
        const char *p = pieces[rand_r(seed) % (sizeof pieces / sizeof pieces[0])];
        if (strlen(sql) + strlen(p) + 2 >= cap)
            break;
        strcat(sql, p);
        if (rand_r(seed) % 2)
            strcat(sql, " ");
    }
}

/* Whether the first statement's first word (after blanks, comments and empty statements) is
** `kw`. SAVEPOINT outside a transaction opens a deferred transaction too, but it is not a form
** lockfix can rewrite (RELEASE would not end a transaction opened by BEGIN): it must be
** recognised as a SAVEPOINT (it takes the queue's turn) and left as it is. */
static int first_word_is(const char *s, const char *kw)
{
    for (;;) {
        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r' || *s == '\f' || *s == ';')
            s++;
        if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else {
            break;
        }
    }
    size_t n = strlen(kw);
    return strncasecmp(s, kw, n) == 0 && !(isalnum((unsigned char)s[n]) || s[n] == '_' ||
                                           s[n] == '$' || (unsigned char)s[n] >= 0x80);
}

/*
** One text against SQLite: the replay (UTF-8, or UTF-16 when `wide`) must agree; then, when the
** original compiles and is read-only (running it changes nothing), run it: if it left a
** transaction open it was a deferred BEGIN, which lockfix must have rewritten. Returns -1 when
** the original does not compile, 1 when it ran as a deferred BEGIN, else 0.
*/
static int cross_check(const char *sql, int wide, const char *kind)
{
    char what[700];
    snprintf(what, sizeof what, "[%s %s] \"%s\"", kind, wide ? "utf16" : "utf8", sql);
    static unsigned short u[1024];
    const void *text = sql;
    if (wide) {
        size_t n = to16(sql, strlen(sql), u);
        u[n] = 0;
        text = u;
    }
    struct outcome o = replay(wide, V2, text, -1, what);
    check_outcome(&o, what);
    if (o.rc_orig != SQLITE_OK)
        return -1;
    int began = 0;
    sqlite3_stmt *s0;
    if (sqlite3_prepare_v2(db, sql, -1, &s0, NULL) == SQLITE_OK && s0 &&
        sqlite3_stmt_readonly(s0)) {
        back_to_autocommit();
        while (sqlite3_step(s0) == SQLITE_ROW)
            ;
        if (!sqlite3_get_autocommit(db) && first_word_is(sql, "SAVEPOINT")) {
            cr_expect(!o.rewritten && o.st.kind == LF_STMT_SAVEPOINT,
                      "%s: a transaction-opening SAVEPOINT not recognised, or edited (kind %d)",
                      what, o.st.kind);
        } else if (!sqlite3_get_autocommit(db)) {
            began = 1;
            cr_expect(o.rewritten && o.st.kind == LF_STMT_BEGIN_DEFERRED,
                      "%s: SQLite ran a deferred BEGIN that was not rewritten (kind %d)", what,
                      o.st.kind);
        }
        back_to_autocommit();
    }
    sqlite3_finalize(s0);
    return began;
}

/* Texts built around BEGIN so many of them compile: tails, rewrites, and no deferred BEGIN that
** SQLite would run (it turns autocommit off and is read-only) left unrewritten. */
Test(sqlite_cross, generated_texts_agree_with_sqlite)
{
    unsigned seed = 777;
    int compiled = 0, begins = 0;
    for (int iter = 0; iter < 30000; iter++) {
        char sql[512];
        if (iter % 2) {
            gen(sql, sizeof sql, &seed, 1 + rand_r(&seed) % 8);
        } else { /* a BEGIN-shaped prefix and anything after it */
            static const char *pre[] = {"BEGIN", " begin ", "/* x */BEGIN", ";BEGIN",
                                        "-- x\nBEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION"};
            char rest[400];
            gen(rest, sizeof rest, &seed, rand_r(&seed) % 5);
            snprintf(sql, sizeof sql, "%s %s", pre[rand_r(&seed) % 7], rest);
        }
        int r = cross_check(sql, iter % 3 == 0, "generated");
        compiled += r >= 0;
        begins += r == 1;
    }
    cr_log_info("%d generated texts compiled, %d ran as a deferred BEGIN", compiled, begins);
    cr_expect_gt(compiled, 3000);
    cr_expect_gt(begins, 1000);
}

/* Character-level texts: single characters of every class the tokenizers care about, plus a
** few keywords, so that any difference between lockfix's tokenizer and SQLite's shows up as a
** different statement end, a rewrite SQLite disagrees with, or a deferred BEGIN missed. */
Test(sqlite_cross, char_level_texts_agree_with_sqlite, .timeout = 120)
{
    static const char *alpha[] = {
        "B", "E", "G", "I", "N", "BEGIN", "begin", " ", ";", "'", "\"", "`", "[", "]", "-",
        "/", "*", "\n", "\t", "\r", "\f", "\v", "\xef\xbb\xbf", "\xef\xbb", "\xc3\xa9", "D",
        "EFERRED", "TRANSACTION", "x", "0", "1", "=", "(", ")", ".", "PRAGMA ", "busy_timeout",
        "$", "?", ":", "#", "@", "x'", "e5", "\\", "END", "COMMIT", "ROLLBACK", " TO ", "SELECT ",
        "CREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT 1;",
    };
    unsigned seed = 31337;
    int compiled = 0;
    for (int iter = 0; iter < 150000; iter++) {
        char sql[512] = "";
        int k = 1 + rand_r(&seed) % 14;
        for (int j = 0; j < k; j++)
            strcat(sql, alpha[rand_r(&seed) % (sizeof alpha / sizeof alpha[0])]);
        compiled += cross_check(sql, iter % 4 == 0, "chars") >= 0;
    }
    cr_expect_gt(compiled, 2000);
}

/* PRAGMA busy_timeout in every plain integer form: whenever SQLite would apply a value below
** the floor, lockfix rewrites it, the rewritten text applies the floor, and the value lockfix
** reports is the one SQLite applies. */
Test(sqlite_cross, generated_busy_timeout_pragmas)
{
    static const char *schema[] = {"", "main.", "temp.", "\"main\".", "main . "};
    static const char *gap[] = {"", " ", "/* c */", "\n", "-- c\n"};
    static const char *nums[] = {"0",        "1",           "4999",       "5000",     "5001",
                                 "100",      "2147483647",  "2147483648", "00000000000000000000042",
                                 "99999999999", "18446744073709551616", "007", "10000"};
    unsigned seed = 99;
    int raised = 0;
    for (int iter = 0; iter < 4000; iter++) {
        const char *g1 = gap[rand_r(&seed) % 5], *g2 = gap[rand_r(&seed) % 5],
                   *g3 = gap[rand_r(&seed) % 5];
        const char *sign = (const char *[]){"", "-", "+", "- "}[rand_r(&seed) % 4];
        const char *num = nums[rand_r(&seed) % (sizeof nums / sizeof nums[0])];
        int paren = rand_r(&seed) % 2;
        char sql[256];
        snprintf(sql, sizeof sql, "%sPRAGMA %sbusy_timeout%s%s%s%s%s%s%s%s", g1,
                 schema[rand_r(&seed) % 5], g2, paren ? "(" : "=", g3, sign, num, g2,
                 paren ? ")" : "", rand_r(&seed) % 2 ? ";" : "");
        /* what SQLite applies */
        sqlite3_busy_timeout(db, 7777);
        char *err = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
        sqlite3_free(err);
        if (rc != SQLITE_OK)
            continue; /* e.g. "temp." is fine, odd spacing may not be */
        int applied = busy_timeout_now();
        struct lf_text t = {sql, strlen(sql), 0};
        struct lf_rewritten rw;
        int r = lf_rewrite_first(&t, FLOOR, 1, &rw);
        cr_expect_eq(rw.st.kind, LF_STMT_PRAGMA_TIMEOUT, "\"%s\"", sql);
        cr_expect_eq(rw.st.value <= 0 ? 0 : rw.st.value, applied,
                     "\"%s\": lockfix reads %lld, SQLite applies %d", sql, rw.st.value, applied);
        cr_expect_eq(r == 1, applied < FLOOR, "\"%s\": applied %d, rewritten %d", sql, applied, r);
        if (r == 1) {
            raised++;
            sqlite3_busy_timeout(db, 7777);
            cr_expect_eq(sqlite3_exec(db, rw.p, NULL, NULL, NULL), SQLITE_OK, "%s", (char *)rw.p);
            cr_expect_eq(busy_timeout_now(), FLOOR, "\"%s\" -> \"%s\"", sql, (char *)rw.p);
            lf_rewritten_release(&rw);
        }
    }
    cr_expect_gt(raised, 500);
}

/* SQLite rounds an odd UTF-16 nByte up (it tests z[sz] || z[sz+1] for sz < nByte); the shim
** must read the same units, or the tail lands before the ';'. */
Test(sqlite_cross, utf16_odd_nbyte)
{
    unsigned short u[32];
    size_t n = to16("BEGIN;SELECT 1", 14, u);
    u[n] = 0;
    struct outcome o = replay(1, V2, u, 11, "utf16 \"BEGIN;SELECT 1\" nByte=11");
    check_outcome(&o, "utf16 nByte=11");
}

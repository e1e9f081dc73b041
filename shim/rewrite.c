/*
** SQL analysis and rewriting, pure: no SQLite, no I/O.
**
** lockfix changes two kinds of statement and looks at three more:
**   BEGIN [DEFERRED] [TRANSACTION [name]]  ->  BEGIN IMMEDIATE ...   (no read->write upgrade)
**   PRAGMA [schema.]busy_timeout = N       ->  N raised to the floor
**   COMMIT/END, ROLLBACK, BEGIN IMMEDIATE/EXCLUSIVE: recognised for the retry rule.
** The tokenizer follows SQLite's: whitespace, -- and C comments, '' strings, "" `` [] quoted
** identifiers. Only the leading keywords of a statement are examined, so text inside literals,
** identifiers or comments is never touched, and anything that is not exactly one of the forms
** above is left for SQLite to judge. Texts are UTF-8 bytes or UTF-16 code units in native order;
** every offset here counts units.
*/
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

enum tok { T_END, T_WORD, T_QUOTED, T_STRING, T_NUMBER, T_SEMI, T_PUNCT };

struct token {
    enum tok type;
    size_t at, len;
};

static unsigned unit(const struct lf_text *t, size_t i)
{
    return t->wide ? ((const unsigned short *)t->p)[i] : ((const unsigned char *)t->p)[i];
}

static int is_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Identifier characters as SQLite sees them: ASCII letters, digits, '_', '$', and anything
** outside ASCII. */
static int is_idchar(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

/* Units of a byte-order mark (U+FEFF) at i, or 0. Where a token would start SQLite's tokenizer
** takes it as a space (UTF-16 texts are converted to UTF-8 first, so the same holds for them),
** so a script saved with a BOM, "\xEF\xBB\xBFBEGIN;", is a deferred BEGIN that was missed. Inside
** a word it is part of the word, as any non-ASCII character. */
static size_t bom_at(const struct lf_text *t, size_t i)
{
    if (t->wide)
        return unit(t, i) == 0xFEFF;
    return i + 2 < t->n && unit(t, i) == 0xEF && unit(t, i + 1) == 0xBB && unit(t, i + 2) == 0xBF
               ? 3
               : 0;
}

/* Index of the next token at or after i: whitespace and comments skipped. */
static size_t skip_blank(const struct lf_text *t, size_t i)
{
    while (i < t->n) {
        unsigned c = unit(t, i);
        size_t bom;
        if (is_space(c)) {
            /* SQLite's whitespace run, once started, goes on through '\v' too (it continues
            ** with sqlite3Isspace), though a '\v' cannot start one: "BEGIN\t\v" is a BEGIN. */
            for (i++; i < t->n && (is_space(unit(t, i)) || unit(t, i) == '\v'); i++)
                ;
        } else if ((bom = bom_at(t, i)) != 0) {
            i += bom;
        } else if (c == '-' && i + 1 < t->n && unit(t, i + 1) == '-') {
            while (i < t->n && unit(t, i) != '\n')
                i++;
        } else if (c == '/' && i + 1 < t->n && unit(t, i + 1) == '*') {
            i += 2;
            while (i < t->n && !(unit(t, i) == '*' && i + 1 < t->n && unit(t, i + 1) == '/'))
                i++;
            i = i < t->n ? i + 2 : t->n; /* an unterminated comment runs to the end */
        } else {
            break;
        }
    }
    return i;
}

/* Read the token starting at or after i. */
static struct token next_token(const struct lf_text *t, size_t i)
{
    struct token tk = {T_END, t->n, 0};
    i = skip_blank(t, i);
    if (i >= t->n)
        return tk;
    tk.at = i;
    unsigned c = unit(t, i);
    size_t j = i + 1;
    if (c == ';') {
        tk.type = T_SEMI;
    } else if (c == '\'' || c == '"' || c == '`' || c == '[') {
        unsigned close = c == '[' ? ']' : c;
        for (;;) {
            if (j >= t->n)
                break; /* unterminated: runs to the end, SQLite will reject it */
            if (unit(t, j) == close) {
                if (close != ']' && j + 1 < t->n && unit(t, j + 1) == close) {
                    j += 2; /* doubled quote */
                    continue;
                }
                j++;
                break;
            }
            j++;
        }
        tk.type = c == '\'' ? T_STRING : T_QUOTED;
    } else if (is_digit(c)) {
        while (j < t->n && (is_idchar(unit(t, j)) || unit(t, j) == '.'))
            j++;
        tk.type = T_NUMBER;
    } else if (is_idchar(c)) {
        while (j < t->n && is_idchar(unit(t, j)))
            j++;
        tk.type = T_WORD;
    } else {
        tk.type = T_PUNCT;
    }
    tk.len = j - i;
    return tk;
}

/* Whether a word token is the keyword kw (ASCII, upper case), in any case. */
/* tk is the keyword kw (upper case, kwlen letters), in any case. is_kw() takes a literal. */
static int is_kw_n(const struct lf_text *t, struct token tk, const char *kw, size_t kwlen)
{
    if (tk.type != T_WORD || tk.len != kwlen)
        return 0;
    for (size_t k = 0; k < kwlen; k++) {
        unsigned c = unit(t, tk.at + k);
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c != (unsigned char)kw[k])
            return 0;
    }
    return 1;
}
#define is_kw(t, tk, kw) is_kw_n((t), (tk), "" kw, sizeof(kw) - 1)

static int is_punct(const struct lf_text *t, struct token tk, char ch)
{
    return tk.type == T_PUNCT && unit(t, tk.at) == (unsigned char)ch;
}

static int ends_statement(struct token tk)
{
    return tk.type == T_END || tk.type == T_SEMI;
}

/* Offset just past the statement whose last examined token is tk: after its ';' or at the end. */
static size_t statement_end(const struct lf_text *t, struct token tk)
{
    while (!ends_statement(tk))
        tk = next_token(t, tk.at + tk.len);
    return tk.type == T_SEMI ? tk.at + 1 : t->n;
}

static void set_edit(struct lf_stmt *st, size_t at, size_t len, const char *with)
{
    st->edit_at = at;
    st->edit_len = len;
    size_t n = strlen(with);
    if (n >= sizeof st->edit_with)
        n = sizeof st->edit_with - 1;
    memcpy(st->edit_with, with, n);
    st->edit_with[n] = '\0';
}

/* BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION [name]] ; — tk is the token after BEGIN. */
static void classify_begin(const struct lf_text *t, struct token begin, struct token tk,
                           int rewrite_begin, struct lf_stmt *st)
{
    struct token mode = {T_END, 0, 0};
    if (is_kw(t, tk, "IMMEDIATE") || is_kw(t, tk, "EXCLUSIVE")) {
        st->kind = LF_STMT_BEGIN_IMMEDIATE;
        st->end = statement_end(t, tk);
        return;
    }
    if (is_kw(t, tk, "DEFERRED")) {
        mode = tk;
        tk = next_token(t, tk.at + tk.len);
    }
    if (is_kw(t, tk, "TRANSACTION")) {
        tk = next_token(t, tk.at + tk.len);
        if (tk.type == T_WORD || tk.type == T_QUOTED || tk.type == T_STRING)
            tk = next_token(t, tk.at + tk.len); /* the transaction's name, ignored by SQLite */
    }
    if (!ends_statement(tk)) {
        st->kind = LF_STMT_OTHER; /* not a form we know: SQLite will say what is wrong */
        st->end = statement_end(t, tk);
        return;
    }
    st->kind = LF_STMT_BEGIN_DEFERRED;
    st->end = tk.type == T_SEMI ? tk.at + 1 : t->n;
    if (!rewrite_begin)
        return;
    if (mode.type == T_WORD)
        set_edit(st, mode.at, mode.len, "IMMEDIATE");
    else
        set_edit(st, begin.at + begin.len, 0, " IMMEDIATE");
}

/* PRAGMA [schema.]busy_timeout (= N | (N)) — tk is the token after PRAGMA. */
static void classify_pragma(const struct lf_text *t, struct token tk, long floor_ms,
                            struct lf_stmt *st)
{
    st->kind = LF_STMT_OTHER;
    struct token after = next_token(t, tk.at + tk.len);
    if ((tk.type == T_WORD || tk.type == T_QUOTED) && is_punct(t, after, '.')) {
        tk = next_token(t, after.at + after.len);
        after = next_token(t, tk.at + tk.len);
    }
    if (!is_kw(t, tk, "BUSY_TIMEOUT") || !(is_punct(t, after, '=') || is_punct(t, after, '('))) {
        st->end = statement_end(t, tk);
        return;
    }
    int paren = is_punct(t, after, '(');
    struct token num = next_token(t, after.at + after.len);
    struct token sign = {T_END, 0, 0};
    if (is_punct(t, num, '-') || is_punct(t, num, '+')) {
        sign = num;
        num = next_token(t, num.at + num.len);
    }
    /* Not past the statement's end: with a ';' or the end where the number should be
    ** ("PRAGMA busy_timeout=;BEGIN"), `last` used to be the next statement's first token, and
    ** the end computed from it swallowed that statement. */
    struct token last = ends_statement(num) ? num : next_token(t, num.at + num.len);
    if (paren) {
        if (!is_punct(t, last, ')')) {
            st->end = statement_end(t, last);
            return;
        }
        last = next_token(t, last.at + last.len);
    }
    if (num.type != T_NUMBER || !ends_statement(last)) {
        st->end = statement_end(t, last);
        return;
    }
    /* The value SQLite applies, as its sqlite3Atoi() reads it: any number of leading zeros,
    ** and a magnitude past the 32-bit range gives 0, which turns the busy handler off. (Such
    ** values used to be compared with the floor as written, so "busy_timeout=2147483648" was
    ** left alone, and 19 digits or more were not recognised at all.) */
    long long v = 0;
    int too_big = 0;
    for (size_t k = 0; k < num.len; k++) {
        unsigned c = unit(t, num.at + k);
        if (!is_digit(c)) { /* 1.5, 0x10, 1e3: not the plain integer form */
            st->end = statement_end(t, last);
            return;
        }
        if (v > 2147483648LL)
            too_big = 1; /* stop growing: it only needs to stay past the limit */
        else
            v = v * 10 + (c - '0');
    }
    int negative = sign.type == T_PUNCT && is_punct(t, sign, '-');
    if (too_big || v - negative > 2147483647LL)
        v = 0;
    else if (negative)
        v = -v;
    st->kind = LF_STMT_PRAGMA_TIMEOUT;
    st->value = v;
    st->end = last.type == T_SEMI ? last.at + 1 : t->n;
    if (floor_ms > 0 && v < floor_ms) {
        char digits[24];
        int len = 0;
        char rev[24];
        long f = floor_ms;
        do {
            rev[len++] = (char)('0' + f % 10);
            f /= 10;
        } while (f > 0 && len < 20);
        for (int k = 0; k < len; k++)
            digits[k] = rev[len - 1 - k];
        digits[len] = '\0';
        size_t at = sign.type == T_PUNCT ? sign.at : num.at;
        set_edit(st, at, num.at + num.len - at, digits);
    }
}

/* [EXPLAIN] CREATE [TEMP|TEMPORARY] TRIGGER — tk is the statement's first token. */
static int is_create_trigger(const struct lf_text *t, struct token tk)
{
    if (is_kw(t, tk, "EXPLAIN"))
        tk = next_token(t, tk.at + tk.len);
    if (!is_kw(t, tk, "CREATE"))
        return 0;
    tk = next_token(t, tk.at + tk.len);
    if (is_kw(t, tk, "TEMP") || is_kw(t, tk, "TEMPORARY"))
        tk = next_token(t, tk.at + tk.len);
    return is_kw(t, tk, "TRIGGER");
}

/* A trigger's body holds statements with their own ';': the CREATE TRIGGER statement ends only
** at "; END ;", as SQLite's parser (and sqlite3_complete) see it. Ending it at the body's first
** ';' counted one trigger as several statements, and made exec see "END ..." as a COMMIT. */
static size_t trigger_end(const struct lf_text *t, struct token tk)
{
    int state = 0; /* 1: just after a ';'; 2: after "; END" */
    for (; tk.type != T_END; tk = next_token(t, tk.at + tk.len)) {
        if (tk.type == T_SEMI) {
            if (state == 2)
                return tk.at + 1;
            state = 1;
        } else {
            state = state == 1 && is_kw(t, tk, "END") ? 2 : 0;
        }
    }
    return t->n; /* unterminated: SQLite will reject it */
}

size_t lf_text_units(const void *sql, int nbyte, int wide)
{
    size_t n = 0;
    if (wide) {
        const unsigned short *w = sql;
        size_t max = nbyte < 0 ? (size_t)-1 : ((size_t)nbyte + 1) / 2;
        while (n < max && w[n] != 0)
            n++;
    } else {
        size_t max = nbyte < 0 ? (size_t)-1 : (size_t)nbyte;
        n = strnlen(sql, max);
    }
    return n;
}

/* The word BEGIN at `from`, then nothing but spaces to the end: python's "BEGIN ", which it
** prepares for every transaction it opens. Recognised without the tokenizer; classify_begin()
** gives the same answer (tests/unit/test_rewrite.c holds the two side by side). */
static int bare_begin(const struct lf_text *t, size_t from)
{
    static const char lower[] = "begin";
    if (from > t->n || t->n - from < 5)
        return 0;
    for (size_t k = 0; k < 5; k++)
        if ((unit(t, from + k) | 0x20) != (unsigned char)lower[k])
            return 0;
    for (size_t k = from + 5; k < t->n; k++)
        if (unit(t, k) != ' ')
            return 0;
    return 1;
}

int lf_sql_classify(const struct lf_text *t, size_t from, long floor_ms, int rewrite_begin,
                    struct lf_stmt *st)
{
    memset(st, 0, sizeof *st);
    if (bare_begin(t, from)) {
        st->kind = LF_STMT_BEGIN_DEFERRED;
        st->start = from;
        st->end = t->n;
        if (rewrite_begin)
            set_edit(st, from + 5, 0, " IMMEDIATE");
        return 0;
    }
    struct token first = next_token(t, from);
    st->start = first.at;
    if (first.type == T_END) {
        st->kind = LF_STMT_EMPTY;
        st->end = t->n;
        return 0;
    }
    if (first.type == T_SEMI) { /* an empty statement: SQLite skips it */
        st->kind = LF_STMT_EMPTY;
        st->end = first.at + 1;
        return 0;
    }
    struct token second = next_token(t, first.at + first.len);
    if (is_kw(t, first, "BEGIN")) {
        classify_begin(t, first, second, rewrite_begin, st);
    } else if (is_kw(t, first, "COMMIT") || is_kw(t, first, "END")) {
        st->kind = LF_STMT_COMMIT;
        st->end = statement_end(t, second);
    } else if (is_kw(t, first, "ROLLBACK")) {
        struct token third = is_kw(t, second, "TRANSACTION")
                                 ? next_token(t, second.at + second.len)
                                 : second;
        st->kind = is_kw(t, third, "TO") ? LF_STMT_OTHER : LF_STMT_ROLLBACK;
        st->end = statement_end(t, second);
    } else if (is_kw(t, first, "PRAGMA")) {
        classify_pragma(t, second, floor_ms, st);
    } else if (is_kw(t, first, "SAVEPOINT")) {
        st->kind = LF_STMT_SAVEPOINT;
        st->end = statement_end(t, second);
    } else if (is_create_trigger(t, first)) {
        st->kind = LF_STMT_OTHER;
        st->end = trigger_end(t, first);
    } else {
        st->kind = LF_STMT_OTHER;
        st->end = statement_end(t, second);
    }
    return 0;
}

/* Copy units [from, to) of t into dst (same width) at unit offset at. */
static void copy_units(void *dst, size_t at, const struct lf_text *t, size_t from, size_t to)
{
    size_t w = t->wide ? 2 : 1;
    memcpy((char *)dst + at * w, (const char *)t->p + from * w, (to - from) * w);
}

static void put_ascii(void *dst, size_t at, const char *s, size_t len, int wide)
{
    for (size_t k = 0; k < len; k++) {
        if (wide)
            ((unsigned short *)dst)[at + k] = (unsigned char)s[k];
        else
            ((char *)dst)[at + k] = s[k];
    }
}

/* Python's sqlite3 module prepares the text "BEGIN " for every transaction it opens (3.6 to 3.11,
** and later ones in their default, legacy transaction control). That exact text, and "BEGIN", get
** the answer the tokenizer gives them, without tokenizing or copying unit by unit: ~270
** instructions a transaction (callgrind). tests/unit/test_rewrite.c compares the two answers. */
static int python_begin(const struct lf_text *t, int rewrite_begin, struct lf_rewritten *out)
{
    /* what lf_sql_classify says of "BEGIN" ("BEGIN " ends one unit later) */
    static const struct lf_stmt begin = {
        .kind = LF_STMT_BEGIN_DEFERRED, .end = 5, .edit_at = 5, .edit_with = " IMMEDIATE"};
    static const char edited[] = "BEGIN IMMEDIATE "; /* fixed sizes: copied inline, no calls */
    const char *p = t->p;
    if (t->wide || !rewrite_begin || (t->n != 5 && t->n != 6) || memcmp(p, "BEGIN", 5) != 0 ||
        (t->n == 6 && p[5] != ' '))
        return 0;
    out->st = begin;
    out->st.end = t->n;
    out->n = t->n + sizeof " IMMEDIATE" - 1;
    memcpy(out->small, edited, sizeof edited);
    out->small[out->n] = '\0';
    out->p = out->small;
    return 1;
}

/* The tokenizer's answer (lf_rewrite_first without its shortcut; tests compare the two). */
int lf_rewrite_first_tokenized(const struct lf_text *t, long floor_ms, int rewrite_begin,
                               struct lf_rewritten *out)
{
    out->p = NULL;
    out->n = 0;
    size_t pos = 0;
    struct lf_stmt st;
    do {
        lf_sql_classify(t, pos, floor_ms, rewrite_begin, &st);
        pos = st.end;
    } while (st.kind == LF_STMT_EMPTY && pos < t->n);
    out->st = st;
    if (st.edit_with[0] == '\0')
        return 0;
    size_t add = strlen(st.edit_with);
    size_t n = st.end - st.edit_len + add;
    size_t w = t->wide ? 2 : 1;
    void *p = (n + 1) * w <= sizeof out->small ? out->small : malloc((n + 1) * w);
    if (p == NULL)
        return -1;
    copy_units(p, 0, t, 0, st.edit_at);
    put_ascii(p, st.edit_at, st.edit_with, add, t->wide);
    copy_units(p, st.edit_at + add, t, st.edit_at + st.edit_len, st.end);
    put_ascii(p, n, "", 1, t->wide); /* terminator */
    out->p = p;
    out->n = n;
    return 1;
}

int lf_rewrite_first(const struct lf_text *t, long floor_ms, int rewrite_begin,
                     struct lf_rewritten *out)
{
    if (python_begin(t, rewrite_begin, out))
        return 1;
    return lf_rewrite_first_tokenized(t, floor_ms, rewrite_begin, out);
}

void lf_rewritten_release(struct lf_rewritten *rw)
{
    if (rw->p != rw->small)
        free(rw->p);
    rw->p = NULL;
}

enum lf_stmt_kind lf_sql_first_kind(const char *sql)
{
    struct lf_text t = {sql, strlen(sql), 0};
    struct lf_stmt st;
    size_t pos = 0;
    do {
        lf_sql_classify(&t, pos, 0, 0, &st);
        pos = st.end;
    } while (st.kind == LF_STMT_EMPTY && pos < t.n);
    return st.kind;
}

size_t lf_rewrite_map_back(const struct lf_rewritten *rw, size_t offset)
{
    size_t add = strlen(rw->st.edit_with);
    if (offset <= rw->st.edit_at)
        return offset;
    if (offset >= rw->st.edit_at + add)
        return offset - add + rw->st.edit_len;
    return rw->st.edit_at + rw->st.edit_len;
}

char *lf_rewrite_all(const char *sql, long floor_ms, int rewrite_begin, int *nbegin,
                     int *ntimeout, int *nstmts, enum lf_stmt_kind *first_kind, int *oom)
{
    struct lf_text t = {sql, strlen(sql), 0};
    struct lf_stmt st;
    size_t grow = 0;
    *nbegin = *ntimeout = *nstmts = *oom = 0;
    *first_kind = LF_STMT_EMPTY;
    /* First pass: count statements and edits, and the room the edits need. */
    for (size_t pos = 0; pos < t.n; pos = st.end) {
        lf_sql_classify(&t, pos, floor_ms, rewrite_begin, &st);
        if (st.kind == LF_STMT_EMPTY)
            continue;
        if ((*nstmts)++ == 0)
            *first_kind = st.kind;
        if (st.edit_with[0] != '\0') {
            grow += strlen(st.edit_with);
            if (st.kind == LF_STMT_BEGIN_DEFERRED)
                (*nbegin)++;
            else
                (*ntimeout)++;
        }
    }
    if (*nbegin == 0 && *ntimeout == 0)
        return NULL;
    char *out = malloc(t.n + grow + 1);
    if (out == NULL) {
        *oom = 1;
        *nbegin = *ntimeout = 0;
        return NULL;
    }
    /* Second pass: copy, applying each statement's edit. */
    size_t o = 0, copied = 0;
    for (size_t pos = 0; pos < t.n; pos = st.end) {
        lf_sql_classify(&t, pos, floor_ms, rewrite_begin, &st);
        if (st.edit_with[0] == '\0')
            continue;
        size_t add = strlen(st.edit_with);
        memcpy(out + o, sql + copied, st.edit_at - copied);
        o += st.edit_at - copied;
        memcpy(out + o, st.edit_with, add);
        o += add;
        copied = st.edit_at + st.edit_len;
    }
    memcpy(out + o, sql + copied, t.n - copied);
    o += t.n - copied;
    out[o] = '\0';
    return out;
}

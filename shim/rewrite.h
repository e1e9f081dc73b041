/*
** SQL classification and the BEGIN / busy_timeout rewrite (rewrite.c, pure): what a statement is,
** and the one edit lockfix makes to it.
*/
#ifndef LOCKFIX_REWRITE_H
#define LOCKFIX_REWRITE_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* A text being prepared: UTF-8 bytes (wide=0) or native-endian UTF-16 code units (wide=1).
** n counts units and stops at the first NUL unit, as SQLite does. */
struct lf_text {
    const void *p;
    size_t n;
    int wide;
};

enum lf_stmt_kind {
    LF_STMT_EMPTY,           /* only whitespace and comments */
    LF_STMT_OTHER,           /* anything lockfix does not touch */
    LF_STMT_BEGIN_DEFERRED,  /* BEGIN, BEGIN DEFERRED, BEGIN TRANSACTION [name] */
    LF_STMT_BEGIN_IMMEDIATE, /* BEGIN IMMEDIATE / BEGIN EXCLUSIVE: already takes the write lock */
    LF_STMT_COMMIT,          /* COMMIT / END [TRANSACTION] */
    LF_STMT_ROLLBACK,        /* ROLLBACK [TRANSACTION] (not ROLLBACK TO) */
    LF_STMT_PRAGMA_TIMEOUT,  /* PRAGMA [schema.]busy_timeout = N | (N) */
    LF_STMT_SAVEPOINT,       /* SAVEPOINT name: in autocommit mode, opens a deferred transaction */
};

/* What one statement is, and the single edit lockfix would make to it. Offsets in units. */
struct lf_stmt {
    enum lf_stmt_kind kind;
    size_t start;    /* first token */
    size_t end;      /* just past the terminating ';', or text end */
    long long value; /* PRAGMA busy_timeout value, when kind is LF_STMT_PRAGMA_TIMEOUT */
    size_t edit_at;  /* replace units [edit_at, edit_at+edit_len) ... */
    size_t edit_len;
    char edit_with[24]; /* ... by this ASCII text; edit_with[0]==0 means no edit */
};

/* Units in a caller's text as SQLite reads it: up to nByte bytes (an odd count rounded up to
** whole UTF-16 units, as SQLite does), stopping at a NUL unit. Pure. */
size_t lf_text_units(const void *sql, int nbyte, int wide);

/* Classify the statement starting at unit `from`; fills `st`; returns 0. `floor_ms` decides
** whether a PRAGMA busy_timeout is raised (0: never). Pure. */
int lf_sql_classify(const struct lf_text *t, size_t from, long floor_ms, int rewrite_begin,
                    struct lf_stmt *st);

/* Result of rewriting a text for prepare: only the first statement is compiled by SQLite, so
** only it is edited. The new text holds the original up to the end of that statement, edited. */
struct lf_rewritten {
    void *p;           /* NUL-terminated (in its unit width); NULL if nothing changed; in `small`
                          when it fits (python's "BEGIN " is made each transaction), else malloc'd */
    size_t n;          /* units, without the terminator */
    struct lf_stmt st; /* the first non-empty statement and its edit */
    char small[64];    /* not to be copied: p may point here */
};
/* Frees what lf_rewrite_first allocated, if anything. */
void lf_rewritten_release(struct lf_rewritten *rw);
/* Returns 1 and fills out when the first statement must change, 0 if not, -1 on no memory. */
int lf_rewrite_first(const struct lf_text *t, long floor_ms, int rewrite_begin,
                     struct lf_rewritten *out);
/* The same without the shortcut for python's exact "BEGIN " (for the tests that compare them). */
int lf_rewrite_first_tokenized(const struct lf_text *t, long floor_ms, int rewrite_begin,
                               struct lf_rewritten *out);
/* The kind of the first non-empty statement of a UTF-8 text (as sqlite3_sql() returns it, with
** any leading empty statements and comments). Pure. */
enum lf_stmt_kind lf_sql_first_kind(const char *sql);
/* Map a unit offset in the rewritten text back to the caller's text. */
size_t lf_rewrite_map_back(const struct lf_rewritten *rw, size_t offset);

/* Rewrite every statement of a UTF-8 text (for sqlite3_exec). Returns a malloc'd string and
** counts the edits, or NULL with *nbegin == *ntimeout == 0 when nothing changes (or no memory:
** then *oom is set). `nstmts` receives the number of non-empty statements. */
char *lf_rewrite_all(const char *sql, long floor_ms, int rewrite_begin, int *nbegin, int *ntimeout,
                     int *nstmts, enum lf_stmt_kind *first_kind, int *oom);

#pragma GCC visibility pop

#endif

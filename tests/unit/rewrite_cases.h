/*
** The rewrite corpus shared by test_rewrite.c (expected results) and test_rewrite_sqlite.c (the
** same inputs against the real SQLite). Each case: the caller's text, the rewritten text lockfix
** must hand to SQLite (NULL: unchanged), the statement kind, and what follows the tail (SQLite
** puts pzTail just past the first statement's ';', or at the end of the text).
*/
#ifndef LOCKFIX_UNIT_REWRITE_CASES_H
#define LOCKFIX_UNIT_REWRITE_CASES_H

#include "rewrite.h"

/* The busy-timeout floor the expected texts assume. */
#define FLOOR 5000

struct rcase {
    const char *in;
    const char *out; /* NULL: nothing to change */
    enum lf_stmt_kind kind;
    const char *rest; /* the caller's text after the tail */
};

#define D LF_STMT_BEGIN_DEFERRED
#define I LF_STMT_BEGIN_IMMEDIATE
#define O LF_STMT_OTHER
#define C LF_STMT_COMMIT
#define R LF_STMT_ROLLBACK
#define P LF_STMT_PRAGMA_TIMEOUT
#define E LF_STMT_EMPTY
#define S LF_STMT_SAVEPOINT

static const struct rcase cases[] = {
    /* BEGIN forms, every case, rewritten */
    {"BEGIN", "BEGIN IMMEDIATE", D, ""},
    {"BEGIN;", "BEGIN IMMEDIATE;", D, ""},
    {"begin", "begin IMMEDIATE", D, ""},
    {"BeGiN", "BeGiN IMMEDIATE", D, ""},
    {"BEGIN DEFERRED", "BEGIN IMMEDIATE", D, ""},
    {"begin deferred;", "begin IMMEDIATE;", D, ""},
    {"Begin Deferred ;", "Begin IMMEDIATE ;", D, ""},
    {"BEGIN TRANSACTION", "BEGIN IMMEDIATE TRANSACTION", D, ""},
    {"BEGIN TRANSACTION;", "BEGIN IMMEDIATE TRANSACTION;", D, ""},
    {"begin transaction t1", "begin IMMEDIATE transaction t1", D, ""},
    {"BEGIN TRANSACTION t1;", "BEGIN IMMEDIATE TRANSACTION t1;", D, ""},
    {"BEGIN DEFERRED TRANSACTION", "BEGIN IMMEDIATE TRANSACTION", D, ""},
    {"BEGIN DEFERRED TRANSACTION name", "BEGIN IMMEDIATE TRANSACTION name", D, ""},
    {"begin deferred transaction \"my txn\";", "begin IMMEDIATE transaction \"my txn\";", D, ""},
    {"BEGIN TRANSACTION [x y]", "BEGIN IMMEDIATE TRANSACTION [x y]", D, ""},
    {"BEGIN TRANSACTION `x`", "BEGIN IMMEDIATE TRANSACTION `x`", D, ""},
    {"BEGIN TRANSACTION 'x;y'", "BEGIN IMMEDIATE TRANSACTION 'x;y'", D, ""},
    /* a keyword as the transaction's name: SQLite's parser takes it as an identifier */
    {"BEGIN TRANSACTION IMMEDIATE", "BEGIN IMMEDIATE TRANSACTION IMMEDIATE", D, ""},
    {"BEGIN TRANSACTION DEFERRED", "BEGIN IMMEDIATE TRANSACTION DEFERRED", D, ""},
    {"BEGIN TRANSACTION \xc3\xa9t\xc3\xa9", "BEGIN IMMEDIATE TRANSACTION \xc3\xa9t\xc3\xa9", D, ""},
    /* leading whitespace and comments */
    {"  \t\r\n\f BEGIN", "  \t\r\n\f BEGIN IMMEDIATE", D, ""},
    {"-- start\nBEGIN", "-- start\nBEGIN IMMEDIATE", D, ""},
    {"--\nbegin;", "--\nbegin IMMEDIATE;", D, ""},
    {"/* c */BEGIN", "/* c */BEGIN IMMEDIATE", D, ""},
    {"/**/BEGIN/**/;", "/**/BEGIN IMMEDIATE/**/;", D, ""},
    {"/* a */ -- b\n /* c\n d */ BEGIN -- e\n DEFERRED /* f */ ;",
     "/* a */ -- b\n /* c\n d */ BEGIN -- e\n IMMEDIATE /* f */ ;", D, ""},
    {"BEGIN -- trailing", "BEGIN IMMEDIATE -- trailing", D, ""},
    {"BEGIN /* unterminated", "BEGIN IMMEDIATE /* unterminated", D, ""},
    {"BEGIN\n", "BEGIN IMMEDIATE\n", D, ""},
    {"BEGIN;\n", "BEGIN IMMEDIATE;", D, "\n"},
    /* U+FEFF (a byte-order mark) where a token starts is whitespace to SQLite's tokenizer
    ** (EF BB BF in UTF-8; SQLite converts UTF-16 to UTF-8 first); inside a word it is part of
    ** the word. Scripts saved with a BOM begin this way. */
    {"\xef\xbb\xbf" "BEGIN", "\xef\xbb\xbf" "BEGIN IMMEDIATE", D, ""},
    {"\xef\xbb\xbf" "BEGIN; SELECT 1", "\xef\xbb\xbf" "BEGIN IMMEDIATE;", D, " SELECT 1"},
    {" \xef\xbb\xbf" "begin \xef\xbb\xbf" "deferred;", " \xef\xbb\xbf" "begin \xef\xbb\xbf" "IMMEDIATE;", D, ""},
    {"PRAGMA busy_timeout=\xef\xbb\xbf" "5", "PRAGMA busy_timeout=\xef\xbb\xbf" "5000", P, ""},
    {"BEGIN\xef\xbb\xbf", NULL, O, ""},
    {"BEGIN\xef\xbb\xbf;BEGIN", NULL, O, "BEGIN"},
    {"\xef\xbb\xbf", NULL, E, ""},
    {"\xef\xbb\xbf;\xef\xbb\xbf", NULL, E, ""},
    /* '\v' is whitespace to SQLite only inside a run that another blank started */
    {"BEGIN\t\v", "BEGIN IMMEDIATE\t\v", D, ""},
    {"\n\v\vbegin\r\v;", "\n\v\vbegin IMMEDIATE\r\v;", D, ""},
    {"BEGIN\v", NULL, O, ""},
    {"\vBEGIN", NULL, O, ""},
    {"/**/\vBEGIN", NULL, O, ""},
    {"\r\n\v;\r", NULL, E, ""},
    /* the first of several statements: only it is compiled, the tail is after its ';' */
    {"BEGIN; SELECT 1;", "BEGIN IMMEDIATE;", D, " SELECT 1;"},
    {"BEGIN;SELECT 'x'", "BEGIN IMMEDIATE;", D, "SELECT 'x'"},
    {"BEGIN DEFERRED; BEGIN;", "BEGIN IMMEDIATE;", D, " BEGIN;"},
    {"begin transaction;update t set a=1;commit;", "begin IMMEDIATE transaction;", D,
     "update t set a=1;commit;"},
    {"BEGIN; -- comment after", "BEGIN IMMEDIATE;", D, " -- comment after"},
    {"BEGIN;;", "BEGIN IMMEDIATE;", D, ";"},
    /* leading empty statements are skipped, as SQLite skips them */
    {";; BEGIN", ";; BEGIN IMMEDIATE", D, ""},
    {" ; ;BEGIN; COMMIT", " ; ;BEGIN IMMEDIATE;", D, " COMMIT"},
    {"; /* x */ ; -- y\n BEGIN DEFERRED;", "; /* x */ ; -- y\n BEGIN IMMEDIATE;", D, ""},
    {";; SELECT 1; BEGIN", NULL, O, " BEGIN"},
    /* already taking the write lock: left alone */
    {"BEGIN IMMEDIATE", NULL, I, ""},
    {"begin immediate;", NULL, I, ""},
    {"BEGIN EXCLUSIVE", NULL, I, ""},
    {"begin exclusive transaction;", NULL, I, ""},
    {"BEGIN IMMEDIATE TRANSACTION t; BEGIN", NULL, I, " BEGIN"},
    /* not a BEGIN statement, or BEGIN only inside a literal, identifier or comment */
    {"BEGINX", NULL, O, ""},
    {"BEGIN_", NULL, O, ""},
    {"BEGIN$", NULL, O, ""},
    {"BEGIN\xc3\xa9", NULL, O, ""},
    {"XBEGIN", NULL, O, ""},
    {"SELECT 'BEGIN'", NULL, O, ""},
    {"SELECT 'BEGIN;'; BEGIN", NULL, O, " BEGIN"},
    {"SELECT 'it''s; BEGIN'; BEGIN", NULL, O, " BEGIN"},
    {"/* BEGIN */ SELECT 1", NULL, O, ""},
    {"-- BEGIN\nSELECT 1", NULL, O, ""},
    {"-- BEGIN", NULL, E, ""},
    {"/* BEGIN; */", NULL, E, ""},
    {"\"BEGIN\"", NULL, O, ""},
    {"[BEGIN]", NULL, O, ""},
    {"`BEGIN`", NULL, O, ""},
    {"\"be\"\"gin;\" ; BEGIN", NULL, O, " BEGIN"},
    {"`a``;b`; BEGIN", NULL, O, " BEGIN"},
    {"[a;b]; BEGIN", NULL, O, " BEGIN"},
    {"SELECT 1 -- ; BEGIN\n; BEGIN", NULL, O, " BEGIN"},
    {"SELECT 1 /* ; */; BEGIN", NULL, O, " BEGIN"},
    {"EXPLAIN BEGIN", NULL, O, ""},
    {"SELECT 1; BEGIN", NULL, O, " BEGIN"},
    {"UPDATE t SET a = 'BEGIN' WHERE b = \"BEGIN\"", NULL, O, ""},
    /* a trigger's body holds ';'s: its statement ends after END ; */
    {"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;", NULL, O, ""},
    {"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a=1; DELETE FROM u; END; BEGIN;",
     NULL, O, " BEGIN;"},
    {"create temp trigger tr before delete on t begin select raise(abort, 'x;y'); end ; begin",
     NULL, O, " begin"},
    {"CREATE TEMPORARY TRIGGER IF NOT EXISTS tr AFTER UPDATE ON t BEGIN\n"
     "  UPDATE t SET a = CASE WHEN new.a THEN 1 END;\n  END;\nBEGIN",
     NULL, O, "\nBEGIN"},
    {"EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; BEGIN", NULL, O, " BEGIN"},
    {"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", NULL, O, ""},
    {"CREATE TABLE trigger(a); BEGIN", NULL, O, " BEGIN"},
    {"CREATE TEMP TABLE t(a); BEGIN", NULL, O, " BEGIN"},
    /* syntax errors: left for SQLite to report */
    {"BEGIN foo", NULL, O, ""},
    {"BEGIN foo; BEGIN", NULL, O, " BEGIN"},
    {"BEGIN DEFERRED foo", NULL, O, ""},
    {"BEGIN DEFERRED DEFERRED", NULL, O, ""},
    {"BEGIN TRANSACTION a b", NULL, O, ""},
    {"BEGIN TRANSACTION 5", NULL, O, ""},
    {"BEGIN TRANSACTION x.y", NULL, O, ""},
    {"BEGIN \"DEFERRED\"", NULL, O, ""},
    {"BEGIN [TRANSACTION]", NULL, O, ""},
    {"BEGIN\"x\"", NULL, O, ""},
    {"BEGIN (", NULL, O, ""},
    /* COMMIT / END / ROLLBACK */
    {"COMMIT", NULL, C, ""},
    {"commit transaction;", NULL, C, ""},
    {"END", NULL, C, ""},
    {"end transaction; BEGIN", NULL, C, " BEGIN"},
    {"ENDX", NULL, O, ""},
    {"ROLLBACK", NULL, R, ""},
    {"rollback transaction;", NULL, R, ""},
    {"ROLLBACK TO sp", NULL, O, ""},
    {"ROLLBACK TO SAVEPOINT sp; BEGIN", NULL, O, " BEGIN"},
    /* SAVEPOINT is recognised (it takes the queue's turn when it opens a transaction), never edited */
    {"SAVEPOINT sp", NULL, S, ""},
    {"savepoint \"a b\"; BEGIN", NULL, S, " BEGIN"},
    {"/* c */ SaVePoInT x;", NULL, S, ""},
    {"rollback transaction to sp", NULL, O, ""},
    /* PRAGMA busy_timeout below the floor: raised */
    {"PRAGMA busy_timeout=100", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout = 100;", "PRAGMA busy_timeout = 5000;", P, ""},
    {"pragma main.busy_timeout(0)", "pragma main.busy_timeout(5000)", P, ""},
    {"PRAGMA temp . busy_timeout ( 7 ) ;", "PRAGMA temp . busy_timeout ( 5000 ) ;", P, ""},
    {"PRAGMA \"main\".busy_timeout=1", "PRAGMA \"main\".busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout = -5", "PRAGMA busy_timeout = 5000", P, ""},
    {"PRAGMA busy_timeout = - 5;", "PRAGMA busy_timeout = 5000;", P, ""},
    {"PRAGMA BUSY_TIMEOUT(-3)", "PRAGMA BUSY_TIMEOUT(5000)", P, ""},
    {"PRAGMA busy_timeout=+7", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout=4999", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout=0; BEGIN", "PRAGMA busy_timeout=5000;", P, " BEGIN"},
    {"/* x */ PRAGMA busy_timeout=0 -- y", "/* x */ PRAGMA busy_timeout=5000 -- y", P, ""},
    /* SQLite reads the value as a 32-bit int: past INT_MAX it applies 0 (checked against
    ** SQLite 3.40: PRAGMA busy_timeout=2147483648 leaves busy_timeout at 0); leading zeros
    ** are skipped, however many */
    {"PRAGMA busy_timeout=99999999999", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout=2147483648", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout=99999999999999999999999999", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout=0000000000000000000000100", "PRAGMA busy_timeout=5000", P, ""},
    {"PRAGMA busy_timeout=-99999999999", "PRAGMA busy_timeout=5000", P, ""},
    /* at or above the floor, or not the "= integer" form: untouched */
    {"PRAGMA busy_timeout=5000", NULL, P, ""},
    {"PRAGMA busy_timeout=10000", NULL, P, ""},
    {"PRAGMA busy_timeout=2147483647", NULL, P, ""},
    {"PRAGMA busy_timeout=0000000000000000000010000", NULL, P, ""},
    {"PRAGMA busy_timeout", NULL, O, ""},
    {"PRAGMA busy_timeout;", NULL, O, ""},
    {"PRAGMA main.busy_timeout", NULL, O, ""},
    {"PRAGMA busy_timeout='100'", NULL, O, ""},
    {"PRAGMA busy_timeout=\"100\"", NULL, O, ""},
    {"PRAGMA busy_timeout=1.5", NULL, O, ""},
    {"PRAGMA busy_timeout=0x10", NULL, O, ""},
    {"PRAGMA busy_timeout=1e3", NULL, O, ""},
    {"PRAGMA busy_timeout=1 2", NULL, O, ""},
    {"PRAGMA busy_timeout=(1)", NULL, O, ""},
    {"PRAGMA busy_timeout(1", NULL, O, ""},
    {"PRAGMA busy_timeout--1", NULL, O, ""},
    {"PRAGMA busy_timeouts=1", NULL, O, ""},
    {"PRAGMA journal_mode=WAL", NULL, O, ""},
    {"PRAGMA", NULL, O, ""},
    {"PRAGMA;BEGIN", NULL, O, "BEGIN"},
    {"SELECT 'PRAGMA busy_timeout=1'", NULL, O, ""},
    /* a malformed PRAGMA ends at its own ';': the next statement is not swallowed */
    {"PRAGMA busy_timeout=;BEGIN;", NULL, O, "BEGIN;"},
    {"PRAGMA busy_timeout(;BEGIN;", NULL, O, "BEGIN;"},
    {"PRAGMA busy_timeout=-;BEGIN", NULL, O, "BEGIN"},
    {"PRAGMA main.;BEGIN", NULL, O, "BEGIN"},
    /* nothing to compile */
    {"", NULL, E, ""},
    {"   ", NULL, E, ""},
    {";", NULL, E, ""},
    {" ; ; ", NULL, E, ""},
    {"-- only a comment", NULL, E, ""},
};

#undef D
#undef I
#undef O
#undef C
#undef R
#undef P
#undef E
#undef S

#endif

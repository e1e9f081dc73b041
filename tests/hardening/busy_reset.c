/*
 * A writing statement left running by SQLITE_BUSY, and another statement of the same connection
 * completing before the first one's reset: the second one's row must stay written.
 *
 * Usage: busy_reset DB reset|finalize
 *
 * SQLite stops an autocommit INSERT that cannot get the write lock at its first instruction, with
 * SQLITE_BUSY, still running: a writer of its connection. A second INSERT of that connection that
 * completes meanwhile returns SQLITE_DONE but is not committed (SQLite commits an autocommit write
 * only when it is the connection's last running writer), and the first one's reset rolls it back.
 * Threads sharing a connection meet this whenever one thread's statement gets in between another
 * thread's busy step and its reset; here one thread makes the same order on purpose, so the result
 * does not depend on timing. A second connection holds the write lock (BEGIN IMMEDIATE) during the
 * first step and commits before the second.
 *
 * Prints `first=RC second=RC end=RC rows=N`: the first step's code, the second's, the reset's (or
 * finalize's) code for the first statement, and the rows another connection then sees (the
 * holder's, plus the second statement's when it was kept). Exits 1 on a setup error.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "busy_reset: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "reset") != 0 && strcmp(argv[2], "finalize") != 0)) {
        fprintf(stderr, "usage: busy_reset DB reset|finalize\n");
        return 2;
    }
    sqlite3 *holder = NULL, *db = NULL;
    if (sqlite3_open(argv[1], &holder) != SQLITE_OK || sqlite3_open(argv[1], &db) != SQLITE_OK)
        return fail(holder, "open");
    if (sqlite3_exec(holder, "BEGIN IMMEDIATE; INSERT INTO log(writer, i) VALUES(2, 0)", NULL, NULL,
                     NULL) != SQLITE_OK)
        return fail(holder, "holder");
    sqlite3_stmt *first = NULL, *second = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO log(writer, i) VALUES(11, 0)", -1, &first, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO log(writer, i) VALUES(10, 0)", -1, &second, NULL))
        return fail(db, "prepare");
    int rc_first = sqlite3_step(first);
    if (sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail(holder, "commit");
    int rc_second = sqlite3_step(second);
    sqlite3_reset(second);
    int rc_end = strcmp(argv[2], "reset") == 0 ? sqlite3_reset(first) : sqlite3_finalize(first);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(holder, "SELECT count(*) FROM log", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        return fail(holder, "count");
    printf("first=%d second=%d end=%d rows=%d\n", rc_first, rc_second, rc_end,
           sqlite3_column_int(q, 0));
    sqlite3_finalize(q);
    if (strcmp(argv[2], "reset") == 0)
        sqlite3_finalize(first);
    sqlite3_finalize(second);
    sqlite3_close(db);
    sqlite3_close(holder);
    return 0;
}

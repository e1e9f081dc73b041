/*
** Statement -> copy (handles.c), kept only while a process holds more than one SQLite copy.
*/
#ifndef LOCKFIX_HANDLES_H
#define LOCKFIX_HANDLES_H

#include <sqlite3.h>

#pragma GCC visibility push(hidden)

struct lf_copy;

void lf_stmt_owner_put(sqlite3_stmt *stmt, const struct lf_copy *c);
const struct lf_copy *lf_stmt_owner_get(sqlite3_stmt *stmt);
void lf_stmt_owner_del(sqlite3_stmt *stmt);

#pragma GCC visibility pop

#endif

/*
** A program with SQLite compiled in, as python.org's and uv's Pythons carry it on macOS: the
** stand-in SQLite (fakesqlite.c) is built with -fvisibility=hidden and linked into the
** executable, so nothing is imported or exported, and sqlite3_* remain only as local symbols.
*/
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail);
int sqlite3_step(sqlite3_stmt *stmt);
int sqlite3_close(sqlite3 *db);

int main(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open_v2("x.db", &db, 6, 0);
    sqlite3_prepare_v2(db, "select 1", -1, &st, 0);
    return sqlite3_step(st) + sqlite3_close(db);
}

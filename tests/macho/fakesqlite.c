/*
** Stands in for libsqlite3.dylib at link time: the importer fixtures link against it (two-level
** namespace, so each import records this library's ordinal). It defines SQLite's names and imports
** none: the reader must find nothing in it.
*/
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

static int calls;

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs)
{
    (void)filename, (void)db, (void)flags, (void)vfs;
    return calls++;
}
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail)
{
    (void)db, (void)sql, (void)n, (void)stmt, (void)tail;
    return calls++;
}
int sqlite3_step(sqlite3_stmt *stmt)
{
    (void)stmt;
    return sqlite3_prepare_v2(0, 0, 0, 0, 0); /* a call to its own export, as SQLite makes */
}
int sqlite3_reset(sqlite3_stmt *stmt)
{
    (void)stmt;
    return calls++;
}
int sqlite3_finalize(sqlite3_stmt *stmt)
{
    (void)stmt;
    return calls++;
}
int sqlite3_close(sqlite3 *db)
{
    (void)db;
    return calls++;
}
int sqlite3_busy_timeout(sqlite3 *db, int ms)
{
    (void)db, (void)ms;
    return calls++;
}
int sqlite3_stmt_busy(sqlite3_stmt *stmt)
{
    (void)stmt;
    return calls++;
}
char *sqlite3_temp_directory;
char sqlite3_version[] = "3.45.0";
int not_sqlite3_step(sqlite3_stmt *stmt)
{
    (void)stmt;
    return calls++;
}
int sqlite3x_open(const char *filename)
{
    (void)filename;
    return calls++;
}

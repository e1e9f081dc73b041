/*
** A program (or dylib) that imports SQLite the ways real callers do: calls through stubs (lazy
** or __got slots), a function pointer kept in data (a bind outside any symbol-pointer section),
** a data symbol, a weak import, a data pointer with an addend, and names that are not SQLite's
** but look alike. Never run: it only gives the linker something to bind (tests/unit/test_macho.c).
** Freestanding on purpose: no SDK headers exist here.
*/
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail);
int sqlite3_step(sqlite3_stmt *stmt);
int sqlite3_reset(sqlite3_stmt *stmt);
int sqlite3_finalize(sqlite3_stmt *stmt);
int sqlite3_close(sqlite3 *db);
int sqlite3_busy_timeout(sqlite3 *db, int ms);
int sqlite3_stmt_busy(sqlite3_stmt *stmt) __attribute__((weak_import));
extern char *sqlite3_temp_directory;
extern char sqlite3_version[];
int not_sqlite3_step(sqlite3_stmt *stmt); /* contains the name, does not start with it */
int sqlite3x_open(const char *filename);  /* another library's prefix */
int puts(const char *s);

/* function pointers kept in data: bound by dyld, but through no symbol-pointer section */
int (*kept_close)(sqlite3 *) = sqlite3_close;
int (*kept_step)(sqlite3_stmt *) = sqlite3_step;
const char *version_tail = sqlite3_version + 2; /* a bind with an addend */

int run(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(path, &db, 6, 0) != 0)
        return 1;
    sqlite3_busy_timeout(db, 5000);
    sqlite3_prepare_v2(db, "select 1", -1, &st, 0);
    puts(sqlite3_temp_directory ? sqlite3_temp_directory : version_tail);
    int rc = sqlite3_step(st) + not_sqlite3_step(st) + sqlite3x_open(path);
    if (sqlite3_stmt_busy)
        rc += sqlite3_stmt_busy(st);
    sqlite3_reset(st);
    sqlite3_finalize(st);
    return rc + kept_step(st) + kept_close(db);
}

int main(void)
{
    return run("x.db");
}

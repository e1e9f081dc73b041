/*
 * A program with a real, statically linked SQLite (Debian's libsqlite3.a): its sqlite3_* calls
 * are direct calls inside the executable, which no preload can take over.
 */
#include <sqlite3.h>
#include <stdio.h>

/* Uses the static copy, so the linker keeps it. */
int main(void)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(":memory:", &db);
    printf("%d %s\n", rc, sqlite3_libversion());
    sqlite3_close(db);
    return rc;
}

/*
 * A program with a real, statically linked SQLite (Debian's libsqlite3.a): its sqlite3_* calls
 * are direct calls inside the executable, which the dynamic linker never sees. With its symbol
 * table kept, lockfix patches their entries (`check`: compiled in, symbols present); its stripped
 * twin (static-sqlite-stripped) names none of them and is unreachable.
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

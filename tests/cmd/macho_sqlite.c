/*
** Mach-O fixtures of `lockfix check` (tests/cmd/build-macho): NOT SQLite, only its names. Every
** function lockfix hooks (shim/hooks.h, the list darwin.c and check use) is defined, doing
** nothing, so that the symbol table names them as a SQLite compiled into a program does; built
** -fvisibility=hidden they are local symbols (compiled in), built as a dylib they are exported.
** SQLite's file-format string and one of its messages are in it, as in SQLite's own code (what
** check looks for once the symbols are stripped). -DNO_SQLITE leaves only main: no SQLite at all.
*/
#ifndef NO_SQLITE
#include "hooks.h"

#define DEFINE_HOOK(ret, name, params, on_missing, ...)                                            \
    ret name params                                                                                \
    {                                                                                              \
        return (ret)0;                                                                             \
    }
LF_HOOKS(DEFINE_HOOK)
#undef DEFINE_HOOK

const char fake_sqlite_header[] = "SQLite format 3";
const char fake_sqlite_message[] = "unable to open database file";
#endif

#ifndef NO_MAIN
int main(void)
{
#ifndef NO_SQLITE
    sqlite3 *db = 0;
    sqlite3_stmt *st = 0;
    sqlite3_open_v2(fake_sqlite_header, &db, 6, 0);
    sqlite3_prepare_v2(db, fake_sqlite_message, -1, &st, 0);
    return sqlite3_step(st) + sqlite3_close(db);
#else
    return 0;
#endif
}
#endif

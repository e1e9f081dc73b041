/*
** Preloaded into Node 26 (tests/patch/node26-test): patch the SQLite compiled into the node
** executable (found by its LOCAL symbols) before any of its code runs, with hooks that count calls
** and forward through the trampolines. At exit, one line on stderr with the counts. This checks
** the patcher on the real prologues of a real compiled-in copy; lockfix's resolver does the rest.
*/
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "patch.h"

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

#define API(X)                                                                                   \
    X(int, sqlite3_open_v2, (const char *f, sqlite3 **db, int fl, const char *vfs), (f, db, fl, vfs)) \
    X(int, sqlite3_exec, (sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **), \
                          void *a, char **err), (db, sql, cb, a, err))                           \
    X(int, sqlite3_prepare_v2, (sqlite3 *db, const char *sql, int n, sqlite3_stmt **st,          \
                                const char **tail), (db, sql, n, st, tail))                      \
    X(int, sqlite3_prepare_v3, (sqlite3 *db, const char *sql, int n, unsigned fl,                \
                                sqlite3_stmt **st, const char **tail), (db, sql, n, fl, st, tail)) \
    X(int, sqlite3_step, (sqlite3_stmt *st), (st))                                               \
    X(int, sqlite3_reset, (sqlite3_stmt *st), (st))                                              \
    X(int, sqlite3_finalize, (sqlite3_stmt *st), (st))                                           \
    X(int, sqlite3_close_v2, (sqlite3 *db), (db))

enum {
#define ID(ret, name, params, args) ID_##name,
    API(ID)
#undef ID
    NAPI
};

static struct lf_patch patches[NAPI];
static atomic_long calls[NAPI];
static int patched;

#define HOOK(ret, name, params, args)                                \
    static ret hook_##name params                                    \
    {                                                                \
        calls[ID_##name]++;                                          \
        return ((ret(*) params)patches[ID_##name].trampoline) args;  \
    }
API(HOOK)
#undef HOOK

static const char *const names[] = {
#define NAME(ret, name, params, args) #name,
    API(NAME)
#undef NAME
};
static void *const hooks[] = {
#define PTR(ret, name, params, args) (void *)hook_##name,
    API(PTR)
#undef PTR
};

__attribute__((constructor)) static void patch_node(void)
{
    char why[160];
    if (elfsym_load_main() < 0) {
        fprintf(stderr, "node-preload: no symbol table\n");
        return;
    }
    for (int i = 0; i < NAPI; i++) {
        size_t size;
        patches[i].target = elfsym_find(names[i], &size);
        patches[i].size = size;
        patches[i].hook = hooks[i];
        if (!patches[i].target || lf_patch_prepare(&patches[i], why, sizeof why) < 0) {
            fprintf(stderr, "node-preload: %s refused: %s\n", names[i],
                    patches[i].target ? why : "not found");
            for (int k = 0; k < i; k++) lf_patch_discard(&patches[k]);
            return;
        }
    }
    if (lf_patch_apply(patches, NAPI, why, sizeof why) < 0) {
        fprintf(stderr, "node-preload: apply failed: %s\n", why);
        return;
    }
    patched = NAPI;
}

__attribute__((destructor)) static void report(void)
{
    char line[512];
    int n = snprintf(line, sizeof line, "node-preload: patched %d;", patched);
    for (int i = 0; i < NAPI && n < (int)sizeof line; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %s=%ld", names[i] + 8, (long)calls[i]);
    if (n < (int)sizeof line - 1) line[n++] = '\n';
    write(2, line, (size_t)n);
}

/* The interface between twocopies and its two plugins (see twocopies_plugin.c). */
#ifndef LOCKFIX_TWOCOPIES_H
#define LOCKFIX_TWOCOPIES_H

#include <stddef.h>

struct twocopies_plugin {
    const char *name;                   /* "sys" or "cipher" */
    const char *(*header_version)(void); /* SQLITE_VERSION of the header it was compiled with */
    const char *(*lib_version)(void);    /* sqlite3_libversion() of the copy it reaches */
    /* `SELECT sqlite_version()` and `PRAGMA cipher_version` (NULL: no row) on a :memory: db;
     * both malloc'ed. Returns 0, or -1 with a message in err. */
    int (*versions)(char **sql_version, char **cipher_version, char *err, size_t errlen);
    void *(*open_db)(const char *path, char *err, size_t errlen);
    int (*close_db)(void *db);      /* sqlite3_close's result, checked inside the plugin */
    int (*close_db_tail)(void *db); /* `return sqlite3_close(db);`: a tail call at -O2 */
    /* One read-modify-write transaction; 0 ok, -1 failed and rolled back (message in err). */
    int (*txn)(void *db, long writer, long i, long hold_ms, char *err, size_t errlen);
};

#endif

/*
** The one list of SQLite functions lockfix knows about.
**
** LF_HOOKS lists the functions the shim interposes: each becomes an exported trampoline
** (exports.c), a macOS interpose record (darwin.c), and a slot in struct lf_copy that holds
** the real function of one SQLite copy (resolve.c). LF_HELPERS lists functions the shim only
** calls, never exports: they are looked up in the same copy so a handle is never given to
** another copy's code.
**
** X(ret, name, params, on_missing, owner, args...)  — for hooks
**   on_missing: the value returned when no real function can be found for the caller, after
**   lf_missing() logged it once. For the open calls it also clears *ppDb so a program that
**   inspects the handle after a failed open does not read garbage.
**   owner: how the copy is found: by the caller's return address `ra` (opens), or by the handle
**   the call carries, which belongs to the copy that made it (see resolve.c).
** H(ret, name, params)                       — for helpers
**
** LF_HOOKS is the whole list. Its last part, LF_HOOKS_HOT, holds the calls a program makes for
** every statement it runs; their trampolines are the hot path (exports.c). They exist in every
** copy the shim does not pass through: copy_for_object() (resolve.c) refuses a copy without
** sqlite3_step, and a copy without sqlite3_reset is passthrough.
*/
#ifndef LOCKFIX_HOOKS_H
#define LOCKFIX_HOOKS_H

#include <sqlite3.h>

typedef int (*lf_busy_fn)(void *, int);
typedef int (*lf_exec_cb)(void *, int, char **, char **);

#define LF_HOOKS(X) LF_HOOKS_COLD(X) LF_HOOKS_HOT(X)

#define LF_HOOKS_COLD(X)                                                                           \
    X(int, sqlite3_open, (const char *filename, sqlite3 **ppDb),                                   \
      lf_missing_open("sqlite3_open", ppDb), lf_copy_fast(ra), filename, ppDb)                                       \
    X(int, sqlite3_open16, (const void *filename, sqlite3 **ppDb),                                 \
      lf_missing_open("sqlite3_open16", ppDb), lf_copy_fast(ra), filename, ppDb)                                     \
    X(int, sqlite3_open_v2, (const char *filename, sqlite3 **ppDb, int flags, const char *zVfs),   \
      lf_missing_open("sqlite3_open_v2", ppDb), lf_copy_fast(ra), filename, ppDb, flags, zVfs)                       \
    X(int, sqlite3_exec,                                                                           \
      (sqlite3 *db, const char *sql, lf_exec_cb callback, void *arg, char **errmsg),               \
      lf_missing("sqlite3_exec"), lf_copy_by_db(ra, db), db, sql, callback, arg, errmsg)                                  \
    X(int, sqlite3_prepare,                                                                        \
      (sqlite3 *db, const char *zSql, int nByte, sqlite3_stmt **ppStmt, const char **pzTail),      \
      lf_missing_stmt("sqlite3_prepare", ppStmt), lf_copy_by_db(ra, db), db, zSql, nByte, ppStmt, pzTail)                 \
    X(int, sqlite3_prepare_v2,                                                                     \
      (sqlite3 *db, const char *zSql, int nByte, sqlite3_stmt **ppStmt, const char **pzTail),      \
      lf_missing_stmt("sqlite3_prepare_v2", ppStmt), lf_copy_by_db(ra, db), db, zSql, nByte, ppStmt, pzTail)              \
    X(int, sqlite3_prepare_v3,                                                                     \
      (sqlite3 *db, const char *zSql, int nByte, unsigned int prepFlags, sqlite3_stmt **ppStmt,    \
       const char **pzTail),                                                                       \
      lf_missing_stmt("sqlite3_prepare_v3", ppStmt), lf_copy_by_db(ra, db), db, zSql, nByte, prepFlags, ppStmt, pzTail)   \
    X(int, sqlite3_prepare16,                                                                      \
      (sqlite3 *db, const void *zSql, int nByte, sqlite3_stmt **ppStmt, const void **pzTail),      \
      lf_missing_stmt("sqlite3_prepare16", ppStmt), lf_copy_by_db(ra, db), db, zSql, nByte, ppStmt, pzTail)               \
    X(int, sqlite3_prepare16_v2,                                                                   \
      (sqlite3 *db, const void *zSql, int nByte, sqlite3_stmt **ppStmt, const void **pzTail),      \
      lf_missing_stmt("sqlite3_prepare16_v2", ppStmt), lf_copy_by_db(ra, db), db, zSql, nByte, ppStmt, pzTail)            \
    X(int, sqlite3_prepare16_v3,                                                                   \
      (sqlite3 *db, const void *zSql, int nByte, unsigned int prepFlags, sqlite3_stmt **ppStmt,    \
       const void **pzTail),                                                                       \
      lf_missing_stmt("sqlite3_prepare16_v3", ppStmt), lf_copy_by_db(ra, db), db, zSql, nByte, prepFlags, ppStmt, pzTail) \
    X(int, sqlite3_busy_timeout, (sqlite3 * db, int ms), lf_missing("sqlite3_busy_timeout"), lf_copy_by_db(ra, db), db,   \
      ms)                                                                                          \
    X(int, sqlite3_busy_handler, (sqlite3 * db, lf_busy_fn handler, void *arg),                    \
      lf_missing("sqlite3_busy_handler"), lf_copy_by_db(ra, db), db, handler, arg)                                        \
    X(int, sqlite3_finalize, (sqlite3_stmt * stmt), lf_missing("sqlite3_finalize"), lf_copy_by_stmt(ra, stmt), stmt)          \
    X(int, sqlite3_close, (sqlite3 * db), lf_missing("sqlite3_close"), lf_copy_by_db(ra, db), db)                         \
    X(int, sqlite3_close_v2, (sqlite3 * db), lf_missing("sqlite3_close_v2"), lf_copy_by_db(ra, db), db) \
    X(sqlite3_backup *, sqlite3_backup_init,                                                       \
      (sqlite3 * pDest, const char *zDestName, sqlite3 *pSource, const char *zSourceName),          \
      lf_missing_backup("sqlite3_backup_init"), lf_copy_by_db(ra, pDest), pDest, zDestName,         \
      pSource, zSourceName)                                                                        \
    X(int, sqlite3_backup_step, (sqlite3_backup * p, int nPage), lf_missing("sqlite3_backup_step"), \
      lf_copy_by_backup(ra, p), p, nPage)                                                          \
    X(int, sqlite3_backup_finish, (sqlite3_backup * p), lf_missing("sqlite3_backup_finish"),        \
      lf_copy_by_backup(ra, p), p)

#define LF_HOOKS_HOT(X)                                                                            \
    X(int, sqlite3_step, (sqlite3_stmt * stmt), lf_missing("sqlite3_step"), lf_copy_by_stmt(ra, stmt), stmt)                  \
    X(int, sqlite3_reset, (sqlite3_stmt * stmt), lf_missing("sqlite3_reset"), lf_copy_by_stmt(ra, stmt), stmt)

#define LF_HELPERS(H)                                                                              \
    H(int, sqlite3_libversion_number, (void))                                                      \
    H(const char *, sqlite3_libversion, (void))                                                    \
    H(int, sqlite3_errcode, (sqlite3 *))                                                           \
    H(int, sqlite3_extended_errcode, (sqlite3 *))                                                  \
    H(int, sqlite3_get_autocommit, (sqlite3 *))                                                    \
    H(sqlite3 *, sqlite3_db_handle, (sqlite3_stmt *))                                              \
    H(int, sqlite3_stmt_busy, (sqlite3_stmt *))                                                    \
    H(int, sqlite3_stmt_readonly, (sqlite3_stmt *))                                                \
    H(const char *, sqlite3_sql, (sqlite3_stmt *))                                                 \
    H(const unsigned char *, sqlite3_column_text, (sqlite3_stmt *, int))                           \
    H(const char *, sqlite3_db_filename, (sqlite3 *, const char *))                                \
    H(int, sqlite3_db_readonly, (sqlite3 *, const char *))                                         \
    H(const char *, sqlite3_db_name, (sqlite3 *, int))                                             \
    H(const char *, sqlite3_uri_parameter, (const char *, const char *))                           \
    H(int, sqlite3_column_count, (sqlite3_stmt *))                                                 \
    H(void, sqlite3_free, (void *))                                                                \
    H(sqlite3_mutex *, sqlite3_db_mutex, (sqlite3 *))                                              \
    H(void, sqlite3_mutex_enter, (sqlite3_mutex *))                                                \
    H(void, sqlite3_mutex_leave, (sqlite3_mutex *))

#endif

/*
** Every internal header of the shim at once. It remains only for static.c, objcache.c, symtab.c
** and unreachable.c, which still include it: every other file includes the headers it uses, and
** this umbrella is to be removed once those four do too. Nothing declared in the headers is
** exported: the library is built with -fvisibility=hidden and a version script that exports
** sqlite3_* only, and each header declares its names hidden.
**
**   base.h         LF_LIKELY, LF_UNLIKELY, LF_TLS, LF_PATH_MAX
**   resolve.h      struct lf_copy and how a caller finds its copy (lf_copy_fast, lf_copy_for,
**                  lf_copy_by_db/stmt/backup), lf_any_call_seen, the guard and LF_SQLITE_CALL
**                  (resolve.c; darwin.c on macOS; lf_copy_by_backup_slow in backup.c)
**   handles.h      statement -> copy while several copies are loaded (handles.c)
**   config.h       struct lf_config, its parser, lf_config(), lf_disabled, lf_queue_enabled
**                  (config.c, pure)
**   globs.h        include/exclude glob matching (glob.c, pure)
**   log.h          lf_log, lf_log_debug_enabled, lf_log_sql (log.c)
**   rewrite.h      SQL classification and rewriting: lf_text, lf_stmt, lf_rewritten (rewrite.c,
**                  pure)
**   retry.h        the retry rule and back-off, lf_rc_name (retry.c, pure)
**   clock.h        lf_now_ms, lf_sleep_ms (clock.c)
**   platform.h     lf_secure_exec, lf_fs_wal_unsafe (platform.c; darwin.c on macOS)
**   conn.h         enum lf_event and what lockfix knows per connection: lf_conn_* (conn.c)
**   queue.h        the writer queue and a connection's turn: lf_queue_*, struct lf_turn
**                  (queue.c)
**   long_turn.h    lf_long_turn_watch (long_turn.c)
**   turn.h         lf_turn_before_write, lf_turn_end, lf_turn_end_if_done (turn.c)
**   deadline.h     one deadline per statement, lf_set_timeout (deadline.c)
**   open_policy.h  lf_run_own, lf_wal_at_first_write (open_policy.c)
**   unreachable.h  lf_report_unreachable (unreachable.c; darwin.c on macOS)
**   impl.h         the lf_impl_* function behind each hook, lf_missing* (exports.c),
**                  lf_copy_stand_ins (stmt.c)
*/
#ifndef LOCKFIX_H
#define LOCKFIX_H

#include "base.h"
#include "resolve.h"
#include "handles.h"
#include "config.h"
#include "globs.h"
#include "log.h"
#include "rewrite.h"
#include "retry.h"
#include "clock.h"
#include "platform.h"
#include "conn.h"
#include "queue.h"
#include "long_turn.h"
#include "turn.h"
#include "deadline.h"
#include "open_policy.h"
#include "unreachable.h"
#include "impl.h"

#endif

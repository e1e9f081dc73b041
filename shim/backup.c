/*
** The backup API, where lockfix's WAL switch would make it fail.
**
** SQLite cannot back up into a WAL database whose page size differs from the source's: the step
** fails with SQLITE_READONLY, for good (the error sticks to the backup). Into a rollback-journal
** database it changes the destination's page size as part of the copy. So a destination that
** lockfix switched to WAL — at an earlier open, or at its first write — would refuse a backup
** that works without lockfix (node sqlite3's own backup tests: a file made by one connection, then
** a backup of a 1024-byte-page database into it).
**
** Before each step, until it has been checked once: when the destination is a file database that
** lockfix acts on, in WAL, and its page size differs from the source's, it is put back into the
** rollback journal (`PRAGMA journal_mode=DELETE`), as it would be without lockfix, and the step
** goes on; the next open of the database switches it to WAL again. Putting it back needs the
** database to itself: while another connection has it open the switch fails, is tried again at the
** next step, and the step itself runs as without lockfix (another connection's lock makes it
** return SQLITE_BUSY, which the program retries). Nothing else about a backup is changed.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "impl.h"
#include "log.h"
#include "open_policy.h"
#include "resolve.h"

struct backup_rec {
    sqlite3_backup *b;
    const struct lf_copy *c;
    sqlite3 *dest, *src;
    char dname[64], sname[64]; /* schema names, checked to be plain identifiers */
    int checked;               /* the destination's journal and page size are settled */
    struct backup_rec *next;
};

static struct backup_rec *recs;
static pthread_mutex_t backup_lock = PTHREAD_MUTEX_INITIALIZER;

/* A schema name that can be put into a PRAGMA as it is: NULL means "main". */
static int plain_name(const char *name, char *dst, size_t cap)
{
    const char *n = name ? name : "main";
    size_t len = strlen(n);
    if (len == 0 || len >= cap)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = n[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    memcpy(dst, n, len + 1);
    return 1;
}

static struct backup_rec *find_locked(sqlite3_backup *b)
{
    for (struct backup_rec *r = recs; r; r = r->next)
        if (r->b == b)
            return r;
    return NULL;
}

const struct lf_copy *lf_copy_by_backup_slow(const void *ra, sqlite3_backup *p)
{
    pthread_mutex_lock(&backup_lock);
    struct backup_rec *r = find_locked(p);
    const struct lf_copy *c = r ? r->c : NULL;
    pthread_mutex_unlock(&backup_lock);
    return c ? c : lf_copy_fast(ra);
}

sqlite3_backup *lf_impl_sqlite3_backup_init(const struct lf_copy *c, sqlite3 *pDest,
                                            const char *zDestName, sqlite3 *pSource,
                                            const char *zSourceName)
{
    sqlite3_backup *b;
    LF_SQLITE_CALL(b, c->sqlite3_backup_init(pDest, zDestName, pSource, zSourceName));
    if (b == NULL)
        return NULL;
    struct backup_rec *r = calloc(1, sizeof *r);
    if (r == NULL)
        return b;
    r->b = b;
    r->c = c;
    r->dest = pDest;
    r->src = pSource;
    struct lf_conn *conn = lf_conn_get(pDest, c);
    /* nothing to settle: a destination lockfix leaves alone, or names it cannot quote */
    r->checked = !lf_conn_enabled(conn) || !plain_name(zDestName, r->dname, sizeof r->dname) ||
                 !plain_name(zSourceName, r->sname, sizeof r->sname);
    pthread_mutex_lock(&backup_lock);
    r->next = recs;
    recs = r;
    pthread_mutex_unlock(&backup_lock);
    return b;
}

/* Whether the destination had to, and could, be put back into the rollback journal; 1 when
** settled (nothing to do, or done). */
static int settle_destination(struct backup_rec *r)
{
    const struct lf_copy *c = r->c;
    char sql[128], mode[32], dsize[32], ssize[32];
    int settled = 0;
    lf_guard++;
    snprintf(sql, sizeof sql, "PRAGMA %s.journal_mode", r->dname);
    if (lf_run_own(c, r->dest, sql, mode, sizeof mode) != SQLITE_OK)
        goto out;
    if (strcasecmp(mode, "wal") != 0) {
        settled = 1;
        goto out;
    }
    snprintf(sql, sizeof sql, "PRAGMA %s.page_size", r->dname);
    if (lf_run_own(c, r->dest, sql, dsize, sizeof dsize) != SQLITE_OK)
        goto out;
    snprintf(sql, sizeof sql, "PRAGMA %s.page_size", r->sname);
    if (lf_run_own(c, r->src, sql, ssize, sizeof ssize) != SQLITE_OK)
        goto out;
    if (strcmp(dsize, ssize) == 0) {
        settled = 1;
        goto out;
    }
    snprintf(sql, sizeof sql, "PRAGMA %s.journal_mode=DELETE", r->dname);
    if (lf_run_own(c, r->dest, sql, mode, sizeof mode) == SQLITE_OK &&
        strcasecmp(mode, "delete") == 0) {
        settled = 1;
        lf_log("wal-undone db=%s reason=backup-page-size from=%s to=%s (a backup cannot change a "
               "WAL database's page size; the next open switches it to WAL again)",
               lf_conn_path(lf_conn_get(r->dest, c)), dsize, ssize);
    }
out:
    lf_guard--;
    return settled;
}

int lf_impl_sqlite3_backup_step(const struct lf_copy *c, sqlite3_backup *p, int nPage)
{
    if (p != NULL) {
        pthread_mutex_lock(&backup_lock);
        struct backup_rec *r = find_locked(p);
        pthread_mutex_unlock(&backup_lock);
        if (r != NULL && !r->checked)
            r->checked = settle_destination(r);
    }
    int rc;
    LF_SQLITE_CALL(rc, c->sqlite3_backup_step(p, nPage));
    return rc;
}

int lf_impl_sqlite3_backup_finish(const struct lf_copy *c, sqlite3_backup *p)
{
    pthread_mutex_lock(&backup_lock);
    for (struct backup_rec **pp = &recs; *pp; pp = &(*pp)->next) {
        if ((*pp)->b == p) {
            struct backup_rec *r = *pp;
            *pp = r->next;
            free(r);
            break;
        }
    }
    pthread_mutex_unlock(&backup_lock);
    int rc;
    LF_SQLITE_CALL(rc, c->sqlite3_backup_finish(p));
    return rc;
}

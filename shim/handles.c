/*
** Which SQLite copy made each statement, for processes that hold more than one copy.
**
** The step, reset and finalize hooks normally find the copy from their caller's return address.
** That can mislead when the call was a tail call from a wrapper (the return address is then in
** the wrapper's caller), and with two copies loaded a statement given to the wrong copy's code
** corrupts memory. So while more than one copy is loaded, each statement prepared through the
** shim is recorded with its copy, and the record is the authority. A process with one copy never
** touches this table.
*/
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "handles.h"

#define LF_STMT_BUCKETS 4096

struct owner {
    sqlite3_stmt *stmt;
    const struct lf_copy *copy;
    struct owner *next;
};

static struct owner *buckets[LF_STMT_BUCKETS];
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket_of(const sqlite3_stmt *stmt)
{
    uintptr_t x = (uintptr_t)stmt;
    return (size_t)((x >> 4) ^ (x >> 16)) % LF_STMT_BUCKETS;
}

void lf_stmt_owner_put(sqlite3_stmt *stmt, const struct lf_copy *c)
{
    pthread_mutex_lock(&owner_lock);
    struct owner *o;
    for (o = buckets[bucket_of(stmt)]; o; o = o->next)
        if (o->stmt == stmt)
            break;
    if (o == NULL && (o = malloc(sizeof *o)) != NULL) {
        o->stmt = stmt;
        o->next = buckets[bucket_of(stmt)];
        buckets[bucket_of(stmt)] = o;
    }
    if (o != NULL) /* an address reused after a finalize the shim did not see */
        o->copy = c;
    pthread_mutex_unlock(&owner_lock);
}

const struct lf_copy *lf_stmt_owner_get(sqlite3_stmt *stmt)
{
    const struct lf_copy *c = NULL;
    pthread_mutex_lock(&owner_lock);
    for (struct owner *o = buckets[bucket_of(stmt)]; o; o = o->next) {
        if (o->stmt == stmt) {
            c = o->copy;
            break;
        }
    }
    pthread_mutex_unlock(&owner_lock);
    return c;
}

void lf_stmt_owner_del(sqlite3_stmt *stmt)
{
    pthread_mutex_lock(&owner_lock);
    for (struct owner **pp = &buckets[bucket_of(stmt)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->stmt == stmt) {
            struct owner *o = *pp;
            *pp = o->next;
            free(o);
            break;
        }
    }
    pthread_mutex_unlock(&owner_lock);
}

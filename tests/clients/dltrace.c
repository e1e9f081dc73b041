/*
 * dltrace: an LD_PRELOAD library that prints every dlopen() of a file whose name contains
 * "sqlite" (any case) with its flags, to stderr, then does the dlopen. It shows how a client loads
 * SQLite — which scope (LOCAL/GLOBAL), RTLD_DEEPBIND — without reading its source:
 *
 *     LD_PRELOAD=build/clients/dltrace.so php -r 'new SQLite3(":memory:");'
 *     dltrace: dlopen(/usr/lib/php/20220829/sqlite3.so, LAZY|GLOBAL|DEEPBIND)
 *
 * docs/clients.md quotes its output for each client. Built by mk/clients.mk.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

__attribute__((visibility("default"))) void *dlopen(const char *file, int flags)
{
    static void *(*real_dlopen)(const char *, int);
    if (real_dlopen == NULL)
        real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    if (file != NULL && strcasestr(file, "sqlite") != NULL)
        fprintf(stderr, "dltrace: dlopen(%s, %s%s%s%s)\n", file, (flags & RTLD_NOW) ? "NOW" : "LAZY",
                (flags & RTLD_GLOBAL) ? "|GLOBAL" : "|LOCAL", (flags & RTLD_DEEPBIND) ? "|DEEPBIND" : "",
                (flags & RTLD_NOLOAD) ? "|NOLOAD" : "");
    return real_dlopen(file, flags);
}

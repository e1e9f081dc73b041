/*
 * A program carrying what looks like a compiled-in SQLite (LOCAL sqlite3_* symbols in .symtab,
 * none exported) whose sqlite3_step is 3 bytes long: too short for any jump to be written over
 * it. lockfix must refuse the whole copy (all of its functions or none), say so in one
 * `static-refused` line naming the object, the function and the reason, and leave every byte of
 * the program's code as the file has it: main compares the first 16 bytes of each function in
 * memory with the executable file's. Prints `code unchanged` and the fake calls' results.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "code_vs_file.h"

/* sqlite3_step: `xor %eax,%eax; ret` */
__asm__(".text\n"
        ".type sqlite3_step, @function\n"
        "sqlite3_step:\n"
        "    xorl %eax, %eax\n"
        "    ret\n"
        ".size sqlite3_step, .-sqlite3_step\n");
int sqlite3_step(void *stmt) __attribute__((visibility("hidden")));

/* Long enough to be patched on their own: a copy refused whole leaves them alone too. */
__attribute__((noinline, visibility("hidden"))) int sqlite3_prepare_v2(void *db, const char *sql,
                                                                       int n, void **stmt,
                                                                       const char **tail)
{
    volatile int k = 0;
    for (const char *p = sql; n != 0 && *p; p++, n--)
        k += *p;
    *stmt = db;
    if (tail)
        *tail = sql;
    return k & 1;
}

__attribute__((noinline, visibility("hidden"))) int sqlite3_open_v2(const char *name, void **db,
                                                                    int flags, const char *vfs)
{
    volatile int k = flags;
    *db = (void *)name;
    return vfs ? k : 0;
}

/* 0 when the 16 bytes at fn are the file's bytes at the same address. */
static int differs(const void *fn, const char *name)
{
    const char *state = code_state(fn);
    if (strcmp(state, "unchanged") == 0)
        return 0;
    printf("%s: code %s\n", name, state);
    return 1;
}

int main(void)
{
    int bad = differs((const void *)sqlite3_step, "sqlite3_step") +
              differs((const void *)sqlite3_prepare_v2, "sqlite3_prepare_v2") +
              differs((const void *)sqlite3_open_v2, "sqlite3_open_v2");
    void *db = NULL, *st = NULL;
    int rc = sqlite3_open_v2("x", &db, 6, NULL) + sqlite3_prepare_v2(db, "ab", -1, &st, NULL) +
             sqlite3_step(st);
    printf("%s rc=%d\n", bad ? "code CHANGED" : "code unchanged", rc);
    return bad ? 1 : 0;
}

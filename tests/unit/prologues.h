/*
** Real function prologues for the decoder tests: lines written by tests/patch/prologues.py from
** real binaries (Debian's libsqlite3, Node 26's executable, our own builds), each with objdump's
** reading of the instructions, the independent answer the decoder is held to.
**
** The files are made by `make patch-prologues` (a prerequisite of `make unit`) under
** build/tests/patch/; a missing file fails the test with the command that makes it.
*/
#ifndef PROLOGUES_H
#define PROLOGUES_H

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRO_MAX_BYTES 64
#define PRO_MAX_INSNS 48
#define PRO_DIR "build/tests/patch/"

struct prologue {
    char name[128];
    size_t size;                       /* from the symbol: 0 if unknown */
    unsigned char code[PRO_MAX_BYTES];
    size_t len;                        /* bytes in code */
    unsigned n;                        /* instructions objdump read */
    unsigned ilen[PRO_MAX_INSNS];
    int has_target[PRO_MAX_INSNS];
    long long target[PRO_MAX_INSNS];   /* relative to the function's address */
};

/* Parse one line; 0 on success. */
static int prologue_parse(char *line, struct prologue *p)
{
    char hex[2 * PRO_MAX_BYTES + 2];
    int used = 0;
    memset(p, 0, sizeof *p);
    if (sscanf(line, "%127s %zu %129s %n", p->name, &p->size, hex, &used) < 3) return -1;
    p->len = strlen(hex) / 2;
    for (size_t i = 0; i < p->len; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        p->code[i] = (unsigned char)b;
    }
    char *s = line + used, *tok;
    while ((tok = strtok(s, " \n")) && p->n < PRO_MAX_INSNS) {
        s = NULL;
        char *colon = strchr(tok, ':');
        if (!colon) return -1;
        p->ilen[p->n] = (unsigned)atoi(tok);
        p->has_target[p->n] = colon[1] != '_';
        p->target[p->n] = p->has_target[p->n] ? atoll(colon + 1) : 0;
        p->n++;
    }
    return 0;
}

/* Call fn on every prologue in every file matching PRO_DIR pattern; returns the files read. */
static int prologue_each(const char *pattern, void (*fn)(const char *file, const struct prologue *p,
                                                         void *arg), void *arg)
{
    glob_t g;
    char path[256];
    snprintf(path, sizeof path, PRO_DIR "%s", pattern);
    if (glob(path, 0, NULL, &g) != 0) return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        char line[1024];
        struct prologue p;
        if (!f) continue;
        while (fgets(line, sizeof line, f))
            if (prologue_parse(line, &p) == 0) fn(g.gl_pathv[i], &p, arg);
        fclose(f);
    }
    int n = (int)g.gl_pathc;
    globfree(&g);
    return n;
}

#endif

/*
 * libFuzzer target: the SQL rewriter (shim/rewrite.c) on any text, UTF-8 or UTF-16, with every
 * form of nByte a caller may pass, and a differential check against the real SQLite.
 *
 * Input: byte 0 chooses the width (bit 0), the nByte form (bits 1-3: -1, exact, one short, one
 * over with a NUL, an odd byte count, 0, a large count with a NUL) and rewrite_begin (bit 4);
 * byte 1 the busy-timeout floor; the rest is the text.
 *
 * Checked: nothing crashes or reads past what SQLite would read; a rewrite keeps the text up to
 * the end of the first statement; and SQLite prepares the rewritten text to the same place as
 * the original (the tail mapped back through lf_rewrite_map_back is the original's tail) and with
 * the same success. Also lf_rewrite_all and lf_sql_first_kind on the UTF-8 text.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

static sqlite3 *db;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_rewrite: %s\n", what);
    abort();
}

/* Prepare the first statement; returns the rc and sets *tail_units (units consumed). */
static int prepare(const void *p, int nbyte, int wide, size_t *tail_units)
{
    sqlite3_stmt *st = NULL;
    const void *tail = NULL;
    int rc = wide ? sqlite3_prepare16_v2(db, p, nbyte, &st, &tail)
                  : sqlite3_prepare_v2(db, p, nbyte, &st, (const char **)&tail);
    sqlite3_finalize(st);
    *tail_units = tail ? (size_t)((const char *)tail - (const char *)p) / (wide ? 2 : 1) : 0;
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        fail("open");
    sqlite3_exec(db, "CREATE TABLE t(a, b); CREATE TABLE counter(id, v)", NULL, NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 1 << 16)
        return 0;
    int wide = data[0] & 1, form = (data[0] >> 1) & 7, rewrite_begin = (data[0] >> 4) & 1;
    long floor_ms = data[1] * 100L;
    size_t len = size - 2;
    if (wide)
        len &= ~(size_t)1;
    /* the caller's buffer: exactly the text, plus two NUL bytes only where the form says so */
    int nul = form == 0 || form == 3 || form == 6;
    uint8_t *buf = malloc(len + (nul ? 2 : 0) + 1);
    memcpy(buf, data + 2, len);
    if (nul)
        buf[len] = buf[len + 1] = 0;
    int nbyte;
    switch (form) {
    case 0:
        nbyte = -1;
        break;
    case 1:
        nbyte = (int)len;
        break;
    case 2:
        nbyte = len > 0 ? (int)len - 1 : 0;
        break;
    case 3:
        nbyte = (int)len + (wide ? 2 : 1);
        break;
    case 4:
        nbyte = len > 0 ? (int)len - (len % 2 ? 0 : 1) : 0;
        break; /* odd where possible */
    case 5:
        nbyte = 0;
        break;
    case 6:
        nbyte = -7;
        break;
    default:
        nbyte = (int)len;
        break;
    }
    if (nbyte < 0 && !nul)
        nbyte = (int)len;
    if (wide && nbyte >= 0 && nbyte % 2 && (size_t)nbyte + 1 > len + (nul ? 2 : 0))
        nbyte--; /* an odd count is rounded up to whole units: stay inside the buffer */

    size_t units = lf_text_units(buf, nbyte, wide);
    struct lf_text t = {buf, units, wide};
    struct lf_rewritten rw;
    memset(&rw, 0, sizeof rw);
    int r = lf_rewrite_first(&t, floor_ms, rewrite_begin, &rw);
    if (r == 1) {
        if (rw.p == NULL)
            fail("rewrite without text");
        size_t unit = wide ? 2 : 1;
        /* the text before the edit is kept byte for byte */
        if (memcmp(rw.p, buf, rw.st.edit_at * unit) != 0)
            fail("text before the edit changed");
        size_t t0, t1;
        int rc0 = prepare(buf, nbyte, wide, &t0);
        int rc1 = prepare(rw.p, -1, wide, &t1);
        if ((rc0 == SQLITE_OK) != (rc1 == SQLITE_OK))
            fail("the rewrite changed whether the statement prepares");
        if (rc0 == SQLITE_OK && lf_rewrite_map_back(&rw, t1) != t0)
            fail("the rewrite moved the end of the first statement");
        lf_rewritten_release(&rw);
    } else if (r != 0 && r != -1) {
        fail("lf_rewrite_first returned an unknown value");
    }
    if (!wide) {
        char *s = malloc(units + 1);
        memcpy(s, buf, units);
        s[units] = '\0';
        (void)lf_sql_first_kind(s);
        int nb = 0, nt = 0, ns = 0, oom = 0;
        enum lf_stmt_kind k;
        char *all = lf_rewrite_all(s, floor_ms, rewrite_begin, &nb, &nt, &ns, &k, &oom);
        if (all != NULL && nb + nt == 0)
            fail("lf_rewrite_all changed the text without counting an edit");
        free(all);
        free(s);
    }
    free(buf);
    return 0;
}

/*
** What darwin.c hands the entry patcher for a SQLite compiled into a Mach-O image, checked on
** Linux without running it: in every compiled-in fixture (tests/macho/build: clang-14 for
** arm64-apple-macos11 and x86_64-apple-macos10.15, linked by ld64.lld), each local sqlite3_*
** function has a size from LC_FUNCTION_STARTS (lf_macho_function_size), and the decoder of its
** architecture relocates its first instructions for the short entry jump and finds no branch back
** into them, as lf_patch_prepare would on a Mac. The memory side (MAP_JIT, VM_PROT_COPY) cannot
** run here.
*/
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insn_a64.h"
#include "insn_x86.h"
#include "macho.h"
#include "macho_fixtures.h"

/* The file bytes of [vmaddr, vmaddr + len) in a file image, or NULL. */
static const unsigned char *code_at(const struct lf_macho *m, uint64_t vmaddr, uint64_t len)
{
    int s = lf_macho_seg_of(m, vmaddr, len);
    if (s < 0 || vmaddr - m->seg[s].vmaddr + len > m->seg[s].filesize)
        return NULL;
    return m->base + m->seg[s].fileoff + (vmaddr - m->seg[s].vmaddr);
}

Test(macho_entries, compiled_in_entries_relocate_with_their_sizes)
{
    const char *dir = fixture_dir();
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no fixture directory %s (run `make macho-fixtures`)", dir);
    int images = 0, entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        static const char suffix[] = "compiled-in.macho";
        size_t len = strlen(e->d_name), slen = sizeof suffix - 1;
        if (len < slen || strcmp(e->d_name + len - slen, suffix) != 0)
            continue;
        char path[512], syms_path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(syms_path, sizeof syms_path, "%s/%.*s.syms", dir, (int)(len - 6), e->d_name);
        size_t size, ssize;
        char *buf = load(path, &size), *syms = load(syms_path, &ssize);
        struct lf_macho m;
        const char *why = NULL;
        cr_assert_eq(lf_macho_parse(&m, buf, size, 0, &why), 0, "%s: %s", e->d_name, why);
        int x86 = m.cputype == LF_MACHO_CPU_X86_64;
        for (char *line = strtok(syms, "\n"); line; line = strtok(NULL, "\n")) {
            unsigned long long at;
            char type;
            cr_assert_eq(sscanf(line, "%llx %c", &at, &type), 2, "%s: %s", e->d_name, line);
            if (type != 't')
                continue; /* only the local functions: the compiled-in copy */
            uint64_t fsize = lf_macho_function_size(&m, at);
            cr_assert_gt(fsize, 0, "%s: %s has no size", e->d_name, line);
            const unsigned char *code = code_at(&m, at, fsize);
            cr_assert_not_null(code, "%s: %s not in the file", e->d_name, line);
            unsigned char jump[32], out[256];
            uint64_t tramp = at + (16u << 20); /* a pool 16 MB away: within reach of both jumps */
            size_t pad = x86 ? lf_x86_landing_pad(code, fsize) : lf_a64_landing_pad(code, fsize);
            size_t need =
                x86 ? lf_x86_jump(jump, at + pad, tramp) : lf_a64_jump(jump, at + pad, tramp);
            cr_expect_eq(need, x86 ? 5u : 4u, "%s: %s: short jump", e->d_name, line);
            struct lf_reloc r = {.code = code + pad,
                                 .avail = fsize - pad,
                                 .src = at + pad,
                                 .fn_start = at,
                                 .need = need,
                                 .out = out,
                                 .out_cap = sizeof out,
                                 .dst = tramp + 16};
            char reason[160] = "";
            int rc = x86 ? lf_x86_relocate(&r, reason, sizeof reason)
                         : lf_a64_relocate(&r, reason, sizeof reason);
            cr_expect_eq(rc, 0, "%s: %s: %s", e->d_name, line, reason);
            if (rc != 0)
                continue;
            cr_expect(r.covered >= need && pad + r.covered <= fsize, "%s: %s: covered %zu of %llu",
                      e->d_name, line, r.covered, (unsigned long long)fsize);
            rc = x86 ? lf_x86_check_body(code, fsize, at, pad, r.covered, reason, sizeof reason)
                     : lf_a64_check_body(code, fsize, at, pad, r.covered, reason, sizeof reason);
            cr_expect_eq(rc, 0, "%s: %s: %s", e->d_name, line, reason);
            entries++;
        }
        images++;
        free(syms);
        free(buf);
    }
    closedir(d);
    cr_expect_eq(images, 4, "the four compiled-in fixtures");
    cr_expect_geq(entries, 4 * 7, "only %d entries checked", entries);
    cr_log_info("%d images, %d entries", images, entries);
}

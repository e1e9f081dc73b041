/*
** macho.c, the Mach-O import reader that darwin.c relies on, against Mach-O files a real linker
** made here (tests/macho/build links the sources in tests/macho/ with ld64.lld for arm64 and
** x86_64, with classic bind opcodes and with fixup chains, as executables, two-level dylibs,
** flat-namespace dylibs and programs with SQLite compiled in)
** and against LLVM's own reader as the oracle (tests/macho/oracle.py runs llvm-objdump --macho
** --bind/--lazy-bind or --dyld-info and keeps the sqlite3_* slots). The reader must find exactly
** those slots: same address, section, library, name, addend and weak flag, and nothing else.
**
** The fixtures are found in LOCKFIX_MACHO_DIR, default build/tests/macho (make runs the tests
** from the repository root); a missing fixture set fails the tests, it does not skip them.
*/
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho.h"
#include "macho_fixtures.h"

#define MAX_FIXTURES 64
#define MIN_FIXTURES 14 /* 2 archs x 2 formats x 3 kinds, and the 2 defining libraries */
#define PREFIX "_sqlite3_"

/* The fixtures' base names (X for X.macho and X.expect), sorted. */
static int fixtures(char names[][128])
{
    DIR *d = opendir(fixture_dir());
    cr_assert_not_null(d, "no fixture directory %s (run `make macho-fixtures`)", fixture_dir());
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_FIXTURES) {
        size_t len = strlen(e->d_name);
        if (len > 6 && len < 120 && strcmp(e->d_name + len - 6, ".macho") == 0) {
            memcpy(names[n], e->d_name, len - 6);
            names[n++][len - 6] = '\0';
        }
    }
    closedir(d);
    qsort(names, (size_t)n, 128, (int (*)(const void *, const void *))strcmp);
    cr_assert_geq(n, MIN_FIXTURES, "only %d fixtures in %s", n, fixture_dir());
    return n;
}

/* ---- the reader's answer, in the oracle's format ------------------------------------------ */

#define MAX_LINES 256
struct lines {
    const struct lf_macho *m;
    char line[MAX_LINES][160];
    int n;
};

/* How llvm-objdump names a library: its install name's base name up to the first dot. */
static void dylib_name(const struct lf_macho *m, int ordinal, char *out, size_t cap)
{
    const char *path = lf_macho_dylib(m, ordinal);
    if (ordinal == LF_MACHO_ORDINAL_FLAT) {
        snprintf(out, cap, "flat-namespace");
    } else if (path == NULL) {
        snprintf(out, cap, "ordinal%d", ordinal);
    } else {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        snprintf(out, cap, "%.*s", (int)strcspn(base, "."), base);
    }
}

static int collect(const struct lf_macho_bind *b, void *ctx)
{
    struct lines *l = ctx;
    if (strncmp(b->name, PREFIX, strlen(PREFIX)) != 0)
        return 0;
    cr_assert_lt(l->n, MAX_LINES);
    char seg[17], sect[17], lib[64];
    cr_assert_eq(lf_macho_section_of(l->m, b->vmaddr, seg, sect), 0, "slot 0x%llx in no section",
                 (unsigned long long)b->vmaddr);
    dylib_name(l->m, b->ordinal, lib, sizeof lib);
    /* llvm-objdump prints no flags for lazy binds: the weak flag is compared for the others */
    snprintf(l->line[l->n++], sizeof l->line[0], "0x%llx %s,%s %s %s %lld %s",
             (unsigned long long)b->vmaddr, seg, sect, lib, b->name, (long long)b->addend,
             b->weak_import && b->kind != LF_MACHO_LAZY ? "weak" : "-");
    return 0;
}

static int cmp_line(const void *a, const void *b)
{
    unsigned long long x = strtoull(a, NULL, 16), y = strtoull(b, NULL, 16);
    return x < y ? -1 : x > y ? 1 : strcmp(a, b);
}

/* The lines joined, sorted by address as the oracle sorts them. */
static char *joined(struct lines *l)
{
    qsort(l->line, (size_t)l->n, sizeof l->line[0], cmp_line);
    char *out = calloc(1, (size_t)l->n * sizeof l->line[0] + 1);
    for (int i = 0; i < l->n; i++) {
        strcat(out, l->line[i]);
        strcat(out, "\n");
    }
    return out;
}

static void parse_file(struct lf_macho *m, const char *buf, size_t size, const char *name)
{
    const char *why = NULL;
    cr_assert_eq(lf_macho_parse(m, buf, size, 0, &why), 0, "%s: %s", name, why);
}

static char *path_of(const char *name, const char *ext)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s%s", fixture_dir(), name, ext);
    return p;
}

/* ---- tests -------------------------------------------------------------------------------- */

Test(macho, binds_are_exactly_the_oracles)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names), chained = 0, classic = 0, slots = 0;
    for (int i = 0; i < n; i++) {
        size_t size, esize;
        char *buf = load(path_of(names[i], ".macho"), &size);
        char *expect = load(path_of(names[i], ".expect"), &esize);
        struct lf_macho m;
        parse_file(&m, buf, size, names[i]);
        struct lines l = {.m = &m};
        const char *why = NULL;
        cr_assert_eq(lf_macho_binds(&m, collect, &l, &why), 0, "%s: %s", names[i], why);
        char *got = joined(&l);
        cr_expect_str_eq(got, expect, "%s: the reader found\n%s\nllvm-objdump found\n%s", names[i],
                         got, expect);
        chained += m.has_chained;
        classic += m.has_dyld_info && !m.has_chained;
        slots += l.n;
        free(got);
        free(expect);
        free(buf);
    }
    /* both formats were really exercised, and the importers really import */
    cr_expect_geq(chained, 6);
    cr_expect_geq(classic, 6);
    cr_expect_geq(slots, 12 * 11);
}

/* The indirect symbol table names the slots calls go through (what works on a mapped chained
** image): each such slot is one of the oracle's, and every oracle slot in a symbol-pointer
** section is one of them. Compared on address, section, library and name. */
Test(macho, symbol_pointers_are_the_oracles_pointer_sections)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names);
    for (int i = 0; i < n; i++) {
        size_t size, esize;
        char *buf = load(path_of(names[i], ".macho"), &size);
        char *expect = load(path_of(names[i], ".expect"), &esize);
        struct lf_macho m;
        parse_file(&m, buf, size, names[i]);
        struct lines l = {.m = &m};
        const char *why = NULL;
        cr_assert_eq(lf_macho_symbol_pointers(&m, collect, &l, &why), 0, "%s: %s", names[i], why);
        char want[MAX_LINES][160];
        int nwant = 0;
        for (char *line = strtok(expect, "\n"); line; line = strtok(NULL, "\n"))
            if (strstr(line, ",__got ") || strstr(line, ",__la_symbol_ptr ") ||
                strstr(line, ",__nl_symbol_ptr ") || strstr(line, ",__auth_got "))
                snprintf(want[nwant++], sizeof want[0], "%.*s",
                         (int)(strstr(line, " _sqlite3_") - line) +
                             (int)strcspn(strstr(line, " _sqlite3_") + 1, " ") + 1,
                         line);
        cr_expect_eq(l.n, nwant, "%s: %d pointer-section slots, oracle %d", names[i], l.n, nwant);
        for (int k = 0; k < l.n; k++) {
            char key[160];
            const char *sym = strstr(l.line[k], " _sqlite3_");
            snprintf(key, sizeof key, "%.*s",
                     (int)(sym - l.line[k]) + (int)strcspn(sym + 1, " ") + 1, l.line[k]);
            int hit = 0;
            for (int w = 0; w < nwant; w++)
                hit |= strcmp(key, want[w]) == 0;
            cr_expect(hit, "%s: indirect slot %s is not in the oracle", names[i], key);
        }
        free(expect);
        free(buf);
    }
}

/* Lay the file out as dyld maps it: each segment's file bytes at vmaddr - __TEXT's vmaddr. */
static char *map_like_dyld(const struct lf_macho *f, size_t *span)
{
    uint64_t hi = 0;
    for (int s = 0; s < f->nseg; s++)
        if (f->seg[s].vmaddr >= f->text_vmaddr && f->seg[s].vmaddr + f->seg[s].vmsize > hi)
            hi = f->seg[s].vmaddr + f->seg[s].vmsize;
    *span = (size_t)(hi - f->text_vmaddr);
    char *img = calloc(1, *span);
    cr_assert_not_null(img);
    for (int s = 0; s < f->nseg; s++)
        if (f->seg[s].vmaddr >= f->text_vmaddr && f->seg[s].filesize > 0)
            memcpy(img + (f->seg[s].vmaddr - f->text_vmaddr), f->base + f->seg[s].fileoff,
                   f->seg[s].filesize);
    return img;
}

Test(macho, a_mapped_image_reads_like_its_file)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names);
    for (int i = 0; i < n; i++) {
        size_t size, span;
        char *buf = load(path_of(names[i], ".macho"), &size);
        struct lf_macho f, m;
        parse_file(&f, buf, size, names[i]);
        char *img = map_like_dyld(&f, &span);
        const char *why = NULL;
        cr_assert_eq(lf_macho_parse(&m, img, 0, 1, &why), 0, "%s mapped: %s", names[i], why);
        struct lines lf = {.m = &f}, lm = {.m = &m};
        cr_assert_eq(lf_macho_symbol_pointers(&f, collect, &lf, &why), 0);
        cr_assert_eq(lf_macho_symbol_pointers(&m, collect, &lm, &why), 0, "%s mapped: %s", names[i],
                     why);
        char *a = joined(&lf), *b = joined(&lm);
        cr_expect_str_eq(a, b, "%s: symbol pointers differ once mapped", names[i]);
        free(a);
        free(b);
        lf.n = lm.n = 0;
        if (f.has_chained) {
            cr_expect_eq(lf_macho_binds(&m, collect, &lm, &why), -1,
                         "%s: chains must not be read from a mapped image", names[i]);
        } else {
            cr_assert_eq(lf_macho_binds(&f, collect, &lf, &why), 0);
            cr_assert_eq(lf_macho_binds(&m, collect, &lm, &why), 0, "%s mapped: %s", names[i], why);
            a = joined(&lf);
            b = joined(&lm);
            cr_expect_str_eq(a, b, "%s: binds differ once mapped", names[i]);
            free(a);
            free(b);
        }
        free(img);
        free(buf);
    }
}

/* Function sizes (the entry patcher's; Mach-O symbols have none) against llvm-objdump's reading of
** LC_FUNCTION_STARTS: each start's size reaches the next start, the last one's the end of its
** section, an address inside a function has none; the same once the image is mapped. */
Test(macho, function_sizes_are_the_gaps_between_objdumps_starts)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names), checked = 0;
    for (int i = 0; i < n; i++) {
        size_t size, ssize, span;
        char *buf = load(path_of(names[i], ".macho"), &size);
        char *text = load(path_of(names[i], ".starts"), &ssize);
        struct lf_macho f, m;
        parse_file(&f, buf, size, names[i]);
        char *img = map_like_dyld(&f, &span);
        const char *why = NULL;
        cr_assert_eq(lf_macho_parse(&m, img, 0, 1, &why), 0, "%s mapped: %s", names[i], why);
        unsigned long long start[256];
        int k = 0;
        for (char *line = strtok(text, "\n"); line && k < 256; line = strtok(NULL, "\n"))
            cr_assert_eq(sscanf(line, "%llx", &start[k++]), 1, "%s: %s", names[i], line);
        cr_expect_gt(k, 0, "%s: no function starts", names[i]);
        for (int j = 0; j < k; j++) {
            uint64_t got = lf_macho_function_size(&f, start[j]);
            if (j + 1 < k) {
                cr_expect_eq(got, start[j + 1] - start[j], "%s: function at 0x%llx: %llu bytes",
                             names[i], start[j], (unsigned long long)got);
            } else {
                char seg[17], sect[17], seg2[17], sect2[17];
                cr_expect_gt(got, 0, "%s: last function at 0x%llx", names[i], start[j]);
                cr_expect_eq(lf_macho_section_of(&f, start[j] + got - 1, seg, sect), 0);
                cr_expect_str_eq(sect, "__text", "%s: last function ends in %s", names[i], sect);
                cr_expect(lf_macho_section_of(&f, start[j] + got, seg2, sect2) != 0 ||
                              strcmp(sect2, "__text") != 0,
                          "%s: the last function stops short of its section's end", names[i]);
            }
            cr_expect_eq(lf_macho_function_size(&m, start[j]), got, "%s mapped: 0x%llx",
                         names[i], start[j]);
            cr_expect_eq(lf_macho_function_size(&f, start[j] + 1), 0,
                         "%s: 0x%llx + 1 is no function start", names[i], start[j]);
            checked++;
        }
        free(img);
        free(text);
        free(buf);
    }
    cr_expect_gt(checked, 40, "only %d function starts checked", checked);
}

Test(macho, universal_file_slices)
{
    size_t fsize, asize, xsize, off, len;
    char *fat = load(path_of("universal", ".fat"), &fsize);
    char *arm = load(path_of("arm64-classic-exe", ".macho"), &asize);
    char *x86 = load(path_of("x86_64-classic-exe", ".macho"), &xsize);
    const char *why = NULL;
    cr_assert_eq(lf_macho_slice(fat, fsize, LF_MACHO_CPU_ARM64, &off, &len, &why), 0, "%s", why);
    cr_expect(len == asize && memcmp(fat + off, arm, len) == 0, "arm64 slice is not the thin file");
    cr_assert_eq(lf_macho_slice(fat, fsize, LF_MACHO_CPU_X86_64, &off, &len, &why), 0, "%s", why);
    cr_expect(len == xsize && memcmp(fat + off, x86, len) == 0,
              "x86_64 slice is not the thin file");
    cr_expect_eq(lf_macho_slice(fat, fsize, 0x12, &off, &len, &why), -1); /* ppc: none */
    cr_expect_eq(lf_macho_slice(arm, asize, LF_MACHO_CPU_ARM64, &off, &len, &why), 0);
    cr_expect(off == 0 && len == asize);
    cr_expect_eq(lf_macho_slice(arm, asize, LF_MACHO_CPU_X86_64, &off, &len, &why), -1);
    struct lf_macho m;
    cr_expect_eq(lf_macho_parse(&m, fat, fsize, 0, &why), -1);
    cr_expect_str_eq(why, "universal file: pick a slice first");
    free(fat);
    free(arm);
    free(x86);
}

static int count_all(const struct lf_macho_bind *b, void *ctx)
{
    (void)b;
    ++*(int *)ctx;
    return 0;
}

/* Run every entry point over a damaged copy: it must answer (0 or -1 with a reason), never read
** outside the buffer (macos-check runs this under AddressSanitizer). */
static void survive(const char *buf, size_t size)
{
    char *copy = malloc(size ? size : 1);
    memcpy(copy, buf, size);
    struct lf_macho m;
    const char *why = NULL;
    int count = 0;
    if (lf_macho_parse(&m, copy, size, 0, &why) == 0) {
        if (lf_macho_binds(&m, count_all, &count, &why) < 0)
            cr_assert_not_null(why);
        if (lf_macho_symbol_pointers(&m, count_all, &count, &why) < 0)
            cr_assert_not_null(why);
    } else {
        cr_assert_not_null(why);
    }
    free(copy);
}

Test(macho, damaged_files_give_an_error_never_a_bad_read)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names);
    unsigned seed = 12345;
    for (int i = 0; i < n; i++) {
        size_t size;
        char *buf = load(path_of(names[i], ".macho"), &size);
        for (size_t cut = 0; cut < size; cut += cut < 4096 ? 7 : 997)
            survive(buf, cut);
        for (int k = 0; k < 300; k++) {
            size_t at;
            seed = seed * 1103515245u + 12345u;
            /* aim at the header and load commands and at __LINKEDIT (the file's tail) */
            at = k % 2 ? (seed >> 8) % (size < 4096 ? size : 4096)
                       : size - 1 - (seed >> 8) % (size / 4);
            char saved = buf[at];
            buf[at] = (char)(seed >> 24);
            survive(buf, size);
            buf[at] = saved;
        }
        free(buf);
    }
}

/* Defined sqlite3_* symbols, local ones included (a SQLite compiled in), against llvm-nm: the
** same address, and exported exactly when nm prints an upper-case type letter. */
Test(macho, defined_symbols_are_nms)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names), local_copies = 0;
    for (int i = 0; i < n; i++) {
        size_t size, ssize;
        char *buf = load(path_of(names[i], ".macho"), &size);
        char *syms = load(path_of(names[i], ".syms"), &ssize);
        struct lf_macho m;
        parse_file(&m, buf, size, names[i]);
        const char *want[64];
        unsigned long long addr[64];
        int upper[64], k = 0;
        for (char *line = strtok(syms, "\n"); line && k < 64; line = strtok(NULL, "\n"), k++) {
            char type, *name = strrchr(line, ' ') + 1;
            cr_assert_eq(sscanf(line, "%llx %c", &addr[k], &type), 2, "%s: %s", names[i], line);
            upper[k] = type >= 'A' && type <= 'Z';
            want[k] = name;
        }
        uint64_t got[64];
        int exported[64], locals = 0;
        const char *why = NULL;
        cr_assert_eq(lf_macho_defined(&m, want, k, got, exported, &why), k, "%s: %s", names[i],
                     why);
        for (int j = 0; j < k; j++) {
            cr_expect_eq(got[j], addr[j], "%s: %s at 0x%llx, nm says 0x%llx", names[i], want[j],
                         (unsigned long long)got[j], addr[j]);
            cr_expect_eq(exported[j], upper[j], "%s: %s exported=%d", names[i], want[j],
                         exported[j]);
            locals += !exported[j];
        }
        local_copies += locals >= 8;
        const char *absent[] = {"_sqlite3_no_such_function"};
        cr_expect_eq(lf_macho_defined(&m, absent, 1, got, exported, &why), 0);
        free(syms);
        free(buf);
    }
    cr_expect_eq(local_copies, 4, "the four compiled-in fixtures keep SQLite as local symbols");
}

/* lld signs arm64 output ad hoc ("linker-signed"), as Apple's ld does, and x86_64 output not at
** all; none of them has the hardened runtime. */
Test(macho, code_signature_flags)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names), signed_arm = 0;
    for (int i = 0; i < n; i++) {
        size_t size;
        char *buf = load(path_of(names[i], ".macho"), &size);
        struct lf_macho m;
        parse_file(&m, buf, size, names[i]);
        long flags = lf_macho_codesign_flags(&m);
        if (m.cputype == LF_MACHO_CPU_ARM64) {
            cr_expect_eq(flags, LF_CS_ADHOC | LF_CS_LINKER_SIGNED, "%s: flags %#lx", names[i],
                         flags);
            signed_arm += flags > 0;
        } else {
            cr_expect_eq(flags, -1, "%s: flags %#lx", names[i], flags);
        }
        free(buf);
    }
    cr_expect_geq(signed_arm, 7);
}

/* ---- the rebinding plan darwin.c follows -------------------------------------------------- */

#include "hooks.h"

static const char *const hooked[] = {
#define HOOK_NAME(ret, name, params, on_missing, ...) "_" #name,
    LF_HOOKS(HOOK_NAME)
#undef HOOK_NAME
};
#define NHOOKED ((int)(sizeof hooked / sizeof hooked[0]))

struct bind_sim {
    char *img;
    uint64_t text_vmaddr;
    int n;
};

/* What dyld leaves in memory: every eagerly bound slot (chains included) holds a pointer. */
static int bind_like_dyld(const struct lf_macho_bind *b, void *ctx)
{
    struct bind_sim *sim = ctx;
    if (b->kind == LF_MACHO_LAZY)
        return 0; /* bound at the first call: still the stub helper's address */
    uint64_t bound = 0x7ff800000000ull + 16u * (unsigned)sim->n++;
    memcpy(sim->img + (b->vmaddr - sim->text_vmaddr), &bound, sizeof bound);
    return 0;
}

/* The oracle's slots whose name is hooked (and, if pointer_sections, in a symbol-pointer
** section), as "address name" lines. */
static char *oracle_hooked(const char *expect, int pointer_sections)
{
    char *copy = strdup(expect), *out = calloc(1, strlen(expect) + 1);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        char addr[32], sect[64], lib[64], name[96];
        cr_assert_eq(sscanf(line, "%31s %63s %63s %95s", addr, sect, lib, name), 4);
        int is_hooked = 0;
        for (int i = 0; i < NHOOKED; i++)
            is_hooked |= strcmp(name, hooked[i]) == 0;
        int in_pointers = strstr(sect, ",__got") || strstr(sect, ",__la_symbol_ptr") ||
                          strstr(sect, ",__nl_symbol_ptr") || strstr(sect, ",__auth_got");
        if (is_hooked && (!pointer_sections || in_pointers))
            sprintf(out + strlen(out), "%s %s\n", addr, name);
    }
    free(copy);
    return out;
}

static char *planned(const struct lf_macho_slot *s, int n)
{
    struct lines l = {0};
    for (int i = 0; i < n; i++)
        snprintf(l.line[l.n++], sizeof l.line[0], "0x%llx %s", (unsigned long long)s[i].vmaddr,
                 hooked[s[i].name]);
    return joined(&l);
}

/* For every fixture laid out and bound as dyld would: the slots lf_macho_import_slots() gives
** darwin.c are exactly the oracle's slots bound to a hooked name. A chained image needs its
** file for that; without it (or with another file) only its pointer sections, and it says so. */
Test(macho, rebinding_plan_is_every_hooked_slot)
{
    char names[MAX_FIXTURES][128];
    int n = fixtures(names), chained = 0;
    size_t osize;
    /* another image, for the "wrong file" case */
    char *other_buf = load(path_of("arm64-chained-dylib", ".macho"), &osize);
    struct lf_macho other;
    parse_file(&other, other_buf, osize, "arm64-chained-dylib");
    for (int i = 0; i < n; i++) {
        size_t size, esize, span;
        char *buf = load(path_of(names[i], ".macho"), &size);
        char *expect = load(path_of(names[i], ".expect"), &esize);
        struct lf_macho f, m;
        parse_file(&f, buf, size, names[i]);
        cr_assert(f.has_uuid, "%s: lld writes LC_UUID", names[i]);
        char *img = map_like_dyld(&f, &span);
        struct bind_sim sim = {img, f.text_vmaddr, 0};
        const char *why = NULL, *partial = NULL;
        cr_assert_eq(lf_macho_binds(&f, bind_like_dyld, &sim, &why), 0);
        cr_assert_eq(lf_macho_parse(&m, img, 0, 1, &why), 0);

        struct lf_macho_slot slots[64];
        int dropped = -1;
        int got = lf_macho_import_slots(&m, &f, hooked, NHOOKED, slots, 64, &dropped, &partial,
                                        &why);
        cr_assert_geq(got, 0, "%s: %s", names[i], why);
        cr_expect_null(partial, "%s: %s", names[i], partial);
        cr_expect_eq(dropped, 0);
        char *want = oracle_hooked(expect, 0), *have = planned(slots, got);
        cr_expect_str_eq(have, want, "%s: planned\n%s\noracle\n%s", names[i], have, want);
        free(want);
        free(have);

        if (f.has_chained) {
            chained++;
            want = oracle_hooked(expect, 1);
            got = lf_macho_import_slots(&m, NULL, hooked, NHOOKED, slots, 64, &dropped, &partial,
                                        &why);
            have = planned(slots, got);
            cr_expect_not_null(partial, "%s: no file, yet no reason", names[i]);
            cr_expect_str_eq(have, want, "%s without its file", names[i]);
            free(have);
            if (strcmp(names[i], "arm64-chained-dylib") != 0) {
                got = lf_macho_import_slots(&m, &other, hooked, NHOOKED, slots, 64, &dropped,
                                            &partial, &why);
                have = planned(slots, got);
                cr_expect(partial && strstr(partial, "UUID"), "%s: another file accepted",
                          names[i]);
                cr_expect_str_eq(have, want, "%s with another file", names[i]);
                free(have);
            }
            free(want);
            /* few slots: the rest is counted, not written past the end */
            got = lf_macho_import_slots(&m, &f, hooked, NHOOKED, slots, 2, &dropped, &partial,
                                        &why);
            if (strstr(names[i], "compiled-in") == NULL) /* (it imports no SQLite) */
                cr_expect(got == 2 && dropped > 0, "%s: cap 2 gave %d, dropped %d", names[i], got,
                          dropped);
        }
        free(img);
        free(expect);
        free(buf);
    }
    cr_expect_eq(chained, 8);
    free(other_buf);
}

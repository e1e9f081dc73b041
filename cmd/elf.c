/*
** ELF inspection for `lockfix check`: dynamic symbols, relocations, DT_NEEDED and a few byte
** patterns. Handles 32/64-bit and both byte orders; trusts nothing in the file (every offset is
** bounds-checked), since check may be pointed at anything.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "lockfix.h"
#include "buf.h"

/* ELF constants, spelled out so this builds where <elf.h> does not exist (macOS). */
enum {
    PT_DYNAMIC_ = 2, PT_INTERP_ = 3,
    SHT_SYMTAB_ = 2, SHT_RELA_ = 4, SHT_DYNAMIC_ = 6, SHT_REL_ = 9, SHT_DYNSYM_ = 11,
    DT_NULL_ = 0, DT_NEEDED_ = 1, DT_RPATH_ = 15, DT_SYMBOLIC_ = 16, DT_RUNPATH_ = 29,
    DT_FLAGS_ = 30, DF_SYMBOLIC_ = 0x2,
    STB_LOCAL_ = 0, STV_HIDDEN_ = 2, STV_INTERNAL_ = 1, STV_PROTECTED_ = 3,
};

/* A mapped file and how to read integers from it. */
struct image {
    const unsigned char *p;
    size_t size;
    int is64, big;
};

/* Integer at offset `off` of `width` bytes in the file's byte order; 0 when out of bounds, so a
** corrupt file reads as "nothing there" rather than crashing the command. */
static uint64_t rd(const struct image *im, uint64_t off, int width)
{
    if (off > im->size || (uint64_t)width > im->size - off)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < width; i++) {
        int k = im->big ? i : width - 1 - i;
        v = (v << 8) | im->p[off + (uint64_t)k];
    }
    return v;
}

/* Address-sized field (4 or 8 bytes by class). */
static uint64_t rdw(const struct image *im, uint64_t off)
{
    return rd(im, off, im->is64 ? 8 : 4);
}

/* NUL-terminated string inside a string table, or "" if it runs off the table. */
static const char *str_at(const struct image *im, uint64_t tab_off, uint64_t tab_size, uint64_t i)
{
    if (i >= tab_size || tab_off > im->size || tab_size > im->size - tab_off)
        return "";
    const char *s = (const char *)im->p + tab_off + i;
    if (memchr(s, '\0', tab_size - i) == NULL)
        return "";
    return s;
}

struct section {
    uint32_t type, link;
    uint64_t offset, size, entsize;
};

/* Section header i. */
static struct section section(const struct image *im, uint64_t shoff, unsigned shentsize,
                              unsigned i)
{
    uint64_t b = shoff + (uint64_t)i * shentsize;
    struct section s;
    s.type = (uint32_t)rd(im, b + 4, 4);
    if (im->is64) {
        s.offset = rd(im, b + 24, 8);
        s.size = rd(im, b + 32, 8);
        s.link = (uint32_t)rd(im, b + 40, 4);
        s.entsize = rd(im, b + 56, 8);
    } else {
        s.offset = rd(im, b + 16, 4);
        s.size = rd(im, b + 20, 4);
        s.link = (uint32_t)rd(im, b + 24, 4);
        s.entsize = rd(im, b + 36, 4);
    }
    return s;
}

struct sym {
    uint32_t name;
    unsigned char info, other;
    uint16_t shndx;
};

/* Symbol i of a symbol table section. */
static struct sym symbol(const struct image *im, const struct section *t, uint64_t i)
{
    uint64_t esz = im->is64 ? 24 : 16;
    uint64_t b = t->offset + i * esz;
    struct sym s;
    s.name = (uint32_t)rd(im, b, 4);
    if (im->is64) {
        s.info = (unsigned char)rd(im, b + 4, 1);
        s.other = (unsigned char)rd(im, b + 5, 1);
        s.shndx = (uint16_t)rd(im, b + 6, 2);
    } else {
        s.info = (unsigned char)rd(im, b + 12, 1);
        s.other = (unsigned char)rd(im, b + 13, 1);
        s.shndx = (uint16_t)rd(im, b + 14, 2);
    }
    return s;
}

/* Classify the sqlite3_* names of the dynamic symbol table; returns a bitmap of which indexes
** are sqlite3_* (for the relocation pass), malloc'd. */
static unsigned char *scan_dynsym(const struct image *im, const struct section *dynsym,
                                  const struct section *strtab, struct elf_info *info,
                                  uint64_t *nsyms)
{
    uint64_t esz = im->is64 ? 24 : 16;
    uint64_t n = dynsym->size / esz;
    if (n > 10000000)
        n = 0;
    *nsyms = n;
    unsigned char *is_sqlite = xcalloc((size_t)n + 1, 1);
    for (uint64_t i = 1; i < n; i++) {
        struct sym s = symbol(im, dynsym, i);
        const char *name = str_at(im, strtab->offset, strtab->size, s.name);
        if (!has_prefix(name, "sqlite3_"))
            continue;
        is_sqlite[i] = 1;
        unsigned bind = s.info >> 4, vis = s.other & 3;
        if (bind == STB_LOCAL_)
            continue;
        if (s.shndx == 0) {
            if (info->sqlite_imports++ == 0)
                snprintf(info->first_import, sizeof info->first_import, "%s", name);
        } else if (vis == STV_PROTECTED_) {
            info->sqlite_protected++;
        } else if (vis != STV_HIDDEN_ && vis != STV_INTERNAL_) {
            if (info->sqlite_exports++ == 0)
                snprintf(info->first_export, sizeof info->first_export, "%s", name);
        }
    }
    return is_sqlite;
}

/* Count dynamic relocations against sqlite3_* symbols: those are the calls and address loads
** that go through the dynamic linker, i.e. the ones a preloaded library can take over. */
static void scan_relocs(const struct image *im, const struct section *rel, int rela,
                        const unsigned char *is_sqlite, uint64_t nsyms, struct elf_info *info)
{
    uint64_t esz = im->is64 ? (rela ? 24 : 16) : (rela ? 12 : 8);
    uint64_t n = rel->size / esz;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r_info = rdw(im, rel->offset + i * esz + (im->is64 ? 8 : 4));
        uint64_t symi = im->is64 ? r_info >> 32 : r_info >> 8;
        if (symi != 0 && symi < nsyms && is_sqlite[symi])
            info->sqlite_relocs++;
    }
}

/* sqlite3_* defined in .symtab (local, hidden, or global in an executable that exports nothing):
** those not also in the dynamic table are the mark of a static or hidden copy. */
static void scan_symtab(const struct image *im, const struct section *symtab,
                        const struct section *strtab, struct elf_info *info)
{
    uint64_t esz = im->is64 ? 24 : 16;
    uint64_t n = symtab->size / esz;
    for (uint64_t i = 1; i < n; i++) {
        struct sym s = symbol(im, symtab, i);
        if (s.shndx == 0)
            continue;
        const char *name = str_at(im, strtab->offset, strtab->size, s.name);
        if (!has_prefix(name, "sqlite3_"))
            continue;
        info->sqlite_hidden++; /* defined here; exported ones are subtracted afterwards */
        /* the functions lockfix's compiled-in path needs named (shim/static.c) */
        if (strcmp(name, "sqlite3_step") == 0 && (s.info & 0xf) == 2 /* STT_FUNC */)
            info->symtab_step = 1;
        if (strcmp(name, "sqlite3_prepare_v2") == 0 && (s.info & 0xf) == 2)
            info->symtab_prepare = 1;
    }
}

/* DT_NEEDED, RPATH/RUNPATH and the symbolic-binding flags from the dynamic section. */
static void scan_dynamic(const struct image *im, const struct section *dyn,
                         const struct section *strtab, struct elf_info *info)
{
    uint64_t esz = im->is64 ? 16 : 8;
    uint64_t n = dyn->size / esz;
    int cap = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t b = dyn->offset + i * esz;
        uint64_t tag = rdw(im, b), val = rdw(im, b + (im->is64 ? 8 : 4));
        if (tag == DT_NULL_)
            break;
        const char *s = NULL;
        if (tag == DT_NEEDED_ || tag == DT_RPATH_ || tag == DT_RUNPATH_)
            s = str_at(im, strtab->offset, strtab->size, val);
        if (tag == DT_NEEDED_) {
            if (info->nneeded == cap) {
                cap = cap ? cap * 2 : 8;
                info->needed = xrealloc(info->needed, (size_t)cap * sizeof *info->needed);
            }
            info->needed[info->nneeded++] = xstrdup(s);
        } else if (tag == DT_RPATH_ && info->rpath == NULL) {
            info->rpath = xstrdup(s);
        } else if (tag == DT_RUNPATH_ && info->runpath == NULL) {
            info->runpath = xstrdup(s);
        } else if (tag == DT_SYMBOLIC_ || (tag == DT_FLAGS_ && (val & DF_SYMBOLIC_))) {
            info->symbolic = 1;
        }
    }
}

/* SQLite keeps its version as a bare NUL-terminated "3.N.N" string (sqlite3_version[]): in an
** object already known to hold SQLite code, the first such string is taken as its version. A
** guess, labelled as one in the report. */
static void find_version(const struct image *im, struct elf_info *info)
{
    static const char needle[] = {'\0', '3', '.'};
    const unsigned char *p = im->p, *end = im->p + im->size;
    while ((p = memmem(p, (size_t)(end - p), needle, sizeof needle)) != NULL) {
        const unsigned char *q = p + 1;
        size_t k = 0;
        int dots = 0, digits_run = 0, ok = 1;
        while (q + k < end && q[k] != '\0' && k < 12) {
            if (q[k] == '.') {
                if (digits_run == 0)
                    ok = 0;
                dots++;
                digits_run = 0;
            } else if (q[k] >= '0' && q[k] <= '9') {
                digits_run++;
            } else {
                ok = 0;
            }
            k++;
        }
        if (ok && q + k < end && q[k] == '\0' && (dots == 2 || dots == 3) && digits_run > 0 &&
            k >= 5 && k < sizeof info->sqlite_version) {
            long minor = strtol((const char *)q + 2, NULL, 10);
            if (minor >= 7 && minor < 100) {
                memcpy(info->sqlite_version, q, k);
                info->sqlite_version[k] = '\0';
                return;
            }
        }
        p += 1;
    }
}

/* Walk a mapped ELF image and fill `info`. */
static void inspect_image(const struct image *im, struct elf_info *info)
{
    info->type = (unsigned)rd(im, 16, 2);
    info->machine = (unsigned)rd(im, 18, 2);
    uint64_t phoff = im->is64 ? rd(im, 32, 8) : rd(im, 28, 4);
    uint64_t shoff = im->is64 ? rd(im, 40, 8) : rd(im, 32, 4);
    unsigned phentsize = (unsigned)rd(im, im->is64 ? 54 : 42, 2);
    unsigned phnum = (unsigned)rd(im, im->is64 ? 56 : 44, 2);
    unsigned shentsize = (unsigned)rd(im, im->is64 ? 58 : 46, 2);
    unsigned shnum = (unsigned)rd(im, im->is64 ? 60 : 48, 2);

    for (unsigned i = 0; i < phnum && phentsize >= 8; i++)
        if (rd(im, phoff + (uint64_t)i * phentsize, 4) == PT_INTERP_)
            info->has_interp = 1;

    if (shoff == 0 || shnum == 0 || shentsize < (im->is64 ? 64u : 40u)) {
        snprintf(info->err, sizeof info->err, "no section headers: symbols not inspected");
    } else {
        struct section *secs = xcalloc(shnum, sizeof *secs);
        for (unsigned i = 0; i < shnum; i++)
            secs[i] = section(im, shoff, shentsize, i);
        int dynsym = -1;
        for (unsigned i = 0; i < shnum; i++)
            if (secs[i].type == SHT_DYNSYM_ && dynsym < 0)
                dynsym = (int)i;
        unsigned char *is_sqlite = NULL;
        uint64_t nsyms = 0;
        if (dynsym >= 0 && secs[dynsym].link < shnum)
            is_sqlite = scan_dynsym(im, &secs[dynsym], &secs[secs[dynsym].link], info, &nsyms);
        for (unsigned i = 0; i < shnum; i++) {
            const struct section *s = &secs[i];
            if ((s->type == SHT_RELA_ || s->type == SHT_REL_) && is_sqlite &&
                (int)s->link == dynsym)
                scan_relocs(im, s, s->type == SHT_RELA_, is_sqlite, nsyms, info);
            else if (s->type == SHT_SYMTAB_ && s->link < shnum)
                scan_symtab(im, s, &secs[s->link], info);
            else if (s->type == SHT_DYNAMIC_ && s->link < shnum)
                scan_dynamic(im, s, &secs[s->link], info);
        }
        free(is_sqlite);
        free(secs);
        int exported = info->sqlite_exports + info->sqlite_protected;
        info->sqlite_hidden = info->sqlite_hidden > exported ? info->sqlite_hidden - exported : 0;
    }
    static const char magic[] = "SQLite format 3";
    static const char text1[] = "unable to open database file";
    static const char text2[] = "sqlite_master";
    static const char zend[] = "Zend Engine";
    info->has_magic = memmem(im->p, im->size, magic, sizeof magic - 1) != NULL;
    if (info->has_magic)
        info->has_sqlite_text = memmem(im->p, im->size, text1, sizeof text1 - 1) != NULL ||
                                memmem(im->p, im->size, text2, sizeof text2 - 1) != NULL;
    info->zend = memmem(im->p, im->size, zend, sizeof zend - 1) != NULL;
    if (info->has_magic)
        find_version(im, info);
}

/* Map the file read-only (executables can be large; only the parts needed are touched) and
** inspect it if it is ELF. */
int elf_inspect(const char *path, struct elf_info *info)
{
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(info->err, sizeof info->err, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(info->err, sizeof info->err, "not a regular file");
        close(fd);
        return -1;
    }
    if (st.st_size < 52) {
        close(fd);
        return 0; /* too small to be ELF */
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(info->err, sizeof info->err, "cannot map: %s", strerror(errno));
        return -1;
    }
    struct image im = {map, (size_t)st.st_size, 0, 0};
    static const unsigned char macho[][4] = {{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
                                             {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
                                             {0xca, 0xfe, 0xba, 0xbe}};
    for (size_t i = 0; i < sizeof macho / sizeof macho[0]; i++)
        info->is_macho |= memcmp(im.p, macho[i], 4) == 0;
    if (memcmp(im.p, "\177ELF", 4) == 0 && (im.p[4] == 1 || im.p[4] == 2) &&
        (im.p[5] == 1 || im.p[5] == 2)) {
        info->is_elf = 1;
        im.is64 = info->is64 = im.p[4] == 2;
        im.big = info->big_endian = im.p[5] == 2;
        inspect_image(&im, info);
    }
    munmap(map, (size_t)st.st_size);
    return 0;
}

/* ld.so skips libraries of another class or machine (/usr/lib32): so does the search here. */
int elf_matches(const char *path, int is64, unsigned machine)
{
    unsigned char h[20];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    if (n < (ssize_t)sizeof h || memcmp(h, "\177ELF", 4) != 0)
        return 0;
    int f64 = h[4] == 2, big = h[5] == 2;
    unsigned m = big ? (unsigned)(h[18] << 8 | h[19]) : (unsigned)(h[19] << 8 | h[18]);
    return f64 == is64 && m == machine;
}

/* Release the strings read from the dynamic section. */
void elf_info_free(struct elf_info *info)
{
    for (int i = 0; i < info->nneeded; i++)
        free(info->needed[i]);
    free(info->needed);
    free(info->rpath);
    free(info->runpath);
    info->needed = NULL;
    info->rpath = info->runpath = NULL;
    info->nneeded = 0;
}

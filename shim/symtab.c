/*
** Finding named functions in an object's full symbol table (.symtab), read from its file.
**
** A SQLite compiled into a program with hidden visibility exports nothing, but a build that was
** not fully stripped keeps .symtab, where sqlite3_step and the rest are LOCAL symbols. The loader
** does not map .symtab, so it is read from the file: the ELF header and section headers first,
** then the string table is searched for the wanted names (one sequential pass: "sqlite3_" is
** rare, the names are then compared in place), and only then the symbol table, matching each
** symbol's name offset against the few offsets found. Everything is read by pread into one
** bounded buffer; the file is never mapped or read whole (Node's executable is 150 MB, its
** .strtab 19 MB). Every offset in the file is checked: the file may be anything.
*/
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "static.h"

#define CHUNK ((size_t)256 * 1024)
#define MAX_HITS 256 /* name offsets matched in .strtab (normally one per wanted name) */

struct hit {
    uint64_t off; /* offset of the name in .strtab */
    int want;     /* index into the wanted names */
};

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* The section headers of the file; returns their number (0: none or not an ELF of our class). */
static int read_sections(int fd, ElfW(Ehdr) *eh, ElfW(Shdr) **out)
{
    *out = NULL;
    if (read_at(fd, eh, sizeof *eh, 0) != 0 || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return 0;
#if __SIZEOF_POINTER__ == 8
    if (eh->e_ident[EI_CLASS] != ELFCLASS64)
        return 0;
#else
    if (eh->e_ident[EI_CLASS] != ELFCLASS32)
        return 0;
#endif
    if (eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shnum == 0 || eh->e_shnum > 4096)
        return 0;
    ElfW(Shdr) *sh = malloc((size_t)eh->e_shnum * sizeof *sh);
    if (sh == NULL || read_at(fd, sh, (size_t)eh->e_shnum * sizeof *sh, eh->e_shoff) != 0) {
        free(sh);
        return 0;
    }
    *out = sh;
    return eh->e_shnum;
}

/* Pass 1: the offsets in the string table where a wanted name starts (as a whole string). */
static int find_names(int fd, const ElfW(Shdr) *strtab, struct lf_symtab_want *want, size_t nwant,
                      char *buf, struct hit *hits)
{
    static const char prefix[] = "sqlite3_";
    const size_t plen = sizeof prefix - 1;
    size_t maxlen = 0;
    for (size_t i = 0; i < nwant; i++)
        if (strlen(want[i].name) > maxlen)
            maxlen = strlen(want[i].name);
    int nhits = 0;
    /* Chunks overlap by the longest name + 1, so a name across a boundary is still seen whole. */
    uint64_t pos = 0, end = strtab->sh_size;
    while (pos < end) {
        size_t n = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
        if (read_at(fd, buf, n, strtab->sh_offset + pos) != 0)
            return -1;
        size_t scan_to = pos + n < end ? n - (maxlen + 1) : n;
        const char *p = buf, *stop = buf + n;
        while ((p = memmem(p, (size_t)(stop - p), prefix, plen)) != NULL &&
               (size_t)(p - buf) < scan_to) {
            const char *nul = memchr(p, '\0', (size_t)(stop - p));
            if (nul == NULL)
                break;
            for (size_t i = 0; i < nwant; i++) {
                if ((size_t)(nul - p) == strlen(want[i].name) &&
                    memcmp(p, want[i].name, (size_t)(nul - p)) == 0 && nhits < MAX_HITS) {
                    hits[nhits].off = pos + (uint64_t)(p - buf);
                    hits[nhits].want = (int)i;
                    nhits++;
                }
            }
            p += plen;
        }
        if (pos + n >= end)
            break;
        pos += n - (maxlen + 1);
    }
    return nhits;
}

/*
** Find the wanted function definitions in the .symtab of the ELF file open as `fd`. For each
** wanted name found, value (the symbol's address relative to the object's load base), size and
** exported-or-not are filled in and found is set. Returns the number found, 0 when the file has
** no .symtab (stripped) or none of the names, -1 when it is not an ELF file of this class.
*/
static int find_in(int fd, uint32_t sh_type, struct lf_symtab_want *want, size_t nwant)
{
    ElfW(Ehdr) eh;
    ElfW(Shdr) *sh;
    int nsec = read_sections(fd, &eh, &sh);
    if (nsec == 0)
        return -1;
    for (size_t i = 0; i < nwant; i++)
        want[i].found = 0;
    const ElfW(Shdr) *symtab = NULL;
    for (int i = 0; i < nsec; i++)
        if (sh[i].sh_type == sh_type && sh[i].sh_entsize == sizeof(ElfW(Sym)) &&
            sh[i].sh_link < (unsigned)nsec)
            symtab = &sh[i];
    int nfound = 0;
    char *buf = symtab ? malloc(CHUNK) : NULL;
    struct hit *hits = symtab ? malloc(MAX_HITS * sizeof *hits) : NULL;
    if (symtab == NULL || buf == NULL || hits == NULL)
        goto out;
    const ElfW(Shdr) *strtab = &sh[symtab->sh_link];
    int nhits = find_names(fd, strtab, want, nwant, buf, hits);
    if (nhits <= 0)
        goto out;

    /* Pass 2: the symbols whose names are at one of those offsets. */
    uint64_t nsyms = symtab->sh_size / sizeof(ElfW(Sym));
    const uint64_t per_chunk = CHUNK / sizeof(ElfW(Sym));
    for (uint64_t first = 0; first < nsyms; first += per_chunk) {
        uint64_t n = nsyms - first < per_chunk ? nsyms - first : per_chunk;
        if (read_at(fd, buf, (size_t)n * sizeof(ElfW(Sym)),
                    symtab->sh_offset + first * sizeof(ElfW(Sym))) != 0)
            goto out;
        const ElfW(Sym) *s = (const ElfW(Sym) *)(void *)buf;
        for (uint64_t k = 0; k < n; k++) {
            if (s[k].st_shndx == SHN_UNDEF || s[k].st_value == 0 ||
                ELF64_ST_TYPE(s[k].st_info) != STT_FUNC)
                continue;
            for (int h = 0; h < nhits; h++) {
                if (hits[h].off != s[k].st_name)
                    continue;
                struct lf_symtab_want *w = &want[hits[h].want];
                if (!w->found)
                    nfound++;
                w->found = 1;
                w->value = (uintptr_t)s[k].st_value;
                w->size = (size_t)s[k].st_size;
                w->global = ELF64_ST_BIND(s[k].st_info) != STB_LOCAL &&
                            ELF64_ST_VISIBILITY(s[k].st_other) != STV_HIDDEN &&
                            ELF64_ST_VISIBILITY(s[k].st_other) != STV_INTERNAL;
            }
        }
    }
out:
    free(hits);
    free(buf);
    free(sh);
    return nfound;
}

int lf_symtab_find(int fd, struct lf_symtab_want *want, size_t nwant)
{
    return find_in(fd, SHT_SYMTAB, want, nwant);
}

/* The same in the dynamic symbol table (.dynsym): what the object exports or imports. */
int lf_dynsym_find(int fd, struct lf_symtab_want *want, size_t nwant)
{
    return find_in(fd, SHT_DYNSYM, want, nwant);
}

/*
** Whether the file has a .symtab at all, and the file offset and size of its .rodata (where a
** SQLite without symbol names still shows itself by its strings). Returns -1 if not ELF.
*/
int lf_symtab_layout(int fd, int *has_symtab, uint64_t *rodata_addr, uint64_t *rodata_size)
{
    ElfW(Ehdr) eh;
    ElfW(Shdr) *sh;
    int nsec = read_sections(fd, &eh, &sh);
    if (nsec == 0)
        return -1;
    *has_symtab = 0;
    *rodata_addr = *rodata_size = 0;
    char names[4096];
    int have_names = eh.e_shstrndx < nsec && sh[eh.e_shstrndx].sh_size > 0 &&
                     read_at(fd, names,
                             sh[eh.e_shstrndx].sh_size < sizeof names ? sh[eh.e_shstrndx].sh_size
                                                                       : sizeof names,
                             sh[eh.e_shstrndx].sh_offset) == 0;
    names[sizeof names - 1] = '\0';
    for (int i = 0; i < nsec; i++) {
        if (sh[i].sh_type == SHT_SYMTAB)
            *has_symtab = 1;
        if (have_names && sh[i].sh_type == SHT_PROGBITS && sh[i].sh_name < sizeof names - 8 &&
            strcmp(names + sh[i].sh_name, ".rodata") == 0) {
            *rodata_addr = sh[i].sh_addr;
            *rodata_size = sh[i].sh_size;
        }
    }
    free(sh);
    return 0;
}

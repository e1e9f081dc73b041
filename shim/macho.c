/*
** The Mach-O import reader (see macho.h): load commands, bind opcodes, fixup chains and the
** indirect symbol table, read field by field at the offsets Apple's headers document.
**
** Two views of one image: a file's bytes (offsets are file offsets) and an image dyld mapped
** (segments sit at their vmaddr minus __TEXT's, and __LINKEDIT is mapped too). Every read goes
** through linkedit() or slot_bytes(), which check the range first.
*/
#include <string.h>

#include "macho.h"

#define MH_MAGIC_64 0xfeedfacfu
#define MH_MAGIC 0xfeedfaceu
#define FAT_MAGIC 0xcafebabeu    /* stored big-endian */
#define FAT_MAGIC_64 0xcafebabfu /* stored big-endian */

#define LC_REQ_DYLD 0x80000000u
#define LC_SYMTAB 0x2u
#define LC_DYSYMTAB 0xbu
#define LC_LOAD_DYLIB 0xcu
#define LC_ID_DYLIB 0xdu
#define LC_CODE_SIGNATURE 0x1du
#define LC_SEGMENT_64 0x19u
#define LC_UUID 0x1bu
#define LC_LOAD_WEAK_DYLIB (0x18u | LC_REQ_DYLD)
#define LC_REEXPORT_DYLIB (0x1fu | LC_REQ_DYLD)
#define LC_LAZY_LOAD_DYLIB 0x20u
#define LC_DYLD_INFO 0x22u
#define LC_DYLD_INFO_ONLY (0x22u | LC_REQ_DYLD)
#define LC_LOAD_UPWARD_DYLIB (0x23u | LC_REQ_DYLD)
#define LC_DYLD_CHAINED_FIXUPS (0x34u | LC_REQ_DYLD)
#define LC_FUNCTION_STARTS 0x26u

#define HEADER_SIZE 32u
#define SEGMENT_SIZE 72u
#define SECTION_SIZE 80u
#define NLIST_SIZE 16u
#define PTR_SIZE 8u

#define SECTION_TYPE 0xffu
#define S_NON_LAZY_SYMBOL_POINTERS 0x6u
#define S_LAZY_SYMBOL_POINTERS 0x7u
#define S_LAZY_DYLIB_SYMBOL_POINTERS 0x10u
#define INDIRECT_SYMBOL_LOCAL 0x80000000u
#define INDIRECT_SYMBOL_ABS 0x40000000u
#define N_STAB 0xe0u
#define N_PEXT 0x10u
#define N_TYPE 0x0eu
#define N_UNDF 0x0u
#define N_SECT 0xeu
#define N_EXT 0x01u
#define CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0u
#define CSMAGIC_CODEDIRECTORY 0xfade0c02u
#define CSSLOT_CODEDIRECTORY 0u
#define N_WEAK_REF 0x0040u
#define EXECUTABLE_ORDINAL 0xffu
#define DYNAMIC_LOOKUP_ORDINAL 0xfeu

#define BIND_TYPE_POINTER 1
#define BIND_SYMBOL_FLAGS_WEAK_IMPORT 0x1
#define BIND_OPCODE_MASK 0xf0
#define BIND_IMMEDIATE_MASK 0x0f
#define BIND_OPCODE_DONE 0x00
#define BIND_OPCODE_SET_DYLIB_ORDINAL_IMM 0x10
#define BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB 0x20
#define BIND_OPCODE_SET_DYLIB_SPECIAL_IMM 0x30
#define BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM 0x40
#define BIND_OPCODE_SET_TYPE_IMM 0x50
#define BIND_OPCODE_SET_ADDEND_SLEB 0x60
#define BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB 0x70
#define BIND_OPCODE_ADD_ADDR_ULEB 0x80
#define BIND_OPCODE_DO_BIND 0x90
#define BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB 0xa0
#define BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED 0xb0
#define BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB 0xc0

#define DYLD_CHAINED_IMPORT 1u
#define DYLD_CHAINED_IMPORT_ADDEND 2u
#define DYLD_CHAINED_IMPORT_ADDEND64 3u
#define DYLD_CHAINED_PTR_ARM64E 1u
#define DYLD_CHAINED_PTR_64 2u
#define DYLD_CHAINED_PTR_64_OFFSET 6u
#define DYLD_CHAINED_PTR_ARM64E_USERLAND 9u
#define DYLD_CHAINED_PTR_ARM64E_USERLAND24 12u
#define DYLD_CHAINED_PTR_START_NONE 0xffffu
#define DYLD_CHAINED_PTR_START_MULTI 0x8000u

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}
static uint32_t rd32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* [off, off + len) lies within [0, size): no overflow in the sum. */
static int within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* __LINKEDIT bytes at file offset `off`, or NULL when not all `len` bytes are there. */
static const uint8_t *linkedit(const struct lf_macho *m, uint64_t off, uint64_t len)
{
    if (!m->mapped)
        return within(off, len, m->size) ? m->base + off : NULL;
    if (m->linkedit < 0)
        return NULL;
    const struct lf_macho_seg *le = &m->seg[m->linkedit];
    if (off < le->fileoff || !within(off - le->fileoff, len, le->filesize))
        return NULL;
    return m->base + (le->vmaddr - m->text_vmaddr) + (off - le->fileoff);
}

/* The bytes of a slot at `vmaddr` in segment `s` (file-backed part only), or NULL. */
static const uint8_t *slot_bytes(const struct lf_macho *m, int s, uint64_t vmaddr, uint64_t len)
{
    const struct lf_macho_seg *g = &m->seg[s];
    if (vmaddr < g->vmaddr || !within(vmaddr - g->vmaddr, len, g->filesize))
        return NULL;
    if (m->mapped)
        return m->base + (vmaddr - m->text_vmaddr);
    uint64_t off = g->fileoff + (vmaddr - g->vmaddr);
    return within(off, len, m->size) ? m->base + off : NULL;
}

/* A NUL-terminated string starting at p with at most `avail` bytes readable, or NULL. */
static const char *str_in(const uint8_t *p, uint64_t avail)
{
    return p != NULL && memchr(p, '\0', avail) != NULL ? (const char *)p : NULL;
}

int lf_macho_seg_of(const struct lf_macho *m, uint64_t vmaddr, uint64_t len)
{
    for (int i = 0; i < m->nseg; i++)
        if (vmaddr >= m->seg[i].vmaddr && within(vmaddr - m->seg[i].vmaddr, len, m->seg[i].vmsize))
            return i;
    return -1;
}

int lf_macho_section_of(const struct lf_macho *m, uint64_t vmaddr, char seg[17], char sect[17])
{
    int s = lf_macho_seg_of(m, vmaddr, 1);
    if (s < 0)
        return -1;
    for (uint32_t k = 0; k < m->seg[s].nsects; k++) {
        const uint8_t *h = m->base + m->seg[s].sect_at + (size_t)k * SECTION_SIZE;
        uint64_t addr = rd64(h + 32), size = rd64(h + 40);
        if (vmaddr >= addr && vmaddr - addr < size) {
            memcpy(seg, m->seg[s].name, 17);
            memcpy(sect, h, 16);
            sect[16] = '\0';
            return 0;
        }
    }
    return -1;
}

const char *lf_macho_dylib(const struct lf_macho *m, int ordinal)
{
    return ordinal >= 1 && ordinal <= m->ndylib ? m->dylib[ordinal - 1] : NULL;
}

int lf_macho_slice(const void *file, size_t size, uint32_t cputype, size_t *off, size_t *len,
                   const char **why)
{
    const uint8_t *p = file;
    if (size < 8) {
        *why = "too short for a Mach-O header";
        return -1;
    }
    uint32_t be = rd32be(p);
    if (be != FAT_MAGIC && be != FAT_MAGIC_64) {
        if (rd32(p) != MH_MAGIC_64 || rd32(p + 4) != cputype) {
            *why = "not a 64-bit Mach-O file for this architecture";
            return -1;
        }
        *off = 0;
        *len = size;
        return 0;
    }
    /* fat_header and fat_arch[_64] are big-endian: cputype, cpusubtype, offset, size, align */
    uint32_t n = rd32be(p + 4), entry = be == FAT_MAGIC ? 20u : 32u;
    if (!within(8, (uint64_t)n * entry, size)) {
        *why = "universal file header runs past the end";
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *a = p + 8 + (size_t)i * entry;
        if (rd32be(a) != cputype)
            continue;
        uint64_t o =
            be == FAT_MAGIC ? rd32be(a + 8) : (uint64_t)rd32be(a + 8) << 32 | rd32be(a + 12);
        uint64_t l =
            be == FAT_MAGIC ? rd32be(a + 12) : (uint64_t)rd32be(a + 16) << 32 | rd32be(a + 20);
        if (!within(o, l, size)) {
            *why = "universal file slice runs past the end";
            return -1;
        }
        *off = (size_t)o;
        *len = (size_t)l;
        return 0;
    }
    *why = "universal file has no slice for this architecture";
    return -1;
}

/* One load command; *why set and -1 returned when it is malformed. */
static int parse_command(struct lf_macho *m, const uint8_t *c, uint32_t cmd, uint32_t cmdsize,
                         uint32_t at, const char **why)
{
    switch (cmd) {
    case LC_SEGMENT_64: {
        if (cmdsize < SEGMENT_SIZE ||
            (uint64_t)rd32(c + 64) * SECTION_SIZE > cmdsize - SEGMENT_SIZE) {
            *why = "segment command too short for its sections";
            return -1;
        }
        if (m->nseg >= LF_MACHO_MAX_SEGS) {
            *why = "too many segments";
            return -1;
        }
        struct lf_macho_seg *g = &m->seg[m->nseg];
        memcpy(g->name, c + 8, 16);
        g->name[16] = '\0';
        g->vmaddr = rd64(c + 24);
        g->vmsize = rd64(c + 32);
        g->fileoff = rd64(c + 40);
        g->filesize = rd64(c + 48);
        g->nsects = rd32(c + 64);
        g->sect_at = at + SEGMENT_SIZE;
        if (g->filesize > g->vmsize || g->vmaddr + g->vmsize < g->vmaddr) {
            *why = "segment sizes inconsistent";
            return -1;
        }
        if (g->fileoff == 0 && g->filesize > 0)
            m->text_vmaddr = g->vmaddr;
        if (strcmp(g->name, "__LINKEDIT") == 0)
            m->linkedit = m->nseg;
        m->nseg++;
        break;
    }
    case LC_SYMTAB:
        if (cmdsize < 24)
            goto short_cmd;
        m->symoff = rd32(c + 8);
        m->nsyms = rd32(c + 12);
        m->stroff = rd32(c + 16);
        m->strsize = rd32(c + 20);
        break;
    case LC_DYSYMTAB:
        if (cmdsize < 80)
            goto short_cmd;
        m->indirectsymoff = rd32(c + 56);
        m->nindirectsyms = rd32(c + 60);
        m->has_dysymtab = 1;
        break;
    case LC_DYLD_INFO:
    case LC_DYLD_INFO_ONLY:
        if (cmdsize < 48)
            goto short_cmd;
        m->bind_off = rd32(c + 16);
        m->bind_size = rd32(c + 20);
        m->lazy_bind_off = rd32(c + 32);
        m->lazy_bind_size = rd32(c + 36);
        m->has_dyld_info = 1;
        break;
    case LC_DYLD_CHAINED_FIXUPS:
        if (cmdsize < 16)
            goto short_cmd;
        m->chained_off = rd32(c + 8);
        m->chained_size = rd32(c + 12);
        m->has_chained = 1;
        break;
    case LC_LOAD_DYLIB:
    case LC_LOAD_WEAK_DYLIB:
    case LC_REEXPORT_DYLIB:
    case LC_LAZY_LOAD_DYLIB:
    case LC_LOAD_UPWARD_DYLIB: {
        if (cmdsize < 24)
            goto short_cmd;
        uint32_t name = rd32(c + 8);
        const char *s = name < cmdsize ? str_in(c + name, cmdsize - name) : NULL;
        if (s == NULL) {
            *why = "dylib name not terminated in its command";
            return -1;
        }
        if (m->ndylib >= LF_MACHO_MAX_DYLIBS) {
            *why = "too many dylibs";
            return -1;
        }
        m->dylib[m->ndylib++] = s;
        break;
    }
    case LC_ID_DYLIB: {
        if (cmdsize < 24)
            goto short_cmd;
        uint32_t name = rd32(c + 8);
        m->id_name = name < cmdsize ? str_in(c + name, cmdsize - name) : NULL;
        if (m->id_name == NULL) {
            *why = "dylib id not terminated in its command";
            return -1;
        }
        break;
    }
    case LC_CODE_SIGNATURE:
        if (cmdsize < 16)
            goto short_cmd;
        m->codesig_off = rd32(c + 8);
        m->codesig_size = rd32(c + 12);
        break;
    case LC_FUNCTION_STARTS:
        if (cmdsize < 16)
            goto short_cmd;
        m->funcstarts_off = rd32(c + 8);
        m->funcstarts_size = rd32(c + 12);
        break;
    case LC_UUID:
        if (cmdsize < 24)
            goto short_cmd;
        memcpy(m->uuid, c + 8, 16);
        m->has_uuid = 1;
        break;
    default:
        break;
    }
    return 0;
short_cmd:
    *why = "load command shorter than its kind";
    return -1;
}

int lf_macho_parse(struct lf_macho *m, const void *base, size_t size, int mapped, const char **why)
{
    memset(m, 0, sizeof *m);
    m->base = base;
    m->size = mapped ? 0 : size;
    m->mapped = mapped;
    m->linkedit = -1;
    const uint8_t *p = base;
    if (!mapped && size < HEADER_SIZE) {
        *why = "too short for a Mach-O header";
        return -1;
    }
    uint32_t magic = rd32(p);
    if (magic != MH_MAGIC_64) {
        *why = magic == MH_MAGIC ? "32-bit Mach-O (not supported)"
               : rd32be(p) == FAT_MAGIC || rd32be(p) == FAT_MAGIC_64
                   ? "universal file: pick a slice first"
                   : "not a Mach-O file";
        return -1;
    }
    m->cputype = rd32(p + 4);
    m->filetype = rd32(p + 12);
    m->ncmds = rd32(p + 16);
    m->sizeofcmds = rd32(p + 20);
    m->flags = rd32(p + 24);
    if (!mapped && !within(HEADER_SIZE, m->sizeofcmds, size)) {
        *why = "load commands run past the end";
        return -1;
    }
    uint32_t at = HEADER_SIZE, end = HEADER_SIZE + m->sizeofcmds;
    for (uint32_t i = 0; i < m->ncmds; i++) {
        if (end - at < 8) {
            *why = "load commands run past their size";
            return -1;
        }
        uint32_t cmd = rd32(p + at), cmdsize = rd32(p + at + 4);
        if (cmdsize < 8 || cmdsize > end - at || cmdsize % 8 != 0) {
            *why = "bad load command size";
            return -1;
        }
        if (parse_command(m, p + at, cmd, cmdsize, at, why) != 0)
            return -1;
        at += cmdsize;
    }
    return 0;
}

/* ---- bind opcodes (LC_DYLD_INFO) ---------------------------------------------------------- */

struct opstream {
    const uint8_t *p, *end;
    int bad;
};

static uint64_t uleb(struct opstream *s)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (s->p >= s->end || shift >= 64) {
            s->bad = 1;
            return 0;
        }
        uint8_t b = *s->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

static int64_t sleb(struct opstream *s)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        if (s->p >= s->end || shift >= 64) {
            s->bad = 1;
            return 0;
        }
        b = *s->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

struct bind_state {
    const struct lf_macho *m;
    lf_macho_visit_fn fn;
    void *ctx;
    struct lf_macho_bind b;
    int type;
    uint64_t segoff;
};

/* Report the slot at the current segment and offset; -1 (with *why) if it is not a slot. */
static int emit(struct bind_state *st, const char **why, int *stop)
{
    const struct lf_macho *m = st->m;
    if (st->b.name == NULL || st->b.seg < 0 || st->b.seg >= m->nseg) {
        *why = "bind before its symbol or segment";
        return -1;
    }
    if (st->type != BIND_TYPE_POINTER) {
        *why = "text relocation bind (not a pointer)";
        return -1;
    }
    const struct lf_macho_seg *g = &m->seg[st->b.seg];
    if (!within(st->segoff, PTR_SIZE, g->vmsize)) {
        *why = "bind address outside its segment";
        return -1;
    }
    st->b.vmaddr = g->vmaddr + st->segoff;
    *stop = st->fn(&st->b, st->ctx);
    return 0;
}

static int walk_opcodes(const struct lf_macho *m, uint32_t off, uint32_t size,
                        enum lf_macho_bind_kind kind, lf_macho_visit_fn fn, void *ctx,
                        const char **why)
{
    if (size == 0)
        return 0;
    const uint8_t *p = linkedit(m, off, size);
    if (p == NULL) {
        *why = "bind information outside __LINKEDIT";
        return -1;
    }
    struct opstream s = {p, p + size, 0};
    struct bind_state st = {.m = m, .fn = fn, .ctx = ctx, .type = BIND_TYPE_POINTER};
    st.b.seg = -1;
    st.b.kind = kind;
    int stop = 0;
    while (s.p < s.end && !stop) {
        uint8_t op = *s.p & BIND_OPCODE_MASK, imm = *s.p & BIND_IMMEDIATE_MASK;
        s.p++;
        switch (op) {
        case BIND_OPCODE_DONE:
            if (kind != LF_MACHO_LAZY)
                return 0;
            break; /* lazy entries each end with DONE */
        case BIND_OPCODE_SET_DYLIB_ORDINAL_IMM:
            st.b.ordinal = imm;
            break;
        case BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB:
            st.b.ordinal = (int)uleb(&s);
            break;
        case BIND_OPCODE_SET_DYLIB_SPECIAL_IMM:
            st.b.ordinal = imm == 0 ? 0 : (int)(int8_t)(BIND_OPCODE_MASK | imm);
            break;
        case BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM: {
            const char *name = str_in(s.p, (uint64_t)(s.end - s.p));
            if (name == NULL) {
                *why = "symbol name not terminated in the bind information";
                return -1;
            }
            st.b.name = name;
            st.b.weak_import = (imm & BIND_SYMBOL_FLAGS_WEAK_IMPORT) != 0;
            s.p += strlen(name) + 1;
            break;
        }
        case BIND_OPCODE_SET_TYPE_IMM:
            st.type = imm;
            break;
        case BIND_OPCODE_SET_ADDEND_SLEB:
            st.b.addend = sleb(&s);
            break;
        case BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB:
            st.b.seg = imm;
            st.segoff = uleb(&s);
            break;
        case BIND_OPCODE_ADD_ADDR_ULEB:
            st.segoff += uleb(&s);
            break;
        case BIND_OPCODE_DO_BIND:
            if (emit(&st, why, &stop) != 0)
                return -1;
            st.segoff += PTR_SIZE;
            break;
        case BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB:
            if (emit(&st, why, &stop) != 0)
                return -1;
            st.segoff += uleb(&s) + PTR_SIZE;
            break;
        case BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED:
            if (emit(&st, why, &stop) != 0)
                return -1;
            st.segoff += (uint64_t)imm * PTR_SIZE + PTR_SIZE;
            break;
        case BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB: {
            uint64_t count = uleb(&s), skip = uleb(&s);
            for (uint64_t i = 0; i < count && !s.bad && !stop; i++) {
                if (emit(&st, why, &stop) != 0) /* leaves the segment after a bounded count */
                    return -1;
                st.segoff += skip + PTR_SIZE;
            }
            break;
        }
        default: /* including BIND_OPCODE_THREADED (old arm64e), which is not supported */
            *why = "unknown bind opcode";
            return -1;
        }
        if (s.bad) {
            *why = "bind information truncated";
            return -1;
        }
    }
    return stop;
}

/* ---- function starts (LC_FUNCTION_STARTS) ------------------------------------------------- */

/* The end of the section holding vmaddr, or 0. */
static uint64_t section_end(const struct lf_macho *m, uint64_t vmaddr)
{
    int s = lf_macho_seg_of(m, vmaddr, 1);
    for (uint32_t k = 0; s >= 0 && k < m->seg[s].nsects; k++) {
        const uint8_t *h = m->base + m->seg[s].sect_at + (size_t)k * SECTION_SIZE;
        uint64_t addr = rd64(h + 32), size = rd64(h + 40);
        if (vmaddr >= addr && vmaddr - addr < size)
            return addr + size;
    }
    return 0;
}

uint64_t lf_macho_function_size(const struct lf_macho *m, uint64_t vmaddr)
{
    const uint8_t *p = m->funcstarts_size ? linkedit(m, m->funcstarts_off, m->funcstarts_size)
                                          : NULL;
    if (p == NULL)
        return 0;
    struct opstream st = {p, p + m->funcstarts_size, 0};
    uint64_t at = m->text_vmaddr;
    int found = 0;
    while (st.p < st.end) {
        uint64_t delta = uleb(&st);
        if (st.bad || delta == 0)
            break; /* the list ends with a 0 (and padding) */
        if (at + delta < at)
            return 0;
        at += delta;
        if (found)
            return at - vmaddr; /* the next function's start */
        if (at == vmaddr)
            found = 1;
        else if (at > vmaddr)
            return 0; /* not a function start */
    }
    if (!found)
        return 0;
    uint64_t end = section_end(m, vmaddr); /* the last function: to the end of its section */
    return end > vmaddr ? end - vmaddr : 0;
}

/* ---- fixup chains (LC_DYLD_CHAINED_FIXUPS) ------------------------------------------------ */

struct chain_imports {
    const uint8_t *data; /* the LC_DYLD_CHAINED_FIXUPS payload */
    uint32_t size, offset, count, format, symbols;
};

/* Import `i`: its name, library ordinal, weak flag and addend. */
static int chain_import(const struct chain_imports *im, uint64_t i, struct lf_macho_bind *b,
                        const char **why)
{
    if (i >= im->count) {
        *why = "chained bind names an import past the table";
        return -1;
    }
    uint32_t name_off;
    const uint8_t *e;
    if (im->format == DYLD_CHAINED_IMPORT_ADDEND64) {
        e = im->data + im->offset + i * 16;
        uint64_t v = rd64(e);
        uint32_t ord = (uint32_t)(v & 0xffff);
        b->ordinal = ord >= 0xfff1 ? (int)ord - 0x10000 : (int)ord;
        b->weak_import = (int)((v >> 16) & 1);
        name_off = (uint32_t)(v >> 32);
        b->addend = (int64_t)rd64(e + 8);
    } else {
        e = im->data + im->offset + i * (im->format == DYLD_CHAINED_IMPORT ? 4 : 8);
        uint32_t v = rd32(e), ord = v & 0xff;
        b->ordinal = ord >= 0xf1 ? (int)ord - 0x100 : (int)ord;
        b->weak_import = (int)((v >> 8) & 1);
        name_off = v >> 9;
        b->addend = im->format == DYLD_CHAINED_IMPORT ? 0 : (int32_t)rd32(e + 4);
    }
    uint64_t at = (uint64_t)im->symbols + name_off;
    b->name = at < im->size ? str_in(im->data + at, im->size - at) : NULL;
    if (b->name == NULL) {
        *why = "chained import name outside the symbol strings";
        return -1;
    }
    return 0;
}

/* Walk one chain starting at `vmaddr` in segment `s`. */
static int walk_chain(const struct lf_macho *m, int s, uint64_t vmaddr, unsigned format,
                      const struct chain_imports *im, lf_macho_visit_fn fn, void *ctx,
                      const char **why)
{
    int arm64e = format != DYLD_CHAINED_PTR_64 && format != DYLD_CHAINED_PTR_64_OFFSET;
    uint64_t stride = arm64e ? 8 : 4;
    for (;;) {
        const uint8_t *q = slot_bytes(m, s, vmaddr, PTR_SIZE);
        if (q == NULL) {
            *why = "fixup chain leaves its segment";
            return -1;
        }
        uint64_t v = rd64(q), next;
        int bind;
        struct lf_macho_bind b = {.vmaddr = vmaddr, .seg = s, .kind = LF_MACHO_CHAINED};
        if (arm64e) {
            bind = (int)((v >> 62) & 1);
            next = (v >> 51) & 0x7ff;
            if (bind) {
                int auth = (int)(v >> 63);
                uint64_t idx =
                    v & (format == DYLD_CHAINED_PTR_ARM64E_USERLAND24 ? 0xffffff : 0xffff);
                if (chain_import(im, idx, &b, why) != 0)
                    return -1;
                if (!auth) { /* 19-bit signed addend at bit 32 */
                    int64_t a = (int64_t)((v >> 32) & 0x7ffff);
                    b.addend += a >= 0x40000 ? a - 0x80000 : a;
                }
            }
        } else {
            bind = (int)(v >> 63);
            next = (v >> 51) & 0xfff;
            if (bind) {
                if (chain_import(im, v & 0xffffff, &b, why) != 0)
                    return -1;
                b.addend += (int64_t)((v >> 24) & 0xff);
            }
        }
        if (bind) {
            int stop = fn(&b, ctx);
            if (stop)
                return stop;
        }
        if (next == 0)
            return 0;
        vmaddr += next * stride;
    }
}

static int walk_chained(const struct lf_macho *m, lf_macho_visit_fn fn, void *ctx, const char **why)
{
    if (m->mapped) {
        *why = "fixup chains are read from the file: dyld has overwritten them in memory";
        return -1;
    }
    const uint8_t *d = linkedit(m, m->chained_off, m->chained_size);
    uint32_t size = m->chained_size;
    if (d == NULL || size < 28) {
        *why = "chained fixups outside __LINKEDIT";
        return -1;
    }
    struct chain_imports im = {d, size, rd32(d + 8), rd32(d + 16), rd32(d + 20), rd32(d + 12)};
    uint32_t starts = rd32(d + 4), entry;
    if (rd32(d) != 0 || rd32(d + 24) != 0) {
        *why = "chained fixups version or symbol format not supported";
        return -1;
    }
    switch (im.format) {
    case DYLD_CHAINED_IMPORT:
        entry = 4;
        break;
    case DYLD_CHAINED_IMPORT_ADDEND:
        entry = 8;
        break;
    case DYLD_CHAINED_IMPORT_ADDEND64:
        entry = 16;
        break;
    default:
        *why = "chained imports format not supported";
        return -1;
    }
    if (!within(im.offset, (uint64_t)im.count * entry, size) || !within(starts, 4, size)) {
        *why = "chained fixups tables run past their data";
        return -1;
    }
    uint32_t nseg = rd32(d + starts);
    if (!within(starts + 4, (uint64_t)nseg * 4, size) || nseg > (uint32_t)m->nseg) {
        *why = "chained starts name more segments than the image has";
        return -1;
    }
    for (uint32_t i = 0; i < nseg; i++) {
        uint32_t info = rd32(d + starts + 4 + (size_t)i * 4);
        if (info == 0)
            continue;
        uint64_t at = (uint64_t)starts + info;
        if (!within(at, 22, size)) {
            *why = "chained segment starts outside their data";
            return -1;
        }
        const uint8_t *g = d + at;
        uint16_t page_size = rd16(g + 4), format = rd16(g + 6), pages = rd16(g + 20);
        uint64_t seg_offset = rd64(g + 8);
        if (!within(at + 22, (uint64_t)pages * 2, size) || page_size == 0) {
            *why = "chained page starts run past their data";
            return -1;
        }
        if (format != DYLD_CHAINED_PTR_64 && format != DYLD_CHAINED_PTR_64_OFFSET &&
            format != DYLD_CHAINED_PTR_ARM64E && format != DYLD_CHAINED_PTR_ARM64E_USERLAND &&
            format != DYLD_CHAINED_PTR_ARM64E_USERLAND24) {
            *why = "chained pointer format not supported";
            return -1;
        }
        if (m->text_vmaddr + seg_offset != m->seg[i].vmaddr) {
            *why = "chained segment offset does not match its segment";
            return -1;
        }
        for (uint32_t pg = 0; pg < pages; pg++) {
            uint16_t start = rd16(g + 22 + (size_t)pg * 2);
            if (start == DYLD_CHAINED_PTR_START_NONE)
                continue;
            if (start & DYLD_CHAINED_PTR_START_MULTI) { /* only 32-bit formats use these */
                *why = "multiple chain starts per page (32-bit formats) not supported";
                return -1;
            }
            uint64_t vm = m->seg[i].vmaddr + (uint64_t)pg * page_size + start;
            int rc = walk_chain(m, (int)i, vm, format, &im, fn, ctx, why);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int lf_macho_binds(const struct lf_macho *m, lf_macho_visit_fn fn, void *ctx, const char **why)
{
    if (m->has_chained)
        return walk_chained(m, fn, ctx, why);
    if (!m->has_dyld_info) {
        *why = "no LC_DYLD_INFO or LC_DYLD_CHAINED_FIXUPS (a pre-10.6 image?)";
        return -1;
    }
    int rc = walk_opcodes(m, m->bind_off, m->bind_size, LF_MACHO_BIND, fn, ctx, why);
    if (rc != 0)
        return rc;
    return walk_opcodes(m, m->lazy_bind_off, m->lazy_bind_size, LF_MACHO_LAZY, fn, ctx, why);
}

/* ---- the indirect symbol table ------------------------------------------------------------ */

int lf_macho_symbol_pointers(const struct lf_macho *m, lf_macho_visit_fn fn, void *ctx,
                             const char **why)
{
    if (!m->has_dysymtab || m->nindirectsyms == 0)
        return 0;
    const uint8_t *ind = linkedit(m, m->indirectsymoff, (uint64_t)m->nindirectsyms * 4);
    const uint8_t *syms = linkedit(m, m->symoff, (uint64_t)m->nsyms * NLIST_SIZE);
    const uint8_t *strs = linkedit(m, m->stroff, m->strsize);
    if (ind == NULL || syms == NULL || strs == NULL) {
        *why = "symbol tables outside __LINKEDIT";
        return -1;
    }
    for (int s = 0; s < m->nseg; s++) {
        for (uint32_t k = 0; k < m->seg[s].nsects; k++) {
            const uint8_t *sec = m->base + m->seg[s].sect_at + (size_t)k * SECTION_SIZE;
            uint32_t type = rd32(sec + 64) & SECTION_TYPE;
            if (type != S_NON_LAZY_SYMBOL_POINTERS && type != S_LAZY_SYMBOL_POINTERS &&
                type != S_LAZY_DYLIB_SYMBOL_POINTERS)
                continue;
            uint64_t addr = rd64(sec + 32), n = rd64(sec + 40) / PTR_SIZE;
            uint32_t first = rd32(sec + 68);
            if (!within(first, n, m->nindirectsyms) ||
                lf_macho_seg_of(m, addr, n * PTR_SIZE) != s) {
                *why = "symbol-pointer section outside its tables or segment";
                return -1;
            }
            for (uint64_t j = 0; j < n; j++) {
                uint32_t idx = rd32(ind + (first + j) * 4);
                if (idx & (INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS))
                    continue; /* rebased, not bound */
                if (idx >= m->nsyms) {
                    *why = "indirect symbol past the symbol table";
                    return -1;
                }
                const uint8_t *nl = syms + (size_t)idx * NLIST_SIZE;
                uint8_t ntype = nl[4];
                uint16_t desc = rd16(nl + 6);
                if ((ntype & N_TYPE) != N_UNDF || !(ntype & N_EXT))
                    continue; /* defined here: a rebase */
                uint32_t strx = rd32(nl);
                const char *name =
                    strx < m->strsize ? str_in(strs + strx, m->strsize - strx) : NULL;
                if (name == NULL) {
                    *why = "symbol name outside the string table";
                    return -1;
                }
                unsigned ord = (desc >> 8) & 0xff;
                struct lf_macho_bind b = {
                    .name = name,
                    .vmaddr = addr + j * PTR_SIZE,
                    .seg = s,
                    .ordinal = ord == EXECUTABLE_ORDINAL       ? LF_MACHO_ORDINAL_MAIN
                               : ord == DYNAMIC_LOOKUP_ORDINAL ? LF_MACHO_ORDINAL_FLAT
                                                               : (int)ord,
                    .weak_import = (desc & N_WEAK_REF) != 0,
                    .kind = LF_MACHO_INDIRECT,
                };
                int stop = fn(&b, ctx);
                if (stop)
                    return stop;
            }
        }
    }
    return 0;
}

/* ---- the slots a loaded image binds to wanted names -------------------------------------- */

struct wanted {
    const char *const *names;
    int n;
    struct lf_macho_slot *out;
    int cap, count, dropped;
};

static int keep_wanted(const struct lf_macho_bind *b, void *ctx)
{
    struct wanted *w = ctx;
    for (int i = 0; i < w->n; i++) {
        if (strcmp(b->name, w->names[i]) != 0)
            continue;
        if (w->count < w->cap)
            w->out[w->count++] = (struct lf_macho_slot){b->vmaddr, i, b->ordinal};
        else
            w->dropped++;
        break;
    }
    return 0;
}

int lf_macho_import_slots(const struct lf_macho *mapped, const struct lf_macho *file,
                          const char *const names[], int n, struct lf_macho_slot *out, int cap,
                          int *dropped, const char **partial, const char **why)
{
    struct wanted w = {names, n, out, cap, 0, 0};
    int rc;
    *partial = NULL;
    if (!mapped->has_chained)
        rc = lf_macho_binds(mapped, keep_wanted, &w, why);
    else if (file == NULL)
        rc = -1, *why = "the image's file cannot be read";
    else if (!mapped->has_uuid || !file->has_uuid || memcmp(file->uuid, mapped->uuid, 16) != 0 ||
             file->cputype != mapped->cputype)
        rc = -1, *why = "the image's file is not the image that was loaded (UUIDs differ)";
    else
        rc = lf_macho_binds(file, keep_wanted, &w, why);
    if (rc != 0) {
        *partial = *why;
        w.count = w.dropped = 0;
        rc = lf_macho_symbol_pointers(mapped, keep_wanted, &w, why);
        if (rc != 0)
            return -1;
    }
    *dropped = w.dropped;
    return w.count;
}

/* ---- defined symbols and the code signature ----------------------------------------------- */

int lf_macho_defined(const struct lf_macho *m, const char *const names[], int n, uint64_t vmaddr[],
                     int exported[], const char **why)
{
    for (int i = 0; i < n; i++)
        vmaddr[i] = 0, exported[i] = 0;
    if (m->nsyms == 0)
        return 0;
    const uint8_t *syms = linkedit(m, m->symoff, (uint64_t)m->nsyms * NLIST_SIZE);
    const uint8_t *strs = linkedit(m, m->stroff, m->strsize);
    if (syms == NULL || strs == NULL) {
        *why = "symbol table outside __LINKEDIT";
        return -1;
    }
    /* the prefix all names share ("_sqlite3_"): most symbols are dismissed by it alone */
    size_t common = n > 0 ? strlen(names[0]) : 0;
    for (int i = 1; i < n; i++)
        for (size_t c = 0; c < common; c++)
            if (names[i][c] != names[0][c]) {
                common = c;
                break;
            }
    int found = 0;
    for (uint32_t k = 0; k < m->nsyms; k++) {
        const uint8_t *nl = syms + (size_t)k * NLIST_SIZE;
        uint8_t type = nl[4];
        uint32_t strx = rd32(nl);
        if ((type & N_STAB) || (type & N_TYPE) != N_SECT || strx >= m->strsize)
            continue;
        if (m->strsize - strx <= common || memcmp(strs + strx, names[0], common) != 0)
            continue;
        const char *name = str_in(strs + strx, m->strsize - strx);
        if (name == NULL)
            continue;
        for (int i = 0; i < n; i++) {
            if (vmaddr[i] == 0 && strcmp(name, names[i]) == 0) {
                vmaddr[i] = rd64(nl + 8);
                exported[i] = (type & N_EXT) && !(type & N_PEXT);
                found += vmaddr[i] != 0;
            }
        }
    }
    return found;
}

long lf_macho_codesign_flags(const struct lf_macho *m)
{
    if (m->codesig_size < 12)
        return -1;
    const uint8_t *sb = linkedit(m, m->codesig_off, m->codesig_size);
    if (sb == NULL || rd32be(sb) != CSMAGIC_EMBEDDED_SIGNATURE)
        return -1;
    uint32_t size = m->codesig_size, count = rd32be(sb + 8); /* the blobs are big-endian */
    if (!within(12, (uint64_t)count * 8, size))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = rd32be(sb + 12 + (size_t)i * 8), off = rd32be(sb + 16 + (size_t)i * 8);
        if (type == CSSLOT_CODEDIRECTORY && within(off, 16, size) &&
            rd32be(sb + off) == CSMAGIC_CODEDIRECTORY)
            return (long)rd32be(sb + off + 12);
    }
    return -1;
}

/*
** Reading a Mach-O image's imports: which pointer slots dyld binds to which symbol.
**
** Plain code over bytes: a file's (one architecture's slice) or an image as dyld mapped it. It
** never includes Apple's headers (the formats are read field by field, little-endian, as
** <mach-o/loader.h>, <mach-o/nlist.h> and <mach-o/fixup-chains.h> document them), so it is built
** and unit-tested on Linux against Mach-O files made by a real linker (tests/unit/test_macho.c).
** darwin.c uses it to find the sqlite3_* slots of every image.
**
** Only 64-bit images (macOS 10.15 and later run nothing else). Every offset and count read from
** the image is checked against what is readable; a malformed image gives an error and a reason,
** never a read out of bounds.
*/
#ifndef LOCKFIX_MACHO_H
#define LOCKFIX_MACHO_H

#include <stddef.h>
#include <stdint.h>

#define LF_MACHO_CPU_X86_64 0x01000007u
#define LF_MACHO_CPU_ARM64 0x0100000cu

/* Library ordinals as the bind information spells them (1.. is the n-th LC_LOAD_DYLIB). */
#define LF_MACHO_ORDINAL_SELF 0
#define LF_MACHO_ORDINAL_MAIN (-1)
#define LF_MACHO_ORDINAL_FLAT (-2)
#define LF_MACHO_ORDINAL_WEAK (-3)

#define LF_MACHO_MAX_SEGS 16
#define LF_MACHO_MAX_DYLIBS 256

struct lf_macho_seg {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize;
    uint32_t sect_at, nsects; /* offset of its section headers from the header */
};

/* One parsed image. Filled by lf_macho_parse(); points into the caller's bytes. */
struct lf_macho {
    const uint8_t *base; /* the mach_header_64 */
    size_t size;         /* readable bytes from base (a file slice); 0 for a mapped image */
    int mapped;          /* laid out by dyld: segments at their vmaddr - text vmaddr */
    uint32_t cputype, filetype, flags, ncmds, sizeofcmds;
    struct lf_macho_seg seg[LF_MACHO_MAX_SEGS];
    int nseg;
    int linkedit;         /* index of __LINKEDIT in seg[], or -1 */
    uint64_t text_vmaddr; /* vmaddr of the segment mapped at the header (__TEXT) */
    uint32_t symoff, nsyms, stroff, strsize; /* LC_SYMTAB */
    uint32_t indirectsymoff, nindirectsyms;  /* LC_DYSYMTAB */
    int has_dysymtab;
    uint32_t bind_off, bind_size, lazy_bind_off, lazy_bind_size; /* LC_DYLD_INFO[_ONLY] */
    uint32_t chained_off, chained_size;                          /* LC_DYLD_CHAINED_FIXUPS */
    int has_dyld_info, has_chained;
    const char *dylib[LF_MACHO_MAX_DYLIBS]; /* ordinal n is dylib[n - 1] */
    int ndylib;
    const char *id_name;                /* LC_ID_DYLIB: a dylib's install name */
    uint32_t codesig_off, codesig_size; /* LC_CODE_SIGNATURE */
    uint32_t funcstarts_off, funcstarts_size; /* LC_FUNCTION_STARTS */
    uint8_t uuid[16];
    int has_uuid;
};

/* Parse the header and load commands. `size` bounds every read for a file image; a mapped image
** (mapped != 0) is trusted to have its segments mapped (size is then ignored). Returns 0, or -1
** with *why set to a static reason. */
int lf_macho_parse(struct lf_macho *m, const void *base, size_t size, int mapped, const char **why);

/* In a universal ("fat") file, the slice for `cputype`: *off and *len. A thin file is its own
** slice when its cputype matches. Returns 0, or -1 with *why. */
int lf_macho_slice(const void *file, size_t size, uint32_t cputype, size_t *off, size_t *len,
                   const char **why);

/* How a slot gets its value. */
enum lf_macho_bind_kind {
    LF_MACHO_BIND,     /* LC_DYLD_INFO bind opcodes: bound at load */
    LF_MACHO_LAZY,     /* lazy bind opcodes: bound at the first call through the stub */
    LF_MACHO_CHAINED,  /* a bind in a fixup chain (LC_DYLD_CHAINED_FIXUPS) */
    LF_MACHO_INDIRECT, /* a symbol-pointer section entry, through the indirect symbol table */
};

struct lf_macho_bind {
    const char *name; /* as stored, with the leading '_' (NUL-terminated within the image) */
    uint64_t vmaddr;  /* the pointer slot, before the slide */
    int seg;          /* segment index of the slot */
    int ordinal;      /* LF_MACHO_ORDINAL_* or 1.. */
    int64_t addend;
    int weak_import;
    enum lf_macho_bind_kind kind;
};

/* Called once per slot; a nonzero return stops the walk (and is returned). */
typedef int (*lf_macho_visit_fn)(const struct lf_macho_bind *b, void *ctx);

/* Every slot dyld binds to an imported symbol: the bind and lazy-bind opcodes, or the fixup
** chains. Chains are read from the slots themselves, so chained images must be file images
** (dyld overwrites the chains with the bound pointers). Weak-definition coalescing (the weak bind
** table) is not reported. Returns 0 (or the visitor's nonzero value), or -1 with *why. */
int lf_macho_binds(const struct lf_macho *m, lf_macho_visit_fn fn, void *ctx, const char **why);

/* The entries of the symbol-pointer sections (__got, __la_symbol_ptr, __nl_symbol_ptr,
** __auth_got, ...) through the indirect symbol table: what every call through a stub reads.
** Works on mapped images whatever their fixup format. Same returns as lf_macho_binds(). */
int lf_macho_symbol_pointers(const struct lf_macho *m, lf_macho_visit_fn fn, void *ctx,
                             const char **why);

/* One slot of a loaded image bound to a wanted name (see lf_macho_import_slots). */
struct lf_macho_slot {
    uint64_t vmaddr; /* before the slide */
    int name;        /* index into the names asked for */
    int ordinal;     /* the library the bind names (LF_MACHO_ORDINAL_* or 1..) */
};

/* The slots of a loaded image that dyld bound to one of names[0..n) (with the leading '_'): what
** darwin.c rebinds. From the mapped image's bind opcodes; for fixup chains, which dyld has
** overwritten in memory, from `file` (the image's file, parsed; NULL if it could not be read),
** which must carry the same UUID. When neither works, the mapped image's indirect symbol table
** still gives the symbol-pointer slots calls through stubs read, and *partial says why the rest
** (pointers kept in data) is missing. At most `cap` slots are stored; *dropped counts the rest.
** Returns the number stored, or -1 with *why. */
int lf_macho_import_slots(const struct lf_macho *mapped, const struct lf_macho *file,
                          const char *const names[], int n, struct lf_macho_slot *out, int cap,
                          int *dropped, const char **partial, const char **why);

/* The install name of the dylib an ordinal (1..) names, or NULL. */
const char *lf_macho_dylib(const struct lf_macho *m, int ordinal);

/* The segment index holding [vmaddr, vmaddr + len), or -1. */
int lf_macho_seg_of(const struct lf_macho *m, uint64_t vmaddr, uint64_t len);

/* The names of the segment and section holding vmaddr (for logs); 0, or -1 if none does. */
int lf_macho_section_of(const struct lf_macho *m, uint64_t vmaddr, char seg[17], char sect[17]);

/* Defined symbols (in a section, not debugging entries) named in names[0..n) (with the leading
** '_'), local ones included: the functions of a SQLite compiled into the image. For each name
** found, vmaddr[i] and exported[i] (external and not private-external); not found: vmaddr[i] 0.
** Returns how many were found, or -1 with *why. */
int lf_macho_defined(const struct lf_macho *m, const char *const names[], int n, uint64_t vmaddr[],
                     int exported[], const char **why);

/* The size of the function that starts at vmaddr (before the slide), from LC_FUNCTION_STARTS: the
** distance to the next function's start, or for the last one to the end of its section (so any
** alignment padding after it is counted). 0 when unknown: no such list, or vmaddr starts no
** function in it. Mach-O symbols carry no size; the entry patcher uses this one. */
uint64_t lf_macho_function_size(const struct lf_macho *m, uint64_t vmaddr);

/* Code signature flags (the CodeDirectory's CS_* bits, e.g. 0x10000 hardened runtime, 0x2 ad
** hoc), or -1 when the image carries no readable signature. */
#define LF_CS_ADHOC 0x2L
#define LF_CS_HARD 0x100L
#define LF_CS_KILL 0x200L
#define LF_CS_RESTRICT 0x800L
#define LF_CS_ENFORCEMENT 0x1000L
#define LF_CS_RUNTIME 0x10000L
#define LF_CS_LINKER_SIGNED 0x20000L
long lf_macho_codesign_flags(const struct lf_macho *m);

#endif

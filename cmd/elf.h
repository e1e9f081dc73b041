/*
** A small ELF reader for `lockfix check`: just what tells whether a preload can reach an object's
** SQLite. Written here rather than calling nm/readelf so check works without binutils.
*/
#ifndef LOCKFIX_CMD_ELF_H
#define LOCKFIX_CMD_ELF_H

#include <stdint.h>

struct elf_info {
    int is_elf;       /* 0: not an ELF file (a script, or something else) */
    int is_macho;     /* a Mach-O file (macOS): check.c reads it with macho_inspect.c instead */
    char err[160];    /* why the file could not be read, if it could not */
    int is64, big_endian;
    unsigned type;    /* 2 = ET_EXEC, 3 = ET_DYN */
    unsigned machine; /* e_machine, so library search skips other architectures */
    int has_interp;   /* PT_INTERP: an executable (PIE or not), not a plain library */
    int nneeded;
    char **needed;    /* DT_NEEDED names */
    char *rpath, *runpath;
    int symbolic;     /* DT_SYMBOLIC / DF_SYMBOLIC: own references bind inside the object */

    /* sqlite3_* names in the dynamic symbol table */
    int sqlite_imports;   /* undefined: resolved by the dynamic linker at run time */
    int sqlite_exports;   /* defined with default (interposable) visibility */
    int sqlite_protected; /* defined, exported, but STV_PROTECTED: own calls stay inside */
    int sqlite_relocs;    /* dynamic relocations naming them: calls that go through the PLT/GOT */
    char first_import[64], first_export[64];
    /* sqlite3_* in the full symbol table (.symtab, if not stripped) that are not exported */
    int sqlite_hidden;
    int symtab_step, symtab_prepare; /* sqlite3_step / sqlite3_prepare_v2 defined in .symtab */
    /* byte patterns: SQLite's file-header magic and a message only SQLite's code carries */
    int has_magic, has_sqlite_text;
    int zend; /* the PHP engine ("Zend Engine") is linked into this object */
    char sqlite_version[32]; /* from an embedded SQLite source id, when found */
};

/* Inspect the file; returns 0 (fields filled; is_elf says whether it was ELF) or -1 if it could
** not be read (err says why). */
int elf_inspect(const char *path, struct elf_info *info);
void elf_info_free(struct elf_info *info);
/* Whether `path` is an ELF object of the given class and machine (for library search). */
int elf_matches(const char *path, int is64, unsigned machine);

/* ldpath.c: the file the dynamic linker would load for DT_NEEDED `name` of `obj` (whose path is
** `obj_path`), or NULL. Follows DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH, ld.so.conf and the
** default directories; $ORIGIN is expanded. malloc'd. */
char *ld_find(const char *name, const char *obj_path, const struct elf_info *obj);

#endif

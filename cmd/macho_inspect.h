/*
** `lockfix check` on Mach-O files (macOS), through the shim's own reader (shim/macho.c, plain code
** over a file image, unit-tested on Linux): what each architecture's image means for lockfix on
** macOS — sqlite3_* imported through dyld (rebound by darwin.c), defined with local symbols
** (compiled in: patched by patch_darwin.c unless refused), exported, or absent.
*/
#ifndef LOCKFIX_CMD_MACHO_INSPECT_H
#define LOCKFIX_CMD_MACHO_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#define MACHO_MAX_SLICES 4
#define MACHO_MAX_DEPS 64

/* One architecture of a Mach-O file (a thin file has one). Counts are of the hooked names
** (shim/hooks.h), as darwin.c sees them. */
struct macho_slice {
    char arch[16];     /* "arm64", "arm64e", "x86_64" */
    int arm64e;        /* signed pointers: darwin.c leaves such images alone */
    uint32_t filetype; /* 2 executable, 6 dylib, 8 bundle */
    char err[160];     /* why its imports or symbols could not be read, if they could not */
    int nhooks;        /* hooked names */
    int imports;       /* hooked names dyld binds in this image */
    char first_import[64];
    char from[256]; /* install name of the library the first import names ("" for a flat lookup) */
    int exports;    /* hooked names defined and exported */
    int locals;     /* hooked names defined, not exported (compiled in) */
    int has_step;   /* sqlite3_step among them */
    char missing[64];    /* a hooked name with no symbol, when some are defined */
    long cs_flags;       /* the code signature's flags, -1 when unsigned */
    char id_name[256];   /* a dylib's install name */
    int has_sqlite_text; /* SQLite's file-format string and one of its messages are in the image */
    int ndeps;
    char *deps[MACHO_MAX_DEPS]; /* the install names of the libraries it links (malloc'd) */
};

/* Inspect the arm64(e) and x86_64 images of the Mach-O file at path (thin or universal): returns
** how many were stored in out[0..cap), 0 if it has neither, or -1 with err set. */
int macho_inspect(const char *path, struct macho_slice *out, int cap, char *err, size_t errcap);

/* Release what macho_inspect allocated in out[0..n). */
void macho_slices_free(struct macho_slice *out, int n);

/* The file a dependency's install name names, as dyld would find it from the object at
** `loader` in a program whose executable is `exe`: an absolute path, @loader_path/...,
** @executable_path/... (malloc'd), or NULL when it is not a file here (@rpath, the shared cache). */
char *macho_dep_file(const char *dep, const char *loader, const char *exe);

/* The code-signature flags that make darwin.c refuse to patch (the hardened runtime, CS_KILL,
** CS_HARD, CS_RESTRICT, CS_ENFORCEMENT), as text ("runtime,kill"), or "" if none is set. */
const char *macho_cs_forbidding(long flags, char *buf, size_t cap);

#endif

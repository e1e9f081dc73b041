/*
** `lockfix check PROGRAM`: tell, before the user tries, whether a preload can reach the
** program's SQLite.
**
** A preloaded library only sees calls that go through the dynamic linker. So the question for
** each object that holds or calls SQLite is: does it import sqlite3_* (yes), does it export a
** bundled copy and call it through its PLT (yes), or are its calls bound inside it — a static or
** hidden copy, -Bsymbolic, an executable calling its own functions (no)? Interpreters keep
** SQLite in a module, found by asking the interpreter (or, with --no-exec, by looking in the
** usual directories); PHP's loader uses RTLD_DEEPBIND, which bypasses preloads altogether.
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "lockfix.h"
#include "buf.h"
#include "files.h"
#include "macho_inspect.h"
#include "preload.h"
#include "proc.h"

enum kind { K_NONE, K_PYTHON, K_PERL, K_RUBY, K_TCL, K_NODE, K_PHP };
static const char *const kind_names[] = {"", "python", "perl", "ruby", "tclsh", "node", "php"};

/* What one object means for reachability. */
enum sqlite_use {
    USE_NONE,       /* no SQLite here */
    USE_IMPORTS,    /* calls sqlite3_* through the dynamic linker: reachable */
    USE_EXPORTED,   /* bundled copy, exported and called through the PLT: reachable */
    USE_PROVIDER,   /* libsqlite3 itself: the callee, not a caller */
    USE_BOUND,      /* exports a copy but its own calls bind inside it: unreachable */
    USE_HIDDEN,     /* static or hidden copy without symbol names: unreachable */
    USE_DEEPBIND,   /* imports, but is loaded with RTLD_DEEPBIND (PHP): unreachable... */
    USE_STANDIN,    /* ...except through the stand-in libsqlite3.so.0 on LD_LIBRARY_PATH */
    USE_COMPILED,   /* compiled in, not exported, named in .symtab: redirected at load */
    USE_REFUSED,    /* compiled in with symbols, but macOS lockfix refuses to patch it */
};
static const char *const use_names[] = {"none",     "imports",  "exported", "provider",
                                        "bound",    "hidden",   "deepbind", "standin",
                                        "compiled", "refused"};

/* Reachable: the calls go through something lockfix stands in. */
static int reachable_use(enum sqlite_use u)
{
    return u == USE_IMPORTS || u == USE_EXPORTED || u == USE_STANDIN || u == USE_COMPILED;
}

/* Unreachable: SQLite is there, and its calls never meet lockfix. */
static int unreachable_use(enum sqlite_use u)
{
    return u == USE_BOUND || u == USE_HIDDEN || u == USE_DEEPBIND || u == USE_REFUSED;
}

struct object {
    char *path, *role, *detail;
    enum sqlite_use use;
};

struct report {
    int nobj, capobj;
    struct object *obj;
    int nnotes;
    char *notes[32];
    char **seen; /* real paths already inspected */
    int nseen, capseen;
    int libs_followed;
    int php;     /* PHP engine seen: add the DEEPBIND advice */
    enum kind kind;
    char exe_forbid[64]; /* Mach-O: code-signature flags of the program that forbid patching */
};

struct check_opts {
    int json, no_exec;
};

/* The --help text; also shown by `lockfix help check`. */
void usage_check(FILE *out)
{
    fprintf(out,
            "usage: lockfix check [--json] [--no-exec] PROGRAM\n"
            "\n"
            "Tell whether lockfix can reach PROGRAM's SQLite, and why not if it cannot:\n"
            "  dynamic libsqlite3            reachable\n"
            "  a bundled copy, exported      reachable (its calls go through the PLT)\n"
            "  compiled in, symbols present  reachable (redirected at load; LOCKFIX_STATIC)\n"
            "  compiled in, no symbols       not reachable (stripped, Bun, Deno): one log line\n"
            "  PHP (RTLD_DEEPBIND loader)    not reachable: says what to do instead\n"
            "PROGRAM is a path or a name on PATH. Scripts are followed through their #! line.\n"
            "A Mach-O file (macOS; thin or universal) gets one verdict per architecture, as\n"
            "lockfix on macOS would act on it: imports rebound, compiled-in copies patched\n"
            "unless the code signature forbids it; @rpath libraries are not followed.\n"
            "For python, perl, ruby, tclsh and php the interpreter is asked where its SQLite\n"
            "module is (run once, with a 10 s limit); for node, the current directory is\n"
            "searched for node_sqlite3.node and better_sqlite3.node.\n"
            "  --json      machine-readable report\n"
            "  --no-exec   never run PROGRAM or its interpreter; look in the usual places\n"
            "Exit status: 0 reachable, 1 not (or only partly, or no SQLite found), 2 usage or\n"
            "PROGRAM not found.\n");
}

/* Notes are the human story of how check got from PROGRAM to the objects it inspected. */
static void note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct report *r, const char *fmt, ...)
{
    if (r->nnotes >= (int)(sizeof r->notes / sizeof r->notes[0]))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0)
        r->notes[r->nnotes++] = s;
    va_end(ap);
}

/* Remember a file by its real path; returns 1 if it was already seen. */
static int seen_before(struct report *r, const char *path)
{
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? real : path;
    for (int i = 0; i < r->nseen; i++)
        if (strcmp(r->seen[i], key) == 0)
            return 1;
    if (r->nseen == r->capseen) {
        r->capseen = r->capseen ? r->capseen * 2 : 64;
        r->seen = xrealloc(r->seen, (size_t)r->capseen * sizeof *r->seen);
    }
    r->seen[r->nseen++] = xstrdup(key);
    return 0;
}

/* One inspected object and its verdict, in the order found (the report reads top down). */
static void add_object(struct report *r, const char *path, const char *role, enum sqlite_use use,
                       char *detail)
{
    if (r->nobj == r->capobj) {
        r->capobj = r->capobj ? r->capobj * 2 : 16;
        r->obj = xrealloc(r->obj, (size_t)r->capobj * sizeof *r->obj);
    }
    struct object *o = &r->obj[r->nobj++];
    o->path = xstrdup(path);
    o->role = xstrdup(role);
    o->use = use;
    o->detail = detail;
}

/* Interpreter family from a program name: python3.11, perl5.36.0, ruby3.1, tclsh8.6, nodejs,
** php8.2, php-fpm8.2 ... */
static enum kind kind_of(const char *name)
{
    const char *b = base_name(name);
    if (has_prefix(b, "python") || has_prefix(b, "pypy"))
        return K_PYTHON;
    if (has_prefix(b, "perl"))
        return K_PERL;
    if (has_prefix(b, "ruby"))
        return K_RUBY;
    if (has_prefix(b, "tclsh") || has_prefix(b, "wish"))
        return K_TCL;
    if (strcmp(b, "node") == 0 || strcmp(b, "nodejs") == 0 ||
        (has_prefix(b, "node") && b[4] >= '0' && b[4] <= '9'))
        return K_NODE;
    if (has_prefix(b, "php"))
        return K_PHP;
    return K_NONE;
}

/* libsqlite3 (or SQLCipher, a drop-in) as a dependency is the callee everybody else reaches. */
static int is_provider_name(const char *path)
{
    const char *b = base_name(path);
    return has_prefix(b, "libsqlite3") || has_prefix(b, "libsqlcipher");
}

/* Decide what an object's SQLite symbols mean, with the sentence that explains it. */
static enum sqlite_use classify(const char *path, const struct elf_info *e, int deepbind,
                                char **detail)
{
    const char *ver = e->sqlite_version[0] ? e->sqlite_version : NULL;
    if (e->sqlite_imports > 0) {
        const char *from = NULL;
        for (int i = 0; i < e->nneeded && !from; i++)
            if (is_provider_name(e->needed[i]))
                from = e->needed[i];
        if (deepbind) {
            /* The stand-in works when the loader looks "libsqlite3.so.0" up by name, with
            ** LD_LIBRARY_PATH before the module's own search path (DT_RPATH comes first). */
            int by_name = from != NULL && strcmp(from, "libsqlite3.so.0") == 0 && !e->rpath;
            if (by_name && standin_dir() != NULL) {
                *detail = xasprintf("imports %d sqlite3_* functions; PHP loads it with "
                                    "RTLD_DEEPBIND, past LD_PRELOAD, but it finds %s through "
                                    "LD_LIBRARY_PATH, where lockfix's stand-in (%s) puts the "
                                    "shim first",
                                    e->sqlite_imports, from, standin_dir());
                return USE_STANDIN;
            }
            *detail = xasprintf("imports %d sqlite3_* functions, but PHP loads it with "
                                "RTLD_DEEPBIND: its calls bind straight to %s and skip any "
                                "preload%s",
                                e->sqlite_imports, from ? from : "libsqlite3",
                                !by_name ? " (and it does not look libsqlite3.so.0 up by name, "
                                           "so the stand-in cannot help)"
                                         : " (the stand-in library was not built: make standin)");
            return USE_DEEPBIND;
        }
        *detail = xasprintf("imports %d sqlite3_* functions (%s...)%s%s: calls go through the "
                            "dynamic linker",
                            e->sqlite_imports, e->first_import, from ? " from " : "",
                            from ? from : "");
        return USE_IMPORTS;
    }
    if ((e->sqlite_exports > 0 || e->sqlite_protected > 0) && is_provider_name(path)) {
        /* The callee: whether its internal calls come back through the PLT only changes how
        ** often the shim sees sqlite3_exec's inner statements, which it handles either way. */
        *detail = xasprintf("provides SQLite%s%s (%d exported functions; its internal calls %s)",
                            ver ? " " : "", ver ? ver : "", e->sqlite_exports,
                            e->sqlite_relocs > 0 && !e->symbolic ? "go through its PLT too"
                                                                 : "bind inside it");
        return USE_PROVIDER;
    }
    if (e->sqlite_exports > 0 && e->sqlite_relocs > 0 && !e->symbolic) {
        *detail = xasprintf("bundles SQLite%s%s and exports it (%d functions); its own calls go "
                            "through the PLT (%d relocations), so a preload takes them over",
                            ver ? " " : "", ver ? ver : "", e->sqlite_exports, e->sqlite_relocs);
        return USE_EXPORTED;
    }
    if (e->sqlite_exports > 0 || e->sqlite_protected > 0) {
        const char *why = e->symbolic ? "it is linked -Bsymbolic"
                          : e->sqlite_protected > 0 ? "its symbols have protected visibility"
                          : e->has_interp
                              ? "it is an executable calling its own functions directly"
                              : "no call to them goes through its PLT";
        *detail = xasprintf("bundles SQLite%s%s and exports %d sqlite3_* functions, but %s: its "
                            "calls bind inside it and a preload cannot take them over",
                            ver ? " " : "", ver ? ver : "",
                            e->sqlite_exports + e->sqlite_protected, why);
        return USE_BOUND;
    }
    if (e->sqlite_hidden > 0 && e->symtab_step && e->symtab_prepare) {
        *detail = xasprintf("reachable: compiled in, symbols present: contains SQLite%s%s%s with "
                            "%d sqlite3_* functions named in its symbol table but not exported; "
                            "lockfix redirects them when the object is loaded (LOCKFIX_STATIC=0 "
                            "turns that off)",
                            ver ? " (looks like " : "", ver ? ver : "", ver ? ")" : "",
                            e->sqlite_hidden);
        return USE_COMPILED;
    }
    if (e->sqlite_hidden > 0 || (e->has_magic && e->has_sqlite_text)) {
        struct buf b = {0};
        buf_add(&b, "unreachable: no symbols: ");
        buf_printf(&b, "contains SQLite%s%s%s", ver ? " (looks like " : "", ver ? ver : "",
                   ver ? ")" : "");
        if (e->sqlite_hidden > 0)
            buf_printf(&b, " (%d sqlite3_* symbols defined but not exported)", e->sqlite_hidden);
        else
            buf_add(&b, " (its file-format string and messages are in the binary)");
        buf_add(&b, " but no sqlite3_* dynamic symbols, and its symbol table does not name "
                    "sqlite3_step and sqlite3_prepare_v2 (stripped): its calls never pass through "
                    "the dynamic linker and cannot be redirected");
        *detail = b.p;
        return USE_HIDDEN;
    }
    *detail = xstrdup("no SQLite");
    return USE_NONE;
}

/* What one architecture of a Mach-O image means for lockfix on macOS (darwin.c's rules): its
** imported slots are rebound, a compiled-in copy with every hooked function named is patched
** unless the code signature forbids changed code, an exported copy is left to its callers. */
static enum sqlite_use classify_macho(const char *path, const struct macho_slice *s,
                                      const char *exe_forbid, char **detail)
{
    char forbid[64];
    macho_cs_forbidding(s->cs_flags, forbid, sizeof forbid);
    const char *name = s->id_name[0] ? s->id_name : path;
    if (s->imports > 0 && s->arm64e) {
        *detail = xasprintf("[%s] imports %d sqlite3_* functions, but its pointers are signed "
                            "(arm64e): lockfix on macOS does not rebind such images",
                            s->arch, s->imports);
        return USE_BOUND;
    }
    if (s->imports > 0) {
        *detail = xasprintf("[%s] imports %d sqlite3_* functions (%s...)%s%s: dyld binds them, "
                            "and lockfix on macOS points those slots at its hooks when the image "
                            "is loaded",
                            s->arch, s->imports, s->first_import, s->from[0] ? " from " : "",
                            s->from[0] ? s->from : " (flat lookup)");
        return USE_IMPORTS;
    }
    if (s->exports > 0 && is_provider_name(name)) {
        *detail = xasprintf("[%s] provides SQLite (%d exported functions): the images that import "
                            "them are rebound",
                            s->arch, s->exports);
        return USE_PROVIDER;
    }
    if (s->exports > 0) {
        *detail = xasprintf("[%s] bundles SQLite and exports %d sqlite3_* functions: images that "
                            "import them are rebound, but its own calls to them are bound inside "
                            "it at link time, and lockfix leaves an exported copy alone",
                            s->arch, s->exports);
        return USE_BOUND;
    }
    if (s->locals > 0 && s->has_step) {
        if (s->arm64e) {
            *detail = xasprintf("[%s] SQLite is compiled in, but the image is arm64e (signed "
                                "pointers): lockfix on macOS leaves it alone",
                                s->arch);
            return USE_REFUSED;
        }
        if (forbid[0]) {
            *detail = xasprintf("[%s] SQLite is compiled in (%d sqlite3_* functions named in its "
                                "symbol table), but its code signature forbids changed code "
                                "(flags %#lx: %s): lockfix refuses to patch it and logs "
                                "`unreachable`",
                                s->arch, s->locals, (unsigned long)s->cs_flags, forbid);
            return USE_REFUSED;
        }
        if (exe_forbid[0]) {
            *detail = xasprintf("[%s] SQLite is compiled in (%d sqlite3_* functions named in its "
                                "symbol table), but the program's code signature forbids changed "
                                "code (%s): lockfix refuses to patch it and logs `unreachable`",
                                s->arch, s->locals, exe_forbid);
            return USE_REFUSED;
        }
        if (s->locals < s->nhooks) {
            *detail = xasprintf("[%s] SQLite is compiled in, but only %d of the %d functions "
                                "lockfix hooks have symbols (no %s): lockfix on macOS patches "
                                "all of them or none, so it refuses and logs `unreachable`",
                                s->arch, s->locals, s->nhooks, s->missing);
            return USE_REFUSED;
        }
        *detail = xasprintf(
            "[%s] reachable: compiled in, symbols present: %d sqlite3_* functions named in its "
            "symbol table, not exported; lockfix on macOS patches their entries when the image is "
            "loaded (LOCKFIX_STATIC=0 turns that off), %s",
            s->arch, s->locals,
            s->filetype == 2 ? "its code signature allowing it (not the hardened runtime)"
                             : "unless the program's executable is signed with the hardened "
                               "runtime (check it too)");
        return USE_COMPILED;
    }
    if (s->locals > 0 || s->has_sqlite_text) {
        *detail = xasprintf("[%s] unreachable: no symbols: contains SQLite (%s) but does not name "
                            "sqlite3_step in its symbol table (stripped): its calls never pass "
                            "through dyld and cannot be redirected",
                            s->arch,
                            s->locals > 0 ? "some sqlite3_* symbols defined, not exported"
                                          : "its file-format string and messages are in it");
        return USE_HIDDEN;
    }
    if (s->err[0]) {
        *detail = xasprintf("[%s] %s", s->arch, s->err);
        return USE_NONE;
    }
    *detail = xasprintf("[%s] no SQLite", s->arch);
    return USE_NONE;
}

/* A Mach-O file: one verdict per architecture (a universal file has several). The libraries it
** links are queued (at most `room` of them) when they are files here: absolute paths,
** @loader_path and @executable_path (`exe`: the program check was given); not @rpath, nor the
** shared cache, which mean something only on a Mac. Returns how many were queued. */
static int inspect_macho(struct report *r, const char *path, const char *role, int first,
                         const char *exe, char **queue, int room)
{
    struct macho_slice s[MACHO_MAX_SLICES];
    char err[160];
    int n = macho_inspect(path, s, MACHO_MAX_SLICES, err, sizeof err), queued = 0, skipped = 0;
    if (n <= 0) {
        if (first)
            add_object(r, path, role, USE_NONE,
                       xasprintf("not inspected: a Mach-O file, %s", err));
        return 0;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s[i].ndeps; k++) {
            char *dep = macho_dep_file(s[i].deps[k], path, exe);
            if (dep != NULL && queued < room)
                queue[queued++] = dep;
            else
                free(dep), skipped += strncmp(s[i].deps[k], "@rpath/", 7) == 0;
        }
    if (first && skipped)
        note(r, "%s links %d @rpath librar%s, not followed here", path, skipped,
             skipped == 1 ? "y" : "ies");
    for (int i = 0; first && i < n; i++) /* the process's executable: its flags bind every image */
        if (s[i].filetype == 2 && !r->exe_forbid[0])
            macho_cs_forbidding(s[i].cs_flags, r->exe_forbid, sizeof r->exe_forbid);
    for (int i = 0; i < n; i++) {
        char *detail = NULL;
        enum sqlite_use use = classify_macho(path, &s[i], first ? "" : r->exe_forbid, &detail);
        const char *shown = !first                    ? "library"
                            : strcmp(role, "program") != 0 ? role
                            : s[i].filetype == 2         ? "program"
                                                         : "shared object";
        if (first || use != USE_NONE)
            add_object(r, path, shown, use, detail);
        else
            free(detail);
    }
    if (first)
        note(r, "%s is a Mach-O file (macOS): read as lockfix on macOS would act on it, which has "
                "never run on a Mac",
             path);
    macho_slices_free(s, n);
    return queued;
}

/* Inspect an object and, breadth first, the shared libraries it needs. Only objects that hold or
** call SQLite are listed (plus the first one, so the report says what was looked at). */
static void inspect_tree(struct report *r, const char *path, const char *role, int deepbind)
{
    char *queue[512];
    int head = 0, tail = 0;
    queue[tail++] = xstrdup(path);
    while (head < tail) {
        char *p = queue[head++];
        int first = head == 1;
        if (seen_before(r, p)) {
            free(p);
            continue;
        }
        struct elf_info e;
        int rc = elf_inspect(p, &e);
        if (rc == 0 && e.is_macho) {
            if (!first)
                r->libs_followed++;
            int room = (int)(sizeof queue / sizeof queue[0]) - tail;
            tail += inspect_macho(r, p, role, first, path, queue + tail, room);
            elf_info_free(&e);
            free(p);
            continue;
        }
        if (rc != 0 || !e.is_elf) {
            if (first)
                add_object(r, p, role, USE_NONE,
                           xasprintf("not inspected: %s", e.err[0] ? e.err : "not an ELF file"));
            elf_info_free(&e);
            free(p);
            continue;
        }
        if (!first)
            r->libs_followed++;
        if (e.zend)
            r->php = 1;
        char *detail = NULL;
        enum sqlite_use use = classify(p, &e, deepbind && first, &detail);
        const char *shown = first ? role : use == USE_PROVIDER ? "provider" : "library";
        if (first && strcmp(role, "program") == 0 && !e.has_interp)
            shown = "shared object"; /* check pointed at a library or module directly */
        if (first || use != USE_NONE)
            add_object(r, p, shown, use, detail);
        else
            free(detail);
        if (first && e.err[0])
            note(r, "%s: %s", p, e.err);
        for (int i = 0; i < e.nneeded; i++) {
            char *dep = ld_find(e.needed[i], p, &e);
            if (dep == NULL) {
                if (first)
                    note(r, "%s needs %s, which was not found on the library path", p,
                         e.needed[i]);
                continue;
            }
            if (tail < (int)(sizeof queue / sizeof queue[0]))
                queue[tail++] = dep;
            else
                free(dep);
        }
        elf_info_free(&e);
        free(p);
    }
}

/* Ask the interpreter where its SQLite lives. Line 1 of the answer is its real executable (a
** pyenv/rbenv shim or a wrapper script is not the interpreter), the rest are module paths. */
static int probe(enum kind k, const char *exe, char *out, size_t cap)
{
    const char *py = "import sys\n"
                     "print(sys.executable)\n"
                     "try:\n"
                     "    import _sqlite3\n"
                     "    print(getattr(_sqlite3, '__file__', '(built-in)'))\n"
                     "except Exception:\n"
                     "    pass\n";
    const char *pl = "print \"$^X\\n\"; for (@INC) { next if ref; my $f = "
                     "\"$_/auto/DBD/SQLite/SQLite.so\"; if (-e $f) { print \"$f\\n\"; last } }";
    const char *rb = "puts RbConfig.ruby; begin; require 'sqlite3'; rescue LoadError; end; "
                     "puts $LOADED_FEATURES.grep(/sqlite3_native\\.(so|bundle)$/)";
    const char *tcl = "puts [info nameofexecutable]\n"
                      "catch {package require sqlite3}\n"
                      "foreach l [info loaded] { puts [lindex $l 0] }\n"
                      "exit 0\n";
    const char *php = "echo PHP_BINARY, \"\\n\"; $d = ini_get('extension_dir'); "
                      "foreach (['sqlite3', 'pdo_sqlite'] as $e) if (extension_loaded($e)) "
                      "{ $f = \"$d/$e.so\"; if (is_file($f)) echo $f, \"\\n\"; "
                      "else echo \"(built-in)\\n\"; }";
    const char *js = "console.log(process.execPath)";
    char *argv[4] = {(char *)exe, NULL, NULL, NULL};
    const char *input = NULL;
    switch (k) {
    case K_PYTHON:
        argv[1] = "-c", argv[2] = (char *)py;
        break;
    case K_PERL:
        argv[1] = "-e", argv[2] = (char *)pl;
        break;
    case K_RUBY:
        argv[1] = "-e", argv[2] = (char *)rb;
        break;
    case K_TCL:
        input = tcl;
        break;
    case K_PHP:
        argv[1] = "-r", argv[2] = (char *)php;
        break;
    case K_NODE:
        argv[1] = "-e", argv[2] = (char *)js;
        break;
    case K_NONE:
        return -1;
    }
    /* The probe must not run under lockfix itself (it would log, or switch databases). */
    char *saved = getenv(PRELOAD_VAR) ? xstrdup(getenv(PRELOAD_VAR)) : NULL;
    char *clean = preload_without_shim(saved);
    if (clean[0])
        setenv(PRELOAD_VAR, clean, 1);
    else
        unsetenv(PRELOAD_VAR);
    int rc = run_capture(argv, input, out, cap, 10000);
    if (saved)
        setenv(PRELOAD_VAR, saved, 1);
    free(saved);
    free(clean);
    return rc;
}

/* The usual places, for --no-exec or an interpreter that would not answer. */
static void module_globs(enum kind k, const char *exe, struct buf *found)
{
    char *dir = dir_name(exe);
    char *rel = xasprintf("%s/../lib/python3*/lib-dynload/_sqlite3*.so", dir);
    const char *py[] = {rel, "/usr/lib/python3*/lib-dynload/_sqlite3*.so",
                        "/usr/local/lib/python3*/lib-dynload/_sqlite3*.so", NULL};
    const char *pl[] = {"/usr/lib/*/perl5/*/auto/DBD/SQLite/SQLite.so",
                        "/usr/local/lib/*/perl/*/auto/DBD/SQLite/SQLite.so",
                        "/usr/lib64/perl5/vendor_perl/auto/DBD/SQLite/SQLite.so", NULL};
    const char *rb[] = {"/usr/lib/*/ruby/vendor_ruby/*/sqlite3/sqlite3_native.so",
                        "/var/lib/gems/*/gems/sqlite3-*/lib/sqlite3/sqlite3_native.so",
                        "/var/lib/gems/*/extensions/*/*/sqlite3-*/sqlite3/sqlite3_native.so",
                        NULL};
    const char *tcl[] = {"/usr/lib/tcltk/sqlite3/libtclsqlite3.so",
                         "/usr/lib/tcltk/*/libtcl*sqlite*.so",
                         "/usr/lib/*/tcl*/sqlite*/lib*sqlite*.so",
                         "/usr/lib/sqlite3/libtclsqlite3.so", NULL};
    const char *php[] = {"/usr/lib/php/*/sqlite3.so", "/usr/lib/php/*/pdo_sqlite.so", NULL};
    const char **pats = k == K_PYTHON ? py
                        : k == K_PERL ? pl
                        : k == K_RUBY ? rb
                        : k == K_TCL  ? tcl
                        : k == K_PHP  ? php
                                      : NULL;
    for (int i = 0; pats && pats[i]; i++) {
        glob_t g;
        if (glob(pats[i], 0, NULL, &g) != 0)
            continue;
        /* The newest version sorts last: one match per pattern is enough, except for PHP's two
        ** extensions, which have their own patterns. */
        if (g.gl_pathc > 0)
            buf_printf(found, "%s\n", g.gl_pathv[g.gl_pathc - 1]);
        globfree(&g);
    }
    free(rel);
    free(dir);
}

/* node_sqlite3.node and better_sqlite3.node anywhere below the current directory. */
static void find_node_addons(const char *dir, int depth, int *budget, struct buf *found)
{
    if (depth > 14 || *budget <= 0)
        return;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *budget > 0) {
        const char *n = de->d_name;
        /* obj.target holds node-gyp's intermediate copy of the addon node never loads. */
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, ".git") == 0 ||
            strcmp(n, "obj.target") == 0)
            continue;
        char *p = xasprintf("%s/%s", dir, n);
        struct stat st;
        if (lstat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                (*budget)--;
                find_node_addons(p, depth + 1, budget, found);
            } else if (S_ISREG(st.st_mode) &&
                       (strcmp(n, "node_sqlite3.node") == 0 ||
                        strcmp(n, "better_sqlite3.node") == 0)) {
                buf_printf(found, "%s\n", p);
            }
        }
        free(p);
    }
    closedir(d);
}

/* The interpreter path of a "#!" line: "#!/usr/bin/env python3", "#!/usr/bin/env -S perl -w",
** "#!/bin/sh -e". Returns the program to look up (malloc'd) or NULL, and says whether it came
** through env (so it is a name to find on PATH). */
static char *shebang(const char *path, char *line_out, size_t cap)
{
    char *text = read_file_text(path, 512, NULL);
    if (text == NULL || text[0] != '#' || text[1] != '!') {
        free(text);
        return NULL;
    }
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    snprintf(line_out, cap, "%s", text);
    char *save = NULL;
    char *interp = strtok_r(text + 2, " \t", &save);
    if (interp == NULL) {
        free(text);
        return NULL;
    }
    char *result = NULL;
    if (strcmp(base_name(interp), "env") == 0) {
        for (char *t = strtok_r(NULL, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
            if (t[0] == '-' || strchr(t, '=') != NULL)
                continue; /* env's options (-S, -i, -u NAME is rare) and NAME=VALUE */
            result = path_lookup(t);
            if (result == NULL)
                result = xstrdup(t);
            break;
        }
    } else {
        result = xstrdup(interp);
    }
    free(text);
    return result;
}

/* Split probe output into the real executable and module paths, inspect them. */
static void inspect_interpreter(struct report *r, enum kind k, const char *exec_path,
                                const struct check_opts *o)
{
    char out[8192];
    struct buf modules = {0};
    buf_add(&modules, "");
    char *real_exe = NULL;
    int asked = 0;
    if (!o->no_exec && probe(k, exec_path, out, sizeof out) == 0 && out[0] == '/') {
        asked = 1;
        char *save = NULL;
        for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            if (real_exe == NULL) {
                real_exe = xstrdup(l);
            } else if (strcmp(l, "(built-in)") == 0) {
                note(r, "%s has its SQLite module built into the executable", kind_names[k]);
            } else if (l[0] == '/' && (k != K_TCL || strstr(l, "sqlite") != NULL)) {
                buf_printf(&modules, "%s\n", l);
            }
        }
    }
    if (real_exe == NULL) {
        real_exe = xstrdup(exec_path);
        note(r, "%s: %s; looked in the usual directories instead", kind_names[k],
             o->no_exec ? "not run (--no-exec)" : "the interpreter did not answer");
    } else {
        note(r, "asked %s (%s): its executable is %s", kind_names[k], exec_path, real_exe);
    }
    if (k == K_NODE) {
        int budget = 20000;
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            find_node_addons(cwd, 0, &budget, &modules);
            note(r, "searched %s for node_modules/**/node_sqlite3.node and better_sqlite3.node%s",
                 cwd, budget <= 0 ? " (stopped after 20000 directories)" : "");
        }
    } else if (!asked) {
        module_globs(k, real_exe, &modules);
    }
    inspect_tree(r, real_exe, "executable", 0);
    int nmod = 0;
    char *save = NULL;
    for (char *l = strtok_r(modules.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        nmod++;
        inspect_tree(r, l, k == K_PHP ? "php extension" : "module", k == K_PHP);
    }
    if (nmod == 0 && k != K_NODE)
        note(r, "no SQLite module found for %s (is it installed? e.g. python3's _sqlite3, perl's "
                "DBD::SQLite, ruby's sqlite3 gem, libsqlite3-tcl, php-sqlite3)",
             kind_names[k]);
    if (nmod == 0 && k == K_NODE)
        note(r, "no node_sqlite3.node or better_sqlite3.node found: run check from the "
                "project directory (or check the .node file directly)");
    if (k == K_PHP)
        r->php = 1;
    free(real_exe);
    buf_free(&modules);
}

/* Reachable only if some object reaches SQLite and none holds an unreachable copy. */
static const char *verdict(const struct report *r, int *exit_code)
{
    int yes = 0, no = 0;
    for (int i = 0; i < r->nobj; i++) {
        enum sqlite_use u = r->obj[i].use;
        yes += reachable_use(u);
        no += unreachable_use(u);
    }
    *exit_code = yes > 0 && no == 0 ? EXIT_OK : EXIT_PROBLEM;
    if (yes > 0 && no == 0)
        return "reachable";
    if (yes > 0)
        return "partly";
    if (no > 0)
        return "unreachable";
    for (int i = 0; i < r->nobj; i++)
        if (r->obj[i].use == USE_PROVIDER)
            return "provider";
    return "no-sqlite";
}

/* The sentence after the verdict: what lockfix will do, or what to do instead. */
static const char *advice(const struct report *r, const char *v)
{
    int deepbind = 0, hidden = 0, bound = 0, standin = 0, refused = 0;
    for (int i = 0; i < r->nobj; i++) {
        refused |= r->obj[i].use == USE_REFUSED;
        deepbind |= r->obj[i].use == USE_DEEPBIND;
        standin |= r->obj[i].use == USE_STANDIN;
        hidden |= r->obj[i].use == USE_HIDDEN;
        bound |= r->obj[i].use == USE_BOUND;
    }
    if (deepbind)
        return "PHP loads sqlite3.so and pdo_sqlite.so with RTLD_DEEPBIND, so LD_PRELOAD cannot "
               "reach them. Apply the fixes in the application: $db->busyTimeout(5000) (SQLite3) "
               "or PDO::ATTR_TIMEOUT => 5 (PDO), PRAGMA journal_mode=WAL once per database, and "
               "BEGIN IMMEDIATE for transactions that write; or use a PHP built with the SQLite "
               "extensions compiled in (not loaded as modules), which lockfix can reach. "
               "`lockfix doctor DB` still diagnoses the database.";
    if (strcmp(v, "reachable") == 0 && standin)
        return "lockfix reaches PHP's SQLite through its stand-in libsqlite3.so.0: `lockfix php "
               "...` sets LD_LIBRARY_PATH for php* commands; elsewhere (php-fpm under systemd, "
               "a shell) use `lockfix env --standin`.";
    if (strcmp(v, "reachable") == 0)
        return "lockfix can reach this program's SQLite: run it as `lockfix PROGRAM ...`.";
    if (refused)
        return "lockfix on macOS does not patch a compiled-in SQLite whose code signature forbids "
               "changed code (the hardened runtime, CS_KILL, CS_HARD: the process would be "
               "killed), an arm64e image, or one where not every function it hooks has a symbol. "
               "Use a build that links a libsqlite3.dylib (Homebrew's, pyenv's or conda's Python "
               "do), or apply the fixes in the program: PRAGMA journal_mode=WAL, PRAGMA "
               "busy_timeout=5000, BEGIN IMMEDIATE for transactions that write. `lockfix doctor "
               "DB` still diagnoses the database.";
    if (hidden || bound)
        return "lockfix cannot take over calls that never reach the dynamic linker when the "
               "object does not name SQLite's functions (stripped). Use a build that keeps its "
               "symbol table (strip --strip-debug only), link the program (or module) against "
               "the system libsqlite3 if it has that option, or "
               "apply the fixes in the program: PRAGMA journal_mode=WAL, PRAGMA "
               "busy_timeout=5000, BEGIN IMMEDIATE for transactions that write. `lockfix doctor "
               "DB` still diagnoses the database.";
    if (strcmp(v, "provider") == 0)
        return "this is an SQLite library: programs that call it through the dynamic linker are "
               "reachable.";
    return "no SQLite found in the program or the libraries it links. If it loads SQLite at run "
           "time (a plugin, a language lockfix does not know), run check on that module's file.";
}

/* The report for people: the path from PROGRAM to its SQLite, then the verdict and what to do. */
static void print_human(const struct report *r, const char *program, const char *v)
{
    printf("lockfix check: %s\n", program);
    for (int i = 0; i < r->nnotes; i++)
        printf("  %s\n", r->notes[i]);
    for (int i = 0; i < r->nobj; i++) {
        const struct object *o = &r->obj[i];
        const char *mark = reachable_use(o->use)     ? "reachable"
                           : unreachable_use(o->use) ? "UNREACHABLE"
                                                     : "-";
        printf("  [%s] %s (%s): %s\n", mark, o->path, o->role, o->detail);
    }
    if (r->libs_followed > 0)
        printf("  (followed %d shared librar%s)\n", r->libs_followed,
               r->libs_followed == 1 ? "y" : "ies");
    printf("verdict: %s. %s\n", v, advice(r, v));
}

/* The same report for scripts and CI, with the verdict as a stable word. */
static void print_json(const struct report *r, const char *program, const char *resolved,
                       const char *v)
{
    struct buf b = {0};
    buf_add(&b, "{\"program\":");
    buf_json_str(&b, program);
    buf_add(&b, ",\"path\":");
    buf_json_str(&b, resolved);
    buf_add(&b, ",\"verdict\":");
    buf_json_str(&b, v);
    buf_add(&b, ",\"reachable\":");
    buf_add(&b, strcmp(v, "reachable") == 0 ? "true" : "false");
    buf_add(&b, ",\"interpreter\":");
    buf_json_str(&b, kind_names[r->kind]);
    buf_add(&b, ",\"advice\":");
    buf_json_str(&b, advice(r, v));
    buf_add(&b, ",\"notes\":[");
    for (int i = 0; i < r->nnotes; i++) {
        buf_add(&b, i ? "," : "");
        buf_json_str(&b, r->notes[i]);
    }
    buf_add(&b, "],\"objects\":[");
    for (int i = 0; i < r->nobj; i++) {
        const struct object *o = &r->obj[i];
        buf_add(&b, i ? ",{\"path\":" : "{\"path\":");
        buf_json_str(&b, o->path);
        buf_add(&b, ",\"role\":");
        buf_json_str(&b, o->role);
        buf_add(&b, ",\"sqlite\":");
        buf_json_str(&b, use_names[o->use]);
        buf_add(&b, ",\"reachable\":");
        buf_add(&b, reachable_use(o->use)     ? "true"
                     : unreachable_use(o->use) ? "false"
                                               : "null");
        buf_add(&b, ",\"detail\":");
        buf_json_str(&b, o->detail);
        buf_add(&b, "}");
    }
    buf_printf(&b, "],\"libraries_followed\":%d}\n", r->libs_followed);
    fputs(b.p, stdout);
    buf_free(&b);
}

/* Entry point: resolve PROGRAM as execvp would, follow scripts, inspect, judge. */
int cmd_check(int argc, char **argv)
{
    struct check_opts o = {0, 0};
    const char *program = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage_check(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            o.json = 1;
        } else if (strcmp(argv[i], "--no-exec") == 0) {
            o.no_exec = 1;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && program == NULL) {
            program = argv[++i];
        } else if (argv[i][0] == '-' || program != NULL) {
            warnx_("check: unexpected argument '%s' (lockfix check --help)", argv[i]);
            return EXIT_USAGE;
        } else {
            program = argv[i];
        }
    }
    if (program == NULL) {
        warnx_("check: which program? (usage: lockfix check [--json] [--no-exec] PROGRAM)");
        return EXIT_USAGE;
    }
    char *path = path_lookup(program);
    if (path == NULL) {
        warnx_("check: %s: not found%s", program, strchr(program, '/') ? "" : " on PATH");
        return EXIT_USAGE;
    }
    struct report r;
    memset(&r, 0, sizeof r);
    r.kind = kind_of(program);

    /* Follow "#!" lines until a binary. A script named like an interpreter (a pyenv or rbenv
    ** shim) stands in for that interpreter: it is asked directly instead. */
    char *cur = xstrdup(path);
    char line[512];
    for (int depth = 0; depth < 5; depth++) {
        char *interp = shebang(cur, line, sizeof line);
        if (interp == NULL)
            break;
        if (r.kind != K_NONE) {
            note(&r, "%s is a script (%s) standing in for %s", cur, line, kind_names[r.kind]);
            free(interp);
            break;
        }
        note(&r, "%s is a script: %s", cur, line);
        r.kind = kind_of(interp);
        char *next = path_lookup(interp);
        if (next == NULL) {
            note(&r, "its interpreter %s was not found", interp);
            free(interp);
            break;
        }
        free(interp);
        free(cur);
        cur = next;
    }
    if (r.kind == K_NONE) {
        struct elf_info head;
        if (elf_inspect(cur, &head) == 0 && head.is_elf && head.zend)
            r.kind = K_PHP; /* php-fpm, php-cgi, or a renamed php */
        elf_info_free(&head);
    }

    if (r.kind != K_NONE)
        inspect_interpreter(&r, r.kind, cur, &o);
    else
        inspect_tree(&r, cur, "program", 0);

    int code;
    const char *v = verdict(&r, &code);
    if (o.json)
        print_json(&r, program, path, v);
    else
        print_human(&r, program, v);
    free(cur);
    free(path);
    return code;
}

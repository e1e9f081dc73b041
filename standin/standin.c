/*
 * The lockfix stand-in for libsqlite3.so.0 — it has no code of its own.
 *
 * Why: PHP loads its SQLite extensions with RTLD_DEEPBIND, so they bind to the libsqlite3 in
 * their own dependency list before anything in the global scope, LD_PRELOAD included. A preloaded
 * shim never sees their calls. But the dependency list itself is reachable: the extension asks
 * for "libsqlite3.so.0", and LD_LIBRARY_PATH decides which file that is.
 *
 * What: build/standin/libsqlite3.so.0 (soname libsqlite3.so.0) is an empty library whose
 * DT_NEEDED entries are, in this order,
 *     liblockfix.so                           found through DT_RPATH $ORIGIN/..
 *     /usr/lib/<triplet>/libsqlite3.so.0      the real library, by absolute path
 * so in the scope of anything that needs libsqlite3.so.0, the shim comes right before the real
 * library: the hooked names resolve to the shim, every other sqlite3_* name — functions and data
 * alike (sqlite3_version, sqlite3_temp_directory, ...) — to the real library, untouched, with no
 * trampoline. A tail of the scope, not a forwarder: the shim sees the caller's own return
 * address and resolves the copy the usual way (the real library is in the caller's scope).
 *
 * The loader keeps one copy of liblockfix.so per process: with LD_PRELOAD of the same file as
 * well, the stand-in's dependency is that already-loaded object (same inode), so there is one
 * shim state. The absolute path keeps the real library from being mistaken for the stand-in
 * (same soname, different file). See docs/clients.md for the trade-offs.
 */
__attribute__((used)) static const char lockfix_standin_id[] =
    "lockfix stand-in for libsqlite3.so.0: forwards to " LOCKFIX_STANDIN_REAL;

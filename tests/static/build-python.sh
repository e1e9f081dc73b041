#!/bin/bash
# Build a CPython the way python-build-standalone (what uv/uvx and mise install) builds it, from
# Debian's sources, so that lockfix's compiled-in path can be tested against that layout:
#
#   * SQLite's amalgamation compiled -fPIC -fvisibility=hidden into a static library;
#   * CPython --enable-shared with _sqlite3 built into libpython (Modules/Setup.local, *static*),
#     linked with -Wl,--exclude-libs,ALL: no sqlite3_* exported or imported anywhere;
#   * two layouts: SQLite in libpython3.11.so (releases before 20250517), and an executable
#     linked from libpython's objects (python-build-standalone since 20250517);
#   * strip --strip-debug, as uv's install_only_stripped builds: .symtab is kept.
#
# Usage: tests/static/build-python.sh [CACHE_DIR]    (prints the install prefix on its last line)
# The result is cached outside the clone (default ~/.cache/lockfix-static-python, or
# $LOCKFIX_CACHE/lockfix-static-python); a second run only checks it. About 8 minutes on 2 cores.
set -euo pipefail

cache=${1:-${LOCKFIX_CACHE:-$HOME/.cache}/lockfix-static-python}
prefix=$cache/install
stamp=$prefix/.built-v1
if [ -f "$stamp" ]; then echo "$prefix"; exit 0; fi

jobs=${JOBS:-2}
mkdir -p "$cache/src"
cd "$cache/src"

# Sources from Debian's archive (apt-get source needs a deb-src twin of the deb entry). Only the
# upstream tarballs are used: Debian's own patches are not what python-build-standalone builds.
need_src() { ls $1 >/dev/null 2>&1; }
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
# apt-get source needs deb-src entries: a twin of the deb ones, added once (as CI's fresh Debian 12
# has none), and the package lists updated, under the lock the other set-up steps use.
ensure_deb_src() {
    local list=/etc/apt/sources.list.d/lockfix-deb-src
    grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
    echo "build-python: adding deb-src entries ($list.*) for apt-get source" >&2
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
            $sudo tee "$list.sources" >/dev/null
    else
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list | $sudo tee "$list.list" >/dev/null
    fi
    flock /tmp/apt.lock $sudo apt-get update -q >/dev/null
}
if ! need_src 'sqlite3_*.orig.tar.xz' || ! need_src 'python3.11_*.orig.tar.gz'; then
    ensure_deb_src
    if ! apt-get source --download-only -q sqlite3 python3.11; then
        # A security update's Debian part may be gone from the mirror while the upstream
        # tarball (all we use) was fetched: go on if it is there.
        need_src 'sqlite3_*.orig.tar.xz' && need_src 'python3.11_*.orig.tar.gz' || {
            echo "build-python: apt-get source failed; a deb-src entry is needed" \
                 "(scripts/install-deps adds one)" >&2; exit 1; }
    fi
fi

# 1. SQLite: the amalgamation (generated from the source tree with tclsh), then a static library
#    of hidden symbols, as python-build-standalone's sqlite recipe does.
sq=$(ls -d sqlite3-*/ 2>/dev/null | head -1 || true)
if [ -z "$sq" ]; then tar xJf sqlite3_*.orig.tar.xz; sq=$(ls -d sqlite3-*/ | head -1); fi
sq=$cache/src/${sq%/}
if [ ! -f "$cache/sqlite/libsqlite3.a" ]; then
    mkdir -p "$cache/sqlite-build" "$cache/sqlite"
    (cd "$cache/sqlite-build" && "$sq/configure" -q >/dev/null && make -s sqlite3.c >/dev/null)
    cp "$cache/sqlite-build/sqlite3.c" "$cache/sqlite-build/sqlite3.h" "$cache/sqlite/"
    (cd "$cache/sqlite" &&
     gcc -O2 -fPIC -fvisibility=hidden -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_FTS3 \
         -DSQLITE_ENABLE_JSON1 -DSQLITE_ENABLE_RTREE -DSQLITE_THREADSAFE=1 -c sqlite3.c &&
     ar rcs libsqlite3.a sqlite3.o)
fi

# 2. CPython with _sqlite3 built into libpython.
py=$(ls -d Python-3.11.*/ 2>/dev/null | head -1 || true)
if [ -z "$py" ]; then tar xzf python3.11_*.orig.tar.gz; py=$(ls -d Python-3.11.*/ | head -1); fi
py=$cache/src/${py%/}
# (an out-of-tree build reads Modules/Setup.local from the build directory)
mkdir -p "$cache/py-build/Modules"
cat > "$cache/py-build/Modules/Setup.local" <<EOF
*static*
_sqlite3 _sqlite/blob.c _sqlite/connection.c _sqlite/cursor.c _sqlite/microprotocols.c _sqlite/module.c _sqlite/prepare_protocol.c _sqlite/row.c _sqlite/statement.c _sqlite/util.c -I$cache/sqlite $cache/sqlite/libsqlite3.a
EOF
cd "$cache/py-build"
if [ ! -f Makefile ]; then
    "$py/configure" -q --prefix="$prefix" --enable-shared --without-ensurepip \
        LDFLAGS="-Wl,--exclude-libs,ALL -Wl,-rpath,$prefix/lib" >/dev/null
fi
make -s -j"$jobs" >/dev/null 2>make.err || { tail -30 make.err >&2; exit 1; }
make -s install >/dev/null 2>>make.err || { tail -30 make.err >&2; exit 1; }

# 3. The second layout: an executable linked from libpython's objects (SQLite inside it).
objs=$(make -s -f Makefile -f - print-objs <<'EOF'
print-objs:
	@echo $(LIBRARY_OBJS)
EOF
)
gcc -o "$prefix/bin/python3.11-exe" Programs/python.o $objs "$cache/sqlite/libsqlite3.a" \
    -Wl,--exclude-libs,ALL -Xlinker -export-dynamic -lm -ldl -lpthread -lutil

# 4. strip --strip-debug, as uv's install_only_stripped builds (.symtab kept).
strip --strip-debug "$prefix/bin/python3.11" "$prefix/bin/python3.11-exe" \
    "$prefix"/lib/libpython3.11.so.1.0
touch "$stamp"
echo "$prefix"

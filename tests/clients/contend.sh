#!/usr/bin/env bash
# Run one client's read-modify-write workload from several processes at once on a fresh
# database, with or without the shim, and print the totals. This is the command that
# docs/clients.md quotes for each measured figure; the Criterion tests do the same in C.
#
# Usage: tests/clients/contend.sh [--shim] [--standin] [-w WRITERS] [-n TXNS] [-H HOLD_MS] [-l LABEL] [-k] -- CMD [ARGS...]
#   Each writer runs `CMD [ARGS...] DB TXNS HOLD_MS WRITER_ID` (the workload contract of
#   tests/clients/rmw.*: last stdout line `ok=N failed=M locked=L`).
#   --shim   preload build/liblockfix.so (LOCKFIX_LOG goes to a file in the work dir)
#   --standin put build/standin (the stand-in libsqlite3.so.0) first on LD_LIBRARY_PATH, same log
#            (with --shim too: both; the stand-in alone is how PHP is reached)
#   -l       the name printed as client= (default: the last word of CMD ARGS)
#   -k       keep the work dir (database, each writer's output, lockfix.log)
# Prints: `client=... shim=yes|no writers=W txns=N hold=H ok=.. failed=.. locked=.. counter=..
#          log_rows=.. integrity=.. journal=.. interventions: EVENT=COUNT ...`
# Exit 0 when every writer printed a result line and exited 0; 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
shim=no standin=no writers=8 txns=200 hold=0 keep=no label=
while [ $# -gt 0 ]; do
    case "$1" in
        --shim) shim=yes; shift ;;
        --standin) standin=yes; shift ;;
        -w) writers=$2; shift 2 ;;
        -n) txns=$2; shift 2 ;;
        -H) hold=$2; shift 2 ;;
        -l) label=$2; shift 2 ;;
        -k) keep=yes; shift ;;
        --) shift; break ;;
        *) echo "contend.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--shim] [-w W] [-n N] [-H MS] [-k] -- CMD [ARGS...]" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/lockfix-contend.XXXXXX")
[ "$keep" = yes ] || trap 'rm -rf "$dir"' EXIT
db=$dir/rmw.db
"$root/tests/clients/init-db.sh" "$db"

env_args=(-u LD_PRELOAD)
for v in $(env | sed -n 's/^\(LOCKFIX_[A-Za-z0-9_]*\)=.*/\1/p'); do env_args+=(-u "$v"); done
if [ "$shim" = yes ]; then
    lib=${LOCKFIX_TEST_SHIM:-$root/build/liblockfix.so}
    [ -f "$lib" ] || { echo "contend.sh: $lib not built (make build/liblockfix.so)" >&2; exit 1; }
    env_args+=("LD_PRELOAD=$lib")
fi
if [ "$standin" = yes ]; then
    [ -f "$root/build/standin/libsqlite3.so.0" ] || { echo "contend.sh: make standin first" >&2; exit 1; }
    env_args+=("LD_LIBRARY_PATH=$root/build/standin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
[ "$shim" = yes ] || [ "$standin" = yes ] && env_args+=("LOCKFIX_LOG=$dir/lockfix.log")

pids=()
for ((w = 1; w <= writers; w++)); do
    env "${env_args[@]}" "$@" "$db" "$txns" "$hold" "$w" >"$dir/w$w.out" 2>"$dir/w$w.err" &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done

ok=0 failed=0 locked=0
for ((w = 1; w <= writers; w++)); do
    line=$(tail -n 1 "$dir/w$w.out")
    if [[ $line =~ ^ok=([0-9]+)\ failed=([0-9]+)\ locked=([0-9]+)$ ]]; then
        ok=$((ok + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2])) locked=$((locked + BASH_REMATCH[3]))
    else
        echo "contend.sh: writer $w printed no result line; stderr:" >&2
        head -c 2000 "$dir/w$w.err" >&2
        status=1
    fi
done
q() { env -u LD_PRELOAD sqlite3 "$db" "$1"; }
events=""
if [ -f "$dir/lockfix.log" ]; then
    events=$(sed -n 's/^lockfix\[[0-9]*\]: \([a-z-]*\) .*/\1/p' "$dir/lockfix.log" | sort | uniq -c |
        awk '{printf " %s=%s", $2, $1}')
fi
echo "client=${label:-$(basename "${@: -1}")} shim=$shim standin=$standin writers=$writers txns=$txns hold=$hold" \
    "ok=$ok failed=$failed locked=$locked counter=$(q 'SELECT v FROM counter WHERE id=1')" \
    "log_rows=$(q 'SELECT count(*) FROM log')" "integrity=$(q 'PRAGMA integrity_check')" \
    "journal=$(q 'PRAGMA journal_mode')" "interventions:${events:- none}"
[ "$keep" = yes ] && echo "contend.sh: kept $dir" >&2
exit $status

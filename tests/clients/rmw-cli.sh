#!/usr/bin/env bash
# Read-modify-write workload through the sqlite3 command-line shell, with its defaults
# (no .timeout, so a busy timeout of 0; plain deferred BEGIN).
#
# Usage: rmw-cli.sh DB N [HOLD_MS [WRITER_ID]]
#   SQLITE3=path-to-cli overrides the `sqlite3` found on PATH; RMW_VERBOSE=1 passes every CLI
#   error line through to stderr.
#
# The CLI has no variables, so the update is `SET v=v+1`. How the generated script survives errors:
# the CLI runs each input line's complete statements in order and, with `.bail off` (the default),
# a failing statement abandons the REST OF THAT LINE and goes on with the next line, leaving any
# open transaction open. Hence:
#   * a transaction's statements share one line, ended by a marker `SELECT 'lockfix-rmw-ok';`
#     after COMMIT: the marker reaches stdout only when every statement, COMMIT included, worked;
#   * each transaction is followed by a guard line `ROLLBACK;` that ends the transaction a failure
#     left open (after a success it fails with "no transaction is active", which is expected);
#   * with HOLD_MS > 0 the transaction is split around a `.shell sleep` line (dot commands need
#     their own line). The first half records its success in a temp table, and the second half
#     starts with a check that raises an error ("malformed JSON") unless that record is there,
#     so a failed first half can never be followed by a committed UPDATE outside the read.
# Every error message names its line ("Runtime error near line N: ..."), and the layout is fixed,
# so each error is mapped back to its transaction: ok = markers seen, failed = N - ok, and locked =
# failed transactions whose first error says "database is locked". Prints `ok=N failed=M locked=L`.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 DB N [HOLD_MS [WRITER_ID]]" >&2
    exit 2
fi
db=$1 n=$2 hold=${3:-0} writer=${4:-0}
cli=${SQLITE3:-sqlite3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rmw-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

marker=lockfix-rmw-ok
if [ "$hold" -gt 0 ]; then
    secs=$(printf '%d.%03d' $((hold / 1000)) $((hold % 1000)))
    setup=1 per=4 guard=3
    {
        echo "CREATE TEMP TABLE rmw_stage(x);"
        for ((i = 0; i < n; i++)); do
            echo "DELETE FROM temp.rmw_stage; BEGIN; SELECT v FROM counter WHERE id=1; INSERT INTO temp.rmw_stage VALUES(1);"
            echo ".shell sleep $secs"
            echo "SELECT json(CASE WHEN EXISTS(SELECT 1 FROM temp.rmw_stage) THEN '0' ELSE 'first-half-failed' END); UPDATE counter SET v=v+1 WHERE id=1; INSERT INTO log(writer, i) VALUES($writer, $i); COMMIT; SELECT '$marker';"
            echo "ROLLBACK;"
        done
    } >"$tmp/script.sql"
else
    setup=0 per=2 guard=1
    for ((i = 0; i < n; i++)); do
        echo "BEGIN; SELECT v FROM counter WHERE id=1; UPDATE counter SET v=v+1 WHERE id=1; INSERT INTO log(writer, i) VALUES($writer, $i); COMMIT; SELECT '$marker';"
        echo "ROLLBACK;"
    done >"$tmp/script.sql"
fi

# The CLI exits 1 when any statement failed; that is expected here.
"$cli" "$db" <"$tmp/script.sql" >"$tmp/out" 2>"$tmp/err" || true

ok=$(grep -cx "$marker" "$tmp/out" || true)
# The CLI's own stdout is only the values read (integers) and the markers. Anything else (say a
# preloaded library writing to stdout) is passed on, so a caller checking stdout still sees it.
grep -vxE "$marker|-?[0-9]+" "$tmp/out" || true

# Classify stderr. Lines that are not SQL error reports (the shim's log, warnings) go through.
awk -v setup="$setup" -v per="$per" -v guard="$guard" -v n="$n" -v verbose="${RMW_VERBOSE:-}" '
    match($0, /^((Runtime|Parse) error|Error:) near line [0-9]+: /) {
        hdr = substr($0, 1, RLENGTH)
        ln = hdr; sub(/^.*near line /, "", ln); sub(/:.*$/, "", ln); ln += 0
        off = (ln - 1 - setup) % per
        tx = int((ln - 1 - setup) / per)
        if (ln <= setup || tx >= n) { print > "/dev/stderr"; next }
        if (off == guard) {
            if ($0 !~ /cannot rollback - no transaction is active/) {
                print "rmw-cli: rollback of transaction " tx " failed: " $0 > "/dev/stderr"
            } else if (verbose != "") print > "/dev/stderr"
            next
        }
        if (!(tx in first)) first[tx] = $0
        if (verbose != "") print > "/dev/stderr"
        next
    }
    { print > "/dev/stderr" }
    END {
        locked = 0
        for (tx in first) if (first[tx] ~ /database is locked/) locked++
        print locked > "'"$tmp/locked"'"
    }
' "$tmp/err"
locked=$(cat "$tmp/locked")
echo "ok=$ok failed=$((n - ok)) locked=$locked"

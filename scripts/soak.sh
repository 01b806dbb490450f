#!/usr/bin/env bash
# make soak: every architecture (or those in $ARCHS) serves SOAK_REQUESTS requests (default
# 1,000,000) from `srvlab load` with 200 connections, in ten blocks of 80% keep-alive and 20%
# --no-keepalive (a new connection per request). Passes when no request fails and the server's
# RSS at the end is within 10% of its RSS after the first block (a leak grows it block by block),
# or within 2 MiB of it: in a short soak a process of a few MiB still fills its pools (fiber
# stacks, uring's 2 MiB provided-buffer ring, touched in rotation) after the first block.
# Prints one line per architecture and a closing "soak: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
SRVLAB=${SRVLAB:-./srvlab}
TOTAL=${SOAK_REQUESTS:-1000000}
CONNS=${SOAK_CONNS:-200}
ARCHS=${ARCHS:-$("$SRVLAB" serve --list-archs)}
BLOCK=$(( TOTAL / 10 ))
KEEP=$(( BLOCK * 8 / 10 ))
NEW=$(( BLOCK - KEEP ))
TOTAL=$(( BLOCK * 10 ))
TMP=$(mktemp -d /tmp/srvlab-soak.XXXXXX)
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# load N CONNS [load options...]: runs srvlab load; prints "<ok> <errors> <error kinds>".
load() {
    local n=$1 c=$2; shift 2
    "$SRVLAB" load -q -c "$c" -n "$n" --timeout 10s --json "$TMP/load.json" "$@" \
        "http://127.0.0.1:$PORT/" >"$TMP/load.out" 2>&1
    python3 - "$TMP/load.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print(0, 1, "no-json"); sys.exit()
e = d["errors"]
kinds = ",".join("%s=%d" % (k, v) for k, v in e.items() if k != "total" and v)
print(d["ok"], e["total"], kinds or "-")
EOF
}

passed=0; failed=0
for arch in $ARCHS; do
    opts=(); keep_conns=$CONNS
    case $arch in
        pool) opts=(--threads "$CONNS") ;;   # a worker per connection, or keep-alive ones wait
        iterative) keep_conns=1 ;;            # one at a time: 199 more keep-alive clients would
    esac                                      # wait behind the first until they time out
    rm -f "$TMP/port"
    "$SRVLAB" serve --arch "$arch" --port 0 --port-file "$TMP/port" -q "${opts[@]}" \
        2>"$TMP/serve.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(cat "$TMP/port" 2>/dev/null)
    if [ -z "$PORT" ]; then
        echo "not ok - $arch: did not start: $(cat "$TMP/serve.err")"; failed=$((failed + 1))
        continue
    fi
    start=$(date +%s); ok=0; errors=0; kinds=""; rss_first=0
    for block in $(seq 1 10); do
        read -r o e k < <(load "$KEEP" "$keep_conns")
        ok=$((ok + o)); errors=$((errors + e)); [ "$k" != - ] && kinds+=" $k"
        read -r o e k < <(load "$NEW" "$CONNS" --no-keepalive)
        ok=$((ok + o)); errors=$((errors + e)); [ "$k" != - ] && kinds+=" $k"
        [ "$block" = 1 ] && rss_first=$(rss_kib "$SRV_PID")
    done
    rss_end=$(rss_kib "$SRV_PID")
    kill -TERM "$SRV_PID"; wait "$SRV_PID"; rc=$?; SRV_PID=
    growth=$(awk -v a="$rss_first" -v b="$rss_end" \
        'BEGIN { printf "%+.1f", a ? (b - a) * 100 / a : 0 }')
    line="$arch: $ok of $TOTAL ok ($((KEEP * 10)) keep-alive, $((NEW * 10)) new connections)"
    line+=", $errors errors${kinds:+ ($kinds )}, RSS $(mib "$rss_first") MiB after $BLOCK"
    line+=", $(mib "$rss_end") MiB at the end (${growth}%), exit $rc, $(( $(date +%s) - start )) s"
    if [ "$errors" = 0 ] && [ "$ok" = "$TOTAL" ] && [ "$rc" = 0 ] &&
        awk -v a="$rss_first" -v b="$rss_end" 'BEGIN { exit !(a > 0 && (b <= a * 1.10 || b - a <= 2048)) }'; then
        echo "ok - $line"; passed=$((passed + 1))
    else
        echo "not ok - $line"; failed=$((failed + 1))
    fi
done
echo "soak: $passed passed, $failed failed"
[ "$failed" = 0 ]

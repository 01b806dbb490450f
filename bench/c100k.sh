#!/usr/bin/env bash
# C100k (not a test; not run by CI): 100,000 concurrent idle keep-alive connections held by
# `srvlab serve --arch green --procs 6`, then every one answered again (issue 4's target).
# One process may have only RLIMIT_NOFILE descriptors (20,000 in the sandbox this was written
# in, and the hard limit cannot be raised there), so the server runs 6 worker processes on one
# port (--procs, SO_REUSEPORT: ~16,700 connections each) and the clients are $CLIENTS
# tests/e2e/idleconns.py processes, each below the limit, each from its own 127.0.0.x range.
#
# Memory: the server is a master plus workers, so the figure is summed over all of them, twice:
#  Pss   (/proc/PID/smaps_rollup) counts a page shared by k processes as 1/k in each: pages the
#        workers share after fork (code, the MAP_SHARED metrics) are counted once. The fair one.
#  VmRSS (/proc/PID/status) counts such pages in every process that maps them.
# Bytes per idle connection = (sum with N idle - sum before any connection) / N.
#
# Prints one markdown table: green and epoll with N connections, and thread with THREAD_N (a
# thread per connection needs a PID each: kernel.pid_max is 32,768 here, so 100,000 threads
# cannot exist at once; the per-connection cost does not depend on N).
# Usage: bench/c100k.sh [--quick]      Env: SRVLAB N PROCS CLIENTS THREAD_N ARCHS TIMEOUT
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}
N=${N:-100000}
PROCS=${PROCS:-6}
CLIENTS=${CLIENTS:-6}
THREAD_N=${THREAD_N:-15000}
ARCHS=${ARCHS:-"green epoll thread"}
TIMEOUT=${TIMEOUT:-300}
if [ "${1:-}" = --quick ]; then N=6000; THREAD_N=3000; fi
TMP=$(mktemp -d /tmp/srvlab-bench-c100k.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# The master and its workers.
procs_of() { echo "$1"; ps --ppid "$1" -o pid= | tr -d ' '; }
# mem_kib MASTER: "PSS_KIB RSS_KIB" summed over the master and its workers.
mem_kib() {
    local pss=0 rss=0 p
    for p in $(procs_of "$1"); do
        pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
        rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
    done
    echo "$pss $rss"
}
# shares MASTER: sockets held by each worker (listeners included), comma-separated.
shares() {
    local p
    for p in $(ps --ppid "$1" -o pid=); do ls -l "/proc/$p/fd" | grep -c 'socket:'; done |
        paste -sd,
}

# start ARCH [options]: sets PID and PORT.
start() {
    local pf="$TMP/port"
    rm -f "$pf"
    "$SRVLAB" serve -q --arch "$@" --port 0 --port-file "$pf" --idle-timeout 30m \
        >/dev/null 2>"$TMP/serve.err" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
    PORT=$(cat "$pf")
    sleep 1 # the workers are up and idle
}

# clients N: starts $CLIENTS idleconns.py, N connections in all, 3 source addresses each.
clients() {
    local n=$1 i each
    CPIDS=()
    for i in $(seq 0 $((CLIENTS - 1))); do
        each=$((n / CLIENTS + (i < n % CLIENTS ? 1 : 0)))
        python3 tests/e2e/idleconns.py "$PORT" "$each" --sources 3 --first-source $((1 + 3 * i)) \
            --go-file "$TMP/go" --timeout "$TIMEOUT" >"$TMP/client.$i" 2>&1 &
        CPIDS+=($!)
        PIDS+=($!)
    done
}
# sum_field PATTERN FIELD: sums FIELD=... over the clients' lines starting with PATTERN.
sum_field() { cat "$TMP"/client.* | awk -v p="^$1" -v f="$2" '$0 ~ p {
    for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) s += substr($i, length(f) + 2) } END {print s + 0}'; }

# run ARCH N PROCS: one table row.
run() {
    local arch=$1 n=$2 procs=$3 before after ready t0 held again secs spread rc
    rm -f "$TMP/go" "$TMP"/client.*
    start "$arch" --procs "$procs"
    before=$(mem_kib "$PID")
    t0=$(date +%s)
    clients "$n"
    for _ in $(seq 1 $((TIMEOUT * 10))); do
        [ "$(cat "$TMP"/client.* | grep -c '^ready')" = "$CLIENTS" ] && break
        sleep 0.1
    done
    ready=$(($(date +%s) - t0))
    sleep 2 # let the allocators settle
    after=$(mem_kib "$PID")
    spread=$(shares "$PID")
    held=$(sum_field ready ok)
    t0=$(date +%s%N)
    touch "$TMP/go"
    wait "${CPIDS[@]}"
    secs=$(awk -v t=$(( $(date +%s%N) - t0 )) 'BEGIN {printf "%.1f", t / 1e9}')
    again=$(sum_field again ok)
    kill -TERM "$PID"; wait "$PID"; rc=$?
    grep -h 'connect failed' "$TMP"/client.* | sed 's/^/# /' >&2
    awk -v a="$arch" -v p="$procs" -v n="$n" -v h="$held" -v g="$again" -v b="$before" \
        -v f="$after" -v s="$spread" -v r="$ready" -v t="$secs" -v rc="$rc" 'BEGIN {
        split(b, B, " "); split(f, F, " ")
        printf "| %s | %d | %d | %d | %d | %.1f -> %.1f | %.0f | %.1f -> %.1f | %.0f | %s | %ds | %ss | %d |\n",
            a, p, n, h, g, B[1] / 1024, F[1] / 1024, (F[1] - B[1]) * 1024 / n,
            B[2] / 1024, F[2] / 1024, (F[2] - B[2]) * 1024 / n, s, r, t, rc }'
}

echo "### $N idle keep-alive connections over $PROCS processes (bench/c100k.sh, $(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "$(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB, RLIMIT_NOFILE $(ulimit -Hn) per process," \
    "$CLIENTS client processes (tests/e2e/idleconns.py, 3 source addresses each)," \
    "load average $(cut -d' ' -f1 /proc/loadavg) at the start."
echo
echo "| arch | procs | connections | held and answered | answered again | Pss MiB (before -> idle) | Pss bytes per connection | VmRSS MiB (before -> idle) | VmRSS bytes per connection | sockets per worker | time to hold all | time to answer all again | exit |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
for arch in $ARCHS; do
    "$SRVLAB" serve --list-archs | grep -qx "$arch" || { echo "# $arch not built" >&2; continue; }
    if [ "$arch" = thread ]; then run thread "$THREAD_N" "$PROCS"; else run "$arch" "$N" "$PROCS"; fi
done

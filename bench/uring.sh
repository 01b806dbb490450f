#!/usr/bin/env bash
# The uring section of the benchmarks (not a test; not run by CI). Prints four tables:
#  1. hello world, keep-alive, wrk -t1 -c100 pinned to CPU 1, each server pinned to CPU 0,
#     servers interleaved A B C A B C ..., medians of $ROUNDS: requests/s, p99 and the ranking
#     figure, requests per second of server CPU time (utime+stime from /proc, children too);
#  2. syscalls per request under `strace -c -f` (srvlab architectures only);
#  3. server RSS per idle keep-alive connection ((RSS with N idle - RSS with none) / N);
#  4. CPU use while 100 keep-alive connections sit idle (nonblock's busy loop shows here).
# Prints markdown (the tables in docs/benchmarks.md come from it).
# Usage: bench/uring.sh [--quick]
# Env: PARTS (throughput syscalls idle_rss idle_cpu) SERVERS ROUNDS DURATION CONNS IDLE_CONNS RSS_ARCHS
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-100}
IDLE_CONNS=${IDLE_CONNS:-10000}
if [ "${1:-}" = --quick ]; then ROUNDS=1; DURATION=2s; IDLE_CONNS=2000; fi
ARCHS_BUILT=$("$SRVLAB" serve --list-archs)
has_arch() { grep -qx "$1" <<<"$ARCHS_BUILT"; }
if [ -z "${SERVERS:-}" ]; then
    SERVERS=""
    for s in uring epoll; do has_arch "$s" && SERVERS="$SERVERS $s"; done
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] && SERVERS="$SERVERS nginx"
fi
RSS_ARCHS=${RSS_ARCHS:-"nonblock select poll epoll uring nginx"}
. bench/lib.sh
bench_init uring

# start NAME PORT [CPU]: starts srvlab --arch NAME or nginx (1 worker), pinned; sets PID.
start() {
    if [ "$1" = nginx ]; then
        start_nginx "$2" "${3:-0}" 1
    else
        start_srvlab "$2" "${3:-0}" --arch "$1"
    fi
}

# 1. Throughput and requests per server-CPU-second ---------------------------------------
throughput() {
    local round name port
    : >"$TMP/tp"
    for round in $(seq 1 "$ROUNDS"); do
        for name in $SERVERS; do
            port=$(free_port); start "$name" "$port" 0 || { echo "# $name did not start"; continue; }
            echo "$name $(wrk_measure "$PID" "$port" 1)" >>"$TMP/tp"
            stop "$PID"
        done
    done
    runs_table "$TMP/tp" "Hello world, keep-alive, $CONNS connections, wrk -t1 on CPU 1, server on CPU 0 (median of $ROUNDS, $DURATION each)" \
        nginx $SERVERS
}

# 2. Syscalls per request ------------------------------------------------------------------
syscalls() {
    echo "### Syscalls per request: strace -c -f over wrk -t1 -c$CONNS -d3s (strace slows syscalls, not requests in the ring)"
    echo "| server | requests | syscalls | per request | main calls |"
    echo "|---|---:|---:|---:|---|"
    local name port spid out reqs total
    for name in uring epoll; do
        has_arch "$name" || continue
        port=$(free_port)
        taskset -c 0 strace -c -f -o "$TMP/strace.$name" "$SRVLAB" serve -q --arch "$name" \
            --port "$port" >/dev/null 2>&1 &
        spid=$!
        wait_port "$port" || continue
        out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d3s "http://127.0.0.1:$port/")
        kill -TERM $(ps -o pid= --ppid "$spid") 2>/dev/null
        wait "$spid" 2>/dev/null
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        total=$(awk '$NF == "total" {print $4}' "$TMP/strace.$name") # % s us/call CALLS [errors]
        printf "| %s | %s | %s | %s | %s |\n" "$name" "$reqs" "$total" \
            "$(awk -v s="$total" -v r="$reqs" 'BEGIN {printf "%.3f", r ? s / r : 0}')" \
            "$(awk '$NF != "total" && $4 ~ /^[0-9]+$/ && $4 > 1000 {printf "%s %s; ", $NF, $4}' "$TMP/strace.$name")"
    done
    echo
}

# 3. RSS per idle keep-alive connection ------------------------------------------------------
idle_rss() {
    echo "### Server RSS per idle keep-alive connection (sequential opens, one request each, then idle)"
    echo "| server | idle conns | RSS before KiB | RSS idle KiB | bytes per idle conn | client |"
    echo "|---|---:|---:|---:|---:|---|"
    local name port n r0 r1 out
    for name in $RSS_ARCHS; do
        [ "$name" = nginx ] || has_arch "$name" || continue
        n=$IDLE_CONNS
        [ "$name" = select ] && [ "$n" -gt 1000 ] && n=1000 # FD_SETSIZE
        # O(connections) per request: 10,000 sequential opens would take minutes.
        case $name in nonblock | poll) [ "$n" -gt 2000 ] && n=2000 ;; esac
        port=$(free_port); start "$name" "$port" 0 || continue
        python3 tests/e2e/manyconns.py "$port" -n 200 --rounds 5 >/dev/null # warm the pools
        r0=$(rss_kb "$PID")
        python3 tests/e2e/manyconns.py "$port" -n "$n" --sequential --hold 3 >"$TMP/mc" &
        local cpid=$!
        for _ in $(seq 1 1200); do grep -q '^ok=' "$TMP/mc" && break; sleep 0.1; done
        sleep 0.5
        r1=$(rss_kb "$PID")
        out=$(cat "$TMP/mc")
        wait "$cpid"
        stop "$PID"
        printf "| %s | %s | %s | %s | %s | %s |\n" "$name" "$n" "$r0" "$r1" \
            "$(( (r1 - r0) * 1024 / n ))" "$out"
    done
    echo
}

# 4. CPU while idle ------------------------------------------------------------------------
idle_cpu() {
    echo "### Server CPU while 100 keep-alive connections are idle (3 s)"
    echo "| server | CPU % of one core |"
    echo "|---|---:|"
    local name port c0 c1
    for name in nonblock select poll epoll uring; do
        has_arch "$name" || continue
        port=$(free_port); start "$name" "$port" 0 || continue
        python3 tests/e2e/manyconns.py "$port" -n 100 --hold 5 >"$TMP/mc" &
        local cpid=$!
        for _ in $(seq 1 100); do grep -q '^ok=' "$TMP/mc" && break; sleep 0.1; done
        c0=$(cpu_ticks "$PID"); sleep 3; c1=$(cpu_ticks "$PID")
        kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
        stop "$PID"
        printf "| %s | %s |\n" "$name" "$(( (c1 - c0) * 100 / (3 * HZ) ))"
    done
    echo
}

echo "srvlab bench/uring.sh: $(date -u +%FT%TZ), kernel $(uname -r), $(nproc) CPUs"
for part in ${PARTS:-throughput syscalls idle_rss idle_cpu}; do "$part"; done

#!/usr/bin/env bash
# The epoll family against nginx (not a test; not run by CI). Prints markdown tables:
#  pinned    hello world, keep-alive, wrk -t1 -c100 on CPU 1, each server on CPU 0 (srvlab with
#            its default metrics and with --no-metrics, since nginx measures nothing), servers
#            interleaved A B A B ..., median of $ROUNDS: requests/s, p99, and the ranking figure,
#            requests per second of server CPU time (utime+stime of every thread and child);
#            also bench/floor.c, not a server: one recv and one send of a canned response per
#            request, so what the kernel alone costs, the most any server could reach here;
#  reactors  the same, unpinned: reactors (2 loops; reuseport and exclusive) vs nginx 2 workers,
#            and the floor with 2 loops (threads with their own SO_REUSEPORT listeners);
#  syscalls  per request for epoll and nginx: strace -c -f over exactly $STOP_AFTER requests;
#  pipeline  epoll with 16 requests per write (bench/pipeline.lua) vs none;
#  idle_rss  server RSS per idle keep-alive connection ((RSS with N idle - RSS before) / N).
# Usage: bench/server_vs_nginx.sh [--quick]
# Env: PARTS ROUNDS DURATION CONNS IDLE_CONNS STOP_AFTER SRVLAB
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-100}
IDLE_CONNS=${IDLE_CONNS:-10000}
STOP_AFTER=${STOP_AFTER:-100000}
if [ "${1:-}" = --quick ]; then ROUNDS=1; DURATION=2s; IDLE_CONNS=2000; STOP_AFTER=20000; fi
. bench/lib.sh
bench_init ev

# start SERVER PORT CPUS: SERVER is an srvlab architecture with options ("reactors
# --listener exclusive"), nginx or nginx2 (2 workers), h2o, lighttpd. CPUS "" = unpinned.
# Sets PID (nginx's master: the workers are its children).
start() {
    local server=$1 port=$2 cpus=$3
    case $server in
    nginx | nginx2 | nginx2-affinity)
        local workers=1 affinity=()
        [ "$server" != nginx ] && workers=2
        # nginx's own pinning (reactors pins its loops), to compare like with like.
        [ "$server" = nginx2-affinity ] && affinity=(-e 's/^master_process on;/&\nworker_cpu_affinity auto;/')
        start_nginx "$port" "$cpus" "$workers" "${affinity[@]}"
        ;;
    h2o)
        printf 'listen: {host: 127.0.0.1, port: %s}\nnum-threads: 1\naccess-log: /dev/null\nhosts: {default: {paths: {/: {file.dir: %s}}}}\n' \
            "$port" "$TMP/h2o-root" >"$TMP/h2o.$port.conf"
        mkdir -p "$TMP/h2o-root"; printf 'Hello, World!' >"$TMP/h2o-root/index.html"
        bench_start "$port" "$cpus" h2o -c "$TMP/h2o.$port.conf"
        ;;
    lighttpd)
        mkdir -p "$TMP/lt-root"; printf 'Hello, World!' >"$TMP/lt-root/index.html"
        printf 'server.document-root = "%s"\nserver.port = %s\nserver.bind = "127.0.0.1"\n' \
            "$TMP/lt-root" "$port" >"$TMP/lt.$port.conf"
        bench_start "$port" "$cpus" lighttpd -D -f "$TMP/lt.$port.conf"
        ;;
    floor | floor2)
        [ -x "$TMP/floor" ] || cc -O2 -pthread -o "$TMP/floor" bench/floor.c || return 1
        local loops=1; [ "$server" = floor2 ] && loops=2
        bench_start "$port" "$cpus" "$TMP/floor" "$port" "$loops"
        ;;
    *)
        # shellcheck disable=SC2086 # the architecture's options split on purpose
        start_srvlab "$port" "$cpus" --arch $server
        ;;
    esac
}

# measure LABEL SERVER SERVER_CPUS WRK_CPUS [wrk args]: one run, appended to $TMP/runs.
measure() {
    local label=$1 server=$2 scpu=$3 wcpu=$4 port
    shift 4
    port=$(free_port)
    start "$server" "$port" "$scpu" || { echo "# $server did not start" >&2; return; }
    echo "$label $(wrk_measure "$PID" "$port" "$wcpu" "$@")" >>"$TMP/runs"
    stop "$PID"
}

# table TITLE PEER LABEL...: medians per label, ratio of req/CPU-s to the PEER label's.
table() { runs_table "$TMP/runs" "$@"; }

pinned() {
    local peers="nginx" s
    for s in h2o lighttpd; do command -v "$s" >/dev/null && peers="$peers $s"; done
    : >"$TMP/runs"
    for _ in $(seq 1 "$ROUNDS"); do
        measure epoll epoll 0 1
        measure epoll-no-metrics "epoll --no-metrics" 0 1
        for s in $peers; do measure "$s" "$s" 0 1; done
        measure floor floor 0 1
    done
    # The best peer is the reference (h2o and lighttpd count when Debian has them installed).
    local best=nginx best_eff=0 p e
    for p in $peers; do
        e=$(awk -v n="$p" '$1 == n {print $4}' "$TMP/runs" | median)
        if awk -v a="$e" -v b="$best_eff" 'BEGIN {exit !(a > b)}'; then best=$p; best_eff=$e; fi
    done
    table "Hello world, keep-alive, $CONNS connections, wrk -t1 on CPU 1, server on CPU 0 (median of $ROUNDS x $DURATION)" \
        "$best" epoll epoll-no-metrics $peers floor
}

reactors() {
    : >"$TMP/runs"
    for _ in $(seq 1 "$ROUNDS"); do
        measure reactors "reactors --threads 2" "" ""
        measure reactors-no-metrics "reactors --threads 2 --no-metrics" "" ""
        measure reactors-exclusive "reactors --threads 2 --listener exclusive" "" ""
        measure nginx-2-workers nginx2 "" ""
        measure nginx-2-workers-affinity nginx2-affinity "" ""
        measure floor-2-loops floor2 "" ""
    done
    table "Unpinned, both cores: reactors (2 loops, each pins itself to a core) vs nginx (2 workers), wrk -t1 -c$CONNS (median of $ROUNDS x $DURATION)" \
        nginx-2-workers reactors reactors-no-metrics reactors-exclusive nginx-2-workers \
        nginx-2-workers-affinity floor-2-loops
}

pipeline() {
    : >"$TMP/runs"
    for _ in $(seq 1 "$ROUNDS"); do
        measure epoll epoll 0 1
        measure epoll-pipelined-16 epoll 0 1 -s bench/pipeline.lua
    done
    table "Pipelining: 16 requests per write (bench/pipeline.lua), server on CPU 0 (median of $ROUNDS x $DURATION)" \
        epoll epoll epoll-pipelined-16
}

# strace -c -f on the running server while wrk sends exactly $STOP_AFTER requests.
syscalls() {
    echo "### Syscalls per request: strace -c -f over $STOP_AFTER requests, wrk -t1 -c$CONNS"
    echo
    echo "| server | requests | syscalls | per request | main calls |"
    echo "|---|---:|---:|---:|---|"
    local s port spid total main
    for s in epoll nginx; do
        port=$(free_port)
        start "$s" "$port" 0 || continue
        local target=$PID
        [ "$s" = nginx ] && target=$(ps -o pid= --ppid "$PID" | head -1)
        strace -c -f -p "$target" -o "$TMP/strace.$s" 2>/dev/null &
        spid=$!
        sleep 0.5
        STOP_AFTER=$STOP_AFTER taskset -c 1 wrk -t1 -c"$CONNS" -d60s -s bench/stop_after.lua \
            "http://127.0.0.1:$port/" >/dev/null
        kill -INT "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
        stop "$PID"
        total=$(awk '$NF == "total" {print $4}' "$TMP/strace.$s")
        main=$(awk '$NF != "total" && $4 ~ /^[0-9]+$/ && $4 > 100 {printf "%s %s, ", $NF, $4}' "$TMP/strace.$s")
        printf "| %s | %s | %s | %s | %s |\n" "$s" "$STOP_AFTER" "$total" \
            "$(awk -v c="$total" -v r="$STOP_AFTER" 'BEGIN {printf "%.2f", c / r}')" "${main%, }"
    done
    echo
}

idle_rss() {
    echo "### Server RSS per idle keep-alive connection ($IDLE_CONNS connections, each answered twice, then idle)"
    echo
    echo "| server | RSS before KiB | RSS with $IDLE_CONNS idle KiB | bytes per connection |"
    echo "|---|---:|---:|---:|"
    local s port r0 r1 cpid
    for s in epoll "reactors --threads 2" nginx; do
        port=$(free_port)
        start "$s" "$port" "" || continue
        python3 tests/e2e/evclients.py many "$port" --conns 200 >/dev/null # warm-up
        r0=$(rss_kb "$PID")
        python3 tests/e2e/evclients.py many "$port" --conns "$IDLE_CONNS" --hold 3 >"$TMP/many" &
        cpid=$!
        for _ in $(seq 1 600); do grep -q '^idle' "$TMP/many" && break; sleep 0.1; done
        sleep 0.5
        r1=$(rss_kb "$PID")
        wait "$cpid"
        stop "$PID"
        printf "| %s | %s | %s | %s |\n" "$s" "$r0" "$r1" "$(((r1 - r0) * 1024 / IDLE_CONNS))"
    done
    echo
}

echo "## bench/server_vs_nginx.sh: $(date -u +%FT%TZ), kernel $(uname -r), $(nproc) CPUs, $("$NGINX" -v 2>&1)"
echo
for part in ${PARTS:-pinned reactors syscalls pipeline idle_rss}; do "$part"; done

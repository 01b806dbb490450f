#!/usr/bin/env bash
# What measuring costs (not a test; not run by CI): hello world on `srvlab serve --arch epoll`
# with its default metrics, with --no-metrics, and with --access-log, each pinned to CPU 0,
# `wrk -t1 -c100` pinned to CPU 1, interleaved A B C A B C ..., median of $ROUNDS runs of
# $DURATION. Ranking figure: requests per second of server CPU time (utime+stime, /proc/PID/stat).
# Targets (issue 10): metrics cost at most 3% of throughput; the access log's cost is recorded.
# Usage: bench/observability.sh        Env: ROUNDS (3) DURATION (5s) CONNS (100) SRVLAB
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5s}; CONNS=${CONNS:-100}
. bench/lib.sh
bench_init obs
command -v wrk >/dev/null || { echo "bench: wrk is not installed (scripts/deps.sh)"; exit 1; }

# run_one ARGS...: epoll with ARGS on CPU 0, wrk on CPU 1; prints "req_per_s p99_ms req_per_cpu_s".
run_one() {
    local port; port=$(free_port)
    start_srvlab "$port" 0 --arch epoll "$@" || { echo "# epoll $* did not start" >&2; return; }
    wrk_measure "$PID" "$port" 1
    stop "$PID"
}

configs=("metrics (default)" "--no-metrics" "--access-log")
for r in $(seq 1 "$ROUNDS"); do
    run_one >"$TMP/r.0.$r"
    run_one --no-metrics >"$TMP/r.1.$r"
    run_one --access-log "$TMP/access.log" >"$TMP/r.2.$r"
    rm -f "$TMP/access.log"
done
echo "Machine: $(machine), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| epoll with | requests/s | p99 ms | requests per server-CPU-second | vs --no-metrics |"
echo "|---|---:|---:|---:|---:|"
base=$(cat "$TMP"/r.1.* | awk '{print $3}' | median)
for i in 0 1 2; do
    rps=$(cat "$TMP"/r.$i.* | awk '{print $1}' | median)
    p99=$(cat "$TMP"/r.$i.* | awk '{print $2}' | median)
    eff=$(cat "$TMP"/r.$i.* | awk '{print $3}' | median)
    awk -v n="${configs[$i]}" -v r="$rps" -v p="$p99" -v e="$eff" -v b="$base" \
        'BEGIN { printf "| %s | %.0f | %s | %s | %.3fx |\n", n, r, p, e, (b > 0 ? e / b : 0) }'
done

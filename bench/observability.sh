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
TMP=$(mktemp -d /tmp/srvlab-obs.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
command -v wrk >/dev/null || { echo "bench: wrk is not installed (scripts/deps.sh)"; exit 1; }
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_one NAME ARGS...: prints "req_per_s p99_ms req_per_cpu_s"
run_one() {
    local name=$1; shift
    rm -f "$TMP/port"
    taskset -c 0 "$SRVLAB" serve --arch epoll --port 0 --port-file "$TMP/port" -q "$@" &
    local pid=$!; PIDS+=("$pid")
    for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    local url="http://127.0.0.1:$(cat "$TMP/port")/"
    taskset -c 1 wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null 2>&1 # warm-up
    local c0; c0=$(cpu_ticks "$pid")
    local out; out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$url" 2>&1)
    local c1; c1=$(cpu_ticks "$pid")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
    local reqs; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    local rps; rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    local p99; p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
    awk -v r="$reqs" -v c=$((c1 - c0)) -v t="$tck" -v rps="$rps" -v p="$p99" \
        'BEGIN { printf "%.0f %.2f %.0f\n", rps, p, (c > 0 ? r / (c / t) : 0) }'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

configs=("metrics (default)" "--no-metrics" "--access-log")
for r in $(seq 1 "$ROUNDS"); do
    run_one a >"$TMP/r.0.$r"
    run_one b --no-metrics >"$TMP/r.1.$r"
    run_one c --access-log "$TMP/access.log" >"$TMP/r.2.$r"
    rm -f "$TMP/access.log"
done
echo "Machine: $(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| epoll with | requests/s | p99 ms | requests per server-CPU-second | vs --no-metrics |"
echo "|---|---:|---:|---:|---:|"
base=$(cat "$TMP"/r.1.* | awk '{print $3}' | median)
for i in 0 1 2; do
    rps=$(cat "$TMP"/r.$i.* | awk '{print $1}' | median)
    p99=$(cat "$TMP"/r.$i.* | awk '{print $2}' | median)
    eff=$(cat "$TMP"/r.$i.* | awk '{print $3}' | median)
    awk -v n="${configs[$i]}" -v r="$rps" -v p="$p99" -v e="$eff" -v b="$base" \
        'BEGIN { printf "| %s | %s | %s | %s | %.3fx |\n", n, r, p, e, (b > 0 ? e / b : 0) }'
done

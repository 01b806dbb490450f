#!/usr/bin/env bash
# srvlab load's own costs and accuracy (not a test; not run by CI). Prints markdown tables:
#  efficiency  nginx (1 worker) pinned to CPU 0; the loader pinned to CPU 1 with one thread and
#              $CONNS keep-alive connections, closed loop, for $DURATION: srvlab load vs wrk
#              (and ab -k / h2load when installed), interleaved, median of $ROUNDS. Ranking:
#              requests per second of loader CPU time (utime + stime from /proc/PID/stat,
#              read while the finished loader is a zombie). Target: srvlab >= 1.2x wrk.
#  accuracy    open loop at $RATE/s constant against srvlab serve --arch epoll (CPU 0), the
#              loader on CPU 1: achieved rate vs target (target: within 0.5%) and p99 send lag
#              (target < 100 us).
#  memory      peak RSS (VmHWM) of an open-loop run at $MEM_RATE/s for $MEM_DURATION
#              (target: < 50 MiB for 10 minutes at 20k/s: MEM_DURATION=10m).
# Usage: bench/load_vs_wrk.sh [--quick]   Env: PARTS ROUNDS DURATION CONNS RATE MEM_RATE
#        MEM_DURATION SRVLAB OUT (a file to append the tables to)
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-100}
RATE=${RATE:-10000}
MEM_RATE=${MEM_RATE:-20000}
MEM_DURATION=${MEM_DURATION:-60s}
PARTS=${PARTS:-"efficiency accuracy memory"}
OUT=${OUT:-}
if [ "${1:-}" = --quick ]; then ROUNDS=1; DURATION=2; MEM_DURATION=10s; fi
. bench/lib.sh
bench_init load

say() { echo "$*"; [ -n "$OUT" ] && echo "$*" >>"$OUT"; return 0; }
# start_peer: nginx, 1 worker, on CPU 0 on a free port; sets NGINX_PORT.
start_peer() {
    NGINX_PORT=$(free_port)
    start_nginx "$NGINX_PORT" 0 1
}

# run_pinned CMD...: runs CMD on CPU 1; sets CPU_S, its utime + stime in seconds, read from
# /proc/PID/stat after it exited and before it is reaped (waitid WNOWAIT keeps the zombie).
run_pinned() {
    CPU_FILE="$TMP/cpu" taskset -c 1 python3 -c '
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
os.waitpid(pid, 0)
open(os.environ["CPU_FILE"], "w").write("%.2f\n" % cpu)
' "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    CPU_S=$(cat "$TMP/cpu" 2>/dev/null || echo 0)
}

requests_of() { # TOOL: requests completed, from the tool's output
    case $1 in
    srvlab) python3 -c 'import json; print(json.load(open("'"$TMP"'/r.json"))["ok"])' ;;
    wrk) awk '/requests in/ {print $1}' "$TMP/out" ;;
    ab) awk '/^Complete requests:/ {c=$3} /^Failed requests:/ {f=$3} END {print c-f}' "$TMP/out" ;;
    h2load) awk '/^requests:/ {print $8}' "$TMP/out" ;;
    esac
}

run_tool() { # TOOL URL
    local url=$2
    case $1 in
    srvlab) run_pinned "$SRVLAB" load -t 1 -c "$CONNS" -d "${DURATION}s" --quiet --json "$TMP/r.json" "$url" ;;
    wrk) run_pinned wrk -t 1 -c "$CONNS" -d "${DURATION}s" "$url" ;;
    ab) run_pinned ab -k -q -c "$CONNS" -t "$DURATION" -n 100000000 "$url" ;;
    h2load) run_pinned h2load --h1 -t 1 -c "$CONNS" -D "$DURATION" "$url" ;;
    esac
}

efficiency() {
    start_peer || { say "efficiency: nginx did not start"; return; }
    local url="http://127.0.0.1:$NGINX_PORT/" tools="srvlab wrk"
    command -v ab >/dev/null && tools="$tools ab"
    command -v h2load >/dev/null && tools="$tools h2load"
    for r in $(seq 1 "$ROUNDS"); do
        for tool in $tools; do
            run_tool "$tool" "$url"
            local n; n=$(requests_of "$tool")
            echo "$tool $n $CPU_S" >>"$TMP/eff"
        done
    done
    say ""
    say "### srvlab load vs peers: nginx 1 worker on CPU 0, loader on CPU 1, -c $CONNS, ${DURATION}s, median of $ROUNDS"
    say ""
    say "| loader | req/s | loader CPU s | requests per CPU second | vs wrk |"
    say "|---|---:|---:|---:|---:|"
    local wrk_eff; wrk_eff=$(awk '$1=="wrk" && $3>0 {print $2/$3}' "$TMP/eff" | median)
    for tool in $tools; do
        local rps eff cpu
        rps=$(awk -v t="$tool" -v d="$DURATION" '$1==t {print $2/d}' "$TMP/eff" | median)
        cpu=$(awk -v t="$tool" '$1==t {print $3}' "$TMP/eff" | median)
        eff=$(awk -v t="$tool" '$1==t && $3>0 {print $2/$3}' "$TMP/eff" | median)
        say "$(printf '| %s | %.0f | %.2f | %.0f | %.2fx |' "$tool" "$rps" "$cpu" "$eff" \
            "$(awk -v a="$eff" -v b="${wrk_eff:-0}" 'BEGIN {print (b > 0 ? a / b : 0)}')")"
    done
}

accuracy() {
    local port; port=$(free_port)
    start_srvlab "$port" 0 --arch epoll || { say "accuracy: srvlab serve did not start"; return; }
    local url="http://127.0.0.1:$port/"
    say ""
    say "### open-loop accuracy: $RATE/s constant against srvlab serve (CPU 0), loader on CPU 1"
    say ""
    say "| round | achieved/s | off target | p99 send lag | p99 latency |"
    say "|---|---:|---:|---:|---:|"
    for r in $(seq 1 "$ROUNDS"); do
        run_pinned "$SRVLAB" load -R "$RATE" -c 100 -d "${DURATION}s" --warmup 1s --quiet \
            --json "$TMP/a.json" "$url"
        say "$(python3 - "$TMP/a.json" "$RATE" "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); rate = float(sys.argv[2])
a = d["achieved_rate_per_s"]
print("| %s | %.1f | %+.3f%% | %d us | %d us |" % (sys.argv[3], a, 100 * (a - rate) / rate,
      d["send_lag"]["percentiles"]["99"], d["latency"]["percentiles"]["99"]))
PY
)"
    done
}

memory() {
    [ -n "${NGINX_PORT:-}" ] || start_peer || { say "memory: nginx did not start"; return; }
    taskset -c 1 "$SRVLAB" load -R "$MEM_RATE" -c 200 -d "$MEM_DURATION" --quiet \
        "http://127.0.0.1:$NGINX_PORT/" >"$TMP/m.out" 2>&1 &
    local pid=$! hwm=0 h
    while kill -0 "$pid" 2>/dev/null; do
        h=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        [ -n "$h" ] && hwm=$h
        sleep 0.5
    done
    wait "$pid"
    say ""
    say "### memory: open loop at $MEM_RATE/s for $MEM_DURATION: peak RSS $((hwm / 1024)) MiB (${hwm} KiB)"
}

for part in $PARTS; do "$part"; done

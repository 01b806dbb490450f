#!/usr/bin/env bash
# What the benchmark scripts share: a scratch directory with a trap that stops every process they
# started (by PID), free ports, starting a pinned srvlab or nginx, a server's CPU time and RSS
# from /proc, one wrk measurement, medians. No benchmark of its own.
# Source it after `cd` to the repository root, then call bench_init NAME.

# bench_init NAME: makes $TMP (/tmp/srvlab-bench-NAME.XXXXXX), empties PIDS, sets HZ (clock
# ticks per second) and the trap that runs bench_cleanup on exit.
bench_init() {
    TMP=$(mktemp -d "/tmp/srvlab-bench-$1.XXXXXX")
    PIDS=()
    HZ=$(getconf CLK_TCK)
    trap bench_cleanup EXIT INT TERM
}

# bench_cleanup: TERM to every PID in PIDS (nginx takes its workers along), KILL what is left
# after 0.3 s, then removes $TMP.
bench_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}

# free_port: prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: waits up to 5 s until something accepts on 127.0.0.1:PORT.
wait_port() {
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# bench_start PORT CPUS CMD...: runs CMD in the background pinned to CPUS ("" = unpinned), its
# output discarded; sets PID, adds it to PIDS and waits for PORT (fails when it does not open).
bench_start() {
    local port=$1 cpus=$2 pin=()
    shift 2
    [ -n "$cpus" ] && pin=(taskset -c "$cpus")
    "${pin[@]}" "$@" >/dev/null 2>&1 </dev/null &
    PID=$!
    PIDS+=("$PID")
    wait_port "$port"
}

# start_srvlab PORT CPUS [serve options]: `srvlab serve -q` on PORT, as bench_start.
start_srvlab() {
    local port=$1 cpus=$2
    shift 2
    bench_start "$port" "$cpus" "$SRVLAB" serve -q --port "$port" "$@"
}

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
# start_nginx PORT CPUS WORKERS [sed options]: nginx from peers/nginx.conf (the substitution of
# tests/e2e/lib.sh start_nginx, plus the sed options) in $TMP/nginx.PORT, as bench_start. PID is
# the master's: the workers are its children.
start_nginx() {
    local port=$1 cpus=$2 workers=$3 dir="$TMP/nginx.$1"
    shift 3
    mkdir -p "$dir/logs"
    sed -e "s/@PORT@/$port/" -e "s/@WORKERS@/$workers/" -e "s#@DIR@#$dir#" "$@" \
        peers/nginx.conf >"$dir/nginx.conf"
    bench_start "$port" "$cpus" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
}

# stop PID: TERM, then waits for it.
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# family PID: PID and its children (nginx's workers, fork's children).
family() { echo "$1" $(ps -o pid= --ppid "$1"); }

# cpu_split PID: "user system" ticks (HZ a second) of PID and its children; /proc/PID/stat of
# a process already sums all its threads.
cpu_split() {
    local u=0 k=0 p f
    for p in $(family "$1"); do
        read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
        u=$((u + f[13])); k=$((k + f[14]))
    done
    echo "$u $k"
}

# cpu_ticks PID: utime+stime of PID and its children, in clock ticks.
cpu_ticks() {
    local u k
    read -r u k < <(cpu_split "$1")
    echo $((u + k))
}

# rss_kb PID: resident memory of PID and its children, KiB.
rss_kb() {
    local t=0 p
    for p in $(family "$1"); do
        t=$((t + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# median: the median of the numbers on stdin, one a line (0 when there are none).
median() { sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

# wrk_measure PID PORT WRK_CPUS [wrk options]: a 1 s warm-up, then wrk -t1 -c$CONNS
# -d$DURATION --latency on 127.0.0.1:PORT, pinned to WRK_CPUS ("" = unpinned), with the CPU
# time of the server PID (and its children) read around it. Prints "requests/s p99_ms
# requests-per-server-CPU-second user_us_per_request kernel_us_per_request" (the third is the
# ranking figure: it does not care whether another job shared the server's core; the last two
# split the server's CPU per request into its own code and the kernel's work).
wrk_measure() {
    local pid=$1 port=$2 wcpu=$3 pin=() url out u0 k0 u1 k1
    shift 3
    [ -n "$wcpu" ] && pin=(taskset -c "$wcpu")
    url="http://127.0.0.1:$port/"
    "${pin[@]}" wrk -t1 -c"$CONNS" -d1s "$@" "$url" >/dev/null # warm-up
    read -r u0 k0 < <(cpu_split "$pid")
    out=$("${pin[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
    read -r u1 k1 < <(cpu_split "$pid")
    # wrk writes latencies as 850.00us, 1.20ms or 2.00s; awk reads the number before the unit.
    awk -v u=$((u1 - u0)) -v k=$((k1 - k0)) -v hz="$HZ" '
        function ms(v) { return v ~ /us$/ ? v / 1000 : v ~ /ms$/ ? v + 0 : v ~ /s$/ ? v * 1000 : v + 0 }
        /requests in/ {r = $1}
        /^Requests\/sec/ {s = $2}
        $1 == "99%" {p = ms($2)}
        END {t = u + k
             printf "%s %.2f %.0f %.3f %.3f\n", (s == "" ? 0 : s), p, t ? r * hz / t : 0,
                    r ? u * 1e6 / hz / r : 0, r ? k * 1e6 / hz / r : 0}' <<<"$out"
}

# runs_table FILE TITLE PEER LABEL...: a markdown table of the medians per LABEL of FILE's lines
# "LABEL requests/s p99_ms requests-per-server-CPU-second", the last also as a ratio to PEER's.
runs_table() {
    local file=$1 title=$2 peer=$3 label peer_eff eff
    shift 3
    peer_eff=$(awk -v n="$peer" '$1 == n {print $4}' "$file" | median)
    echo "### $title"
    echo
    echo "| server | requests/s | p99 ms | requests per server CPU-second | vs $peer | user us/req | kernel us/req |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    # col N: the median of column N over LABEL's lines.
    col() { awk -v n="$label" -v c="$1" '$1 == n {print $c}' "$file" | median; }
    for label in "$@"; do
        grep -q "^$label " "$file" || continue
        eff=$(col 4)
        printf "| %s | %.0f | %s | %.0f | %s | %.2f | %.2f |\n" "$label" "$(col 2)" "$(col 3)" \
            "$eff" \
            "$(awk -v a="$eff" -v b="$peer_eff" 'BEGIN {print (b > 0 ? sprintf("%.2fx", a / b) : "-")}')" \
            "$(col 5)" "$(col 6)"
    done
    echo
}

# machine: "N CPUs, model, kernel K, load average A B C" for a table's preamble.
machine() {
    echo "$(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

#!/usr/bin/env bash
# Event-loop architectures (epoll, reactors, epoll+pool): a slow reader does not hold others up
# and loses no bytes, 10,000 concurrent keep-alive connections are all answered, io_us waits
# overlap while cpu_us blocks a single loop, and epoll+pool moves cpu_us work off the loop.
# The latency bounds are generous behaviour checks (blocked vs not blocked), not benchmarks.
. "$(dirname "$0")/lib.sh"

CLIENTS=tests/e2e/evclients.py
BIG=$((10 * 1024 * 1024))
mkdir -p "$E2E_TMP/www"
head -c $BIG /dev/zero | tr '\0' x >"$E2E_TMP/www/big.txt"

have_arch() { "$SRVLAB" serve --list-archs | grep -qx -- "$1"; }

# ms_of CMD...: wall time of CMD in milliseconds.
ms_of() {
    local t0; t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    echo $((($(date +%s%N) - t0) / 1000000))
}

# in_parallel N PATH: N connections send PATH at once (tests/e2e/concurrent.py); prints the ms
# from the first send to the last response, or 99999 unless all N were answered 200.
in_parallel() {
    local r; r=$(python3 tests/e2e/concurrent.py "$SRV_PORT" "$2" "$1" 20)
    if [ "${r% ms=*}" = "ok=$1 n=$1" ]; then echo "${r##*ms=}"; else echo 99999; fi
}

slow_reader() {
    local arch=$1
    start_srvlab "$arch" --root "$E2E_TMP/www" || { not_ok "$arch: start"; return; }
    local out; out=$(timeout 60 python3 "$CLIENTS" slow "$SRV_PORT" /static/big.txt $BIG --slow-s 3)
    echo "# $arch slow reader: $(grep 'probe ms' <<<"$out")"
    # Every probe must be quick; allow one scheduler hiccup on a busy machine.
    local late; late=$(grep 'probe ms' <<<"$out" | tr ' ' '\n' | awk '$1+0 >= 50' | wc -l)
    timing_check "$arch: others answered within 50 ms while a client reads 1 KiB/s" [ "$late" -le 1 ]
    check "$arch: the slow reader got all 10 MiB intact" grep -q 'slow body ok' <<<"$out"
    stop_pid "$SRV_PID" >/dev/null
}

ten_thousand() {
    local arch=$1
    start_srvlab "$arch" -q || { not_ok "$arch: start"; return; }
    local out; out=$(timeout 80 python3 "$CLIENTS" many "$SRV_PORT" --conns 10000 --sources 4)
    echo "# $arch: $(tr '\n' ' ' <<<"$out")"
    expect_eq "$arch: 10,000 keep-alive connections answered twice" 2 \
        "$(grep -c 'answered 10000/10000' <<<"$out")"
    check "$arch: still serving after 10,000 connections" \
        bash -c "curl -s -m 5 $SRV_URL/ | grep -q 'Hello, World!'"
    stop_pid "$SRV_PID" >/dev/null
}

cpu_blocks_loop() {
    start_srvlab epoll -q || { not_ok "epoll: start"; return; }
    local ms
    ms=$(in_parallel 8 "/work?io_us=20000")
    echo "# epoll: 8 concurrent io_us=20000 took $ms ms"
    timing_check "epoll: io_us waits overlap (8 x 20 ms in < 120 ms, serial 160)" [ "$ms" -lt 120 ]
    curl -s -m 10 -o /dev/null "$SRV_URL/work?cpu_us=400000" &
    local spin=$!
    sleep 0.1
    ms=$(ms_of curl -s -m 10 "$SRV_URL/")
    wait $spin
    echo "# epoll: GET / during a 400 ms cpu_us spin took $ms ms"
    timing_check "epoll: cpu_us blocks the loop (GET / waited for the spin)" [ "$ms" -ge 150 ]
    stop_pid "$SRV_PID" >/dev/null
}

pool_offloads_cpu() {
    have_arch epoll+pool || { skip "epoll+pool not built"; return; }
    start_srvlab epoll+pool --threads 2 -q || { not_ok "epoll+pool: start"; return; }
    curl -s -m 10 -o /dev/null "$SRV_URL/work?cpu_us=400000" &
    local spin=$!
    sleep 0.1
    local ms; ms=$(ms_of curl -s -m 10 "$SRV_URL/")
    wait $spin
    echo "# epoll+pool: GET / during a 400 ms cpu_us spin took $ms ms"
    timing_check "epoll+pool: the loop keeps serving during cpu_us work" [ "$ms" -lt 150 ]
    ms=$(in_parallel 2 "/work?cpu_us=300000")
    echo "# epoll+pool: 2 concurrent cpu_us=300000 on 2 workers took $ms ms"
    timing_check "epoll+pool: cpu_us work overlaps across workers (< 550 ms, serial 600)" [ "$ms" -lt 550 ]
    local body; body=$(curl -s -m 5 "$SRV_URL/work?cpu_us=1000&io_us=1000")
    expect_eq "epoll+pool: cpu then io answered" "cpu_us=1000 io_us=1000" "$body"
    stop_pid "$SRV_PID" >/dev/null
}

reactors_exclusive() {
    have_arch reactors || return
    start_srvlab reactors --listener exclusive --threads 2 -q ||
        { not_ok "reactors: start"; return; }
    local n
    n=$(for _ in $(seq 1 20); do curl -s -m 5 "$SRV_URL/"; echo; done | grep -c 'Hello, World!')
    expect_eq "reactors --listener exclusive: 20 requests answered" 20 "$n"
    stop_pid "$SRV_PID" >/dev/null
}

for arch in epoll reactors; do
    have_arch "$arch" || { skip "$arch not built"; continue; }
    slow_reader "$arch"
    ten_thousand "$arch"
done
cpu_blocks_loop
pool_offloads_cpu
reactors_exclusive
e2e_done

#!/usr/bin/env bash
# green's costs (not a test; not run by CI). Prints markdown tables:
#  switch      ns per context switch: hand-written (fib_ctx_switch) vs swapcontext(3), and a
#              fib_yield round through the scheduler with 2 and 1000 fibers, both backends
#              (bench/fiber_switch.c; best of $REPS runs). Target: a switch < 50 ns.
#  throughput  hello world, keep-alive, wrk -t1 -c$CONNS pinned to CPU 1, the server pinned to
#              CPU 0: green --threads 1 vs epoll, interleaved, median of $ROUNDS. Target >= 0.8x.
#  idle_rss    server RSS per idle keep-alive connection, green vs thread, $IDLE_CONNS each
#              ((RSS with N idle - RSS before) / N). Target for green <= 8 KiB.
# Usage: bench/fiber.sh [--quick]      Env: PARTS ROUNDS DURATION CONNS IDLE_CONNS REPS SRVLAB CC
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}
CC=${CC:-cc}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-100}
IDLE_CONNS=${IDLE_CONNS:-5000}
REPS=${REPS:-5}
PARTS=${PARTS:-"switch throughput idle_rss"}
if [ "${1:-}" = --quick ]; then ROUNDS=1; DURATION=2s; IDLE_CONNS=2000; REPS=2; fi
. bench/lib.sh
bench_init fiber

# ---- switch ----------------------------------------------------------------------------------
switch_part() {
    local v
    for v in asm ucontext; do
        local def=""; [ "$v" = ucontext ] && def=-DFIB_UCONTEXT
        $CC -std=c11 -D_GNU_SOURCE -O2 $def -Isrc -o "$TMP/switch-$v" bench/fiber_switch.c \
            src/fiber/*.c || { echo "# could not build the $v variant" >&2; return; }
        for _ in $(seq 1 "$REPS"); do "$TMP/switch-$v"; done
    done >"$TMP/switch"
    echo "### Context switch ($(uname -m), best of $REPS runs)"
    echo
    echo "| measurement | ns |"
    echo "|---|---:|"
    awk '{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2; if (!($1 in seen)) { seen[$1]; order[n++] = $1 } }
         END { for (i = 0; i < n; i++) printf "| %s | %.1f |\n", order[i], best[order[i]] }' "$TMP/switch"
    echo
}

# ---- throughput ------------------------------------------------------------------------------
# rate ARCH [options]: "requests/s p99_ms requests-per-server-CPU-second" of one pinned run.
rate() {
    local port
    port=$(free_port)
    start_srvlab "$port" 0 --arch "$@" || { echo "0 0 0"; return; }
    wrk_measure "$PID" "$port" 1
    stop "$PID"
}

throughput_part() {
    "$SRVLAB" serve --list-archs | grep -qx epoll || { echo "# epoll not built: skipped"; return; }
    : >"$TMP/epoll"; : >"$TMP/green"
    for _ in $(seq 1 "$ROUNDS"); do
        rate epoll >>"$TMP/epoll"
        rate green --threads 1 >>"$TMP/green"
    done
    local e g ec gc
    e=$(cut -d' ' -f1 "$TMP/epoll" | median); g=$(cut -d' ' -f1 "$TMP/green" | median)
    ec=$(cut -d' ' -f3 "$TMP/epoll" | median); gc=$(cut -d' ' -f3 "$TMP/green" | median)
    echo "### Hello world on one core (wrk -t1 -c$CONNS on CPU 1, server on CPU 0," \
        "median of $ROUNDS x $DURATION)"
    echo
    echo "| server | requests/s | vs epoll | requests per server-CPU-second | vs epoll |"
    echo "|---|---:|---:|---:|---:|"
    echo "| epoll | $e | 1.00 | $ec | 1.00 |"
    awk -v g="$g" -v e="$e" -v gc="$gc" -v ec="$ec" 'BEGIN {
        printf "| green --threads 1 | %s | %.2f | %s | %.2f |\n", g, (e > 0 ? g / e : 0), gc,
            (ec > 0 ? gc / ec : 0) }'
    echo
}

# ---- idle RSS --------------------------------------------------------------------------------
# idle_rss ARCH: bytes of server RSS per idle keep-alive connection (IDLE_CONNS of them).
idle_rss() {
    local port r0 r1 client go="$TMP/go.$1"
    port=$(free_port)
    start_srvlab "$port" "" --arch "$1" || { echo "? ?"; return; }
    r0=$(rss_kb "$PID")
    python3 tests/e2e/idleconns.py "$port" "$IDLE_CONNS" --go-file "$go" --timeout 120 \
        >"$TMP/idle.$1" 2>&1 &
    client=$!
    for _ in $(seq 1 1200); do grep -q '^ready' "$TMP/idle.$1" && break; sleep 0.1; done
    r1=$(rss_kb "$PID")
    touch "$go"
    wait "$client"
    stop "$PID"
    echo "$(( (r1 - r0) * 1024 / IDLE_CONNS )) $(grep -c "^again ok=$IDLE_CONNS " "$TMP/idle.$1")"
}

idle_rss_part() {
    echo "### Server RSS per idle keep-alive connection ($IDLE_CONNS connections, each answered once before and once after)"
    echo
    echo "| arch | bytes per idle connection | all answered again |"
    echo "|---|---:|---|"
    local a r
    for a in green thread; do
        read -r -a r < <(idle_rss "$a")
        echo "| $a | ${r[0]} | $([ "${r[1]}" = 1 ] && echo yes || echo no) |"
    done
    echo
}

for part in $PARTS; do "${part}_part"; done

#!/usr/bin/env bash
# srvlab load against srvlab serve: request counts match the server's own counter (GET /metrics),
# closed and open loop, keep-alive or not, POST bodies, and a stalled server (--stall) whose
# stall shows in open-loop percentiles but hides from closed-loop ones (coordinated omission).
. "$(dirname "$0")/lib.sh"

GUARD=30
served_2xx() { # the server's count of 2xx answers so far (this query not included)
    curl -s "$SRV_URL/metrics" | sed -nE 's/^srvlab_requests_total\{class="2xx"\} ([0-9]+)$/\1/p'
}

if ! "$SRVLAB" serve --help >/dev/null 2>&1; then
    skip "srvlab serve is not built"
    e2e_done
fi
need_srvlab epoll

counted() { # NAME N ARGS...: the server answered exactly N more requests, all counted ok
    local name=$1 want=$2; shift 2
    local before after; before=$(served_2xx)
    load_quiet --json "$E2E_TMP/c.json" "$@"
    after=$(served_2xx)
    expect_eq "$name: server answered $want, srvlab counted $want ok" "0 $want $want" \
        "$RC $((after - before - 1)) $(json "$E2E_TMP/c.json" 'd["ok"]')"
}
counted "closed loop" 2000 -c 8 -n 2000 "$SRV_URL/"
counted "closed loop, think time" 40 -c 4 -n 40 --think 5ms "$SRV_URL/"
counted "open loop poisson" 500 -R 2000 -c 16 -n 500 --arrival poisson "$SRV_URL/"
counted "no keep-alive" 300 -c 4 -n 300 --no-keepalive "$SRV_URL/"
counted "pipelined, 2 threads" 1000 -c 4 -t 2 -n 1000 --pipeline 4 "$SRV_URL/"

printf 'x%.0s' $(seq 1 3000) >"$E2E_TMP/body"
load_quiet --json "$E2E_TMP/p.json" -X POST --body "$E2E_TMP/body" -c 2 -n 50 "$SRV_URL/echo"
expect_eq "POST /echo with --body: 50 ok, 3000-byte bodies read back" "0 50 True" \
    "$RC $(json "$E2E_TMP/p.json" 'd["ok"]') $(json "$E2E_TMP/p.json" 'd["bytes_read"] >= 50 * 3000')"

head -c 3000000 /dev/zero >"$E2E_TMP/big"
load_quiet --json "$E2E_TMP/big.json" -X POST --body "$E2E_TMP/big" -c 2 -n 10 "$SRV_URL/echo"
expect_eq "a body over the server's limit: the early 413 answers count as http_4xx" "10 10" \
    "$(json "$E2E_TMP/big.json" 'd["responses"]') $(json "$E2E_TMP/big.json" 'd["errors"]["http_4xx"]')"

load_quiet --json "$E2E_TMP/w.json" -c 2 -n 20 "$SRV_URL/work?cpu_us=2000"
expect_eq "service time is seen: /work?cpu_us=2000 takes at least 2 ms" "True" \
    "$(json "$E2E_TMP/w.json" 'd["latency"]["min_us"] >= 2000')"

load_quiet -c 2 -n 100 --slo 'p50<1us' "$SRV_URL/work?cpu_us=1000" # 100: a correlated (sanitized) run still has a p50
expect_eq "--slo violated by a 1 ms service time: exit 1" 1 "$RC"

# Self-check: at 2000/s with one connection and a 2 ms service time, requests wait for the
# connection and the rate falls short; the summary and JSON say why. At 100/s all is well.
load_quiet --json "$E2E_TMP/short.json" -R 2000 -c 1 -d 1s --timeout 1s "$SRV_URL/work?cpu_us=2000"
expect_eq "self-check: rate short because requests waited for connections" \
    "True connections True True" \
    "$(json "$E2E_TMP/short.json" 'd["self_check"]["rate_short"]') $(json "$E2E_TMP/short.json" 'd["self_check"]["rate_short_cause"]') $(json "$E2E_TMP/short.json" 'd["waited"] > 0') $(grep -q 'WARNING: sent .* requests waited' "$E2E_TMP/out" && echo True)"
load_quiet --json "$E2E_TMP/fine.json" -R 100 -c 4 -d 1s "$SRV_URL/"
expect_eq "self-check: 100/s is kept" "False 0" \
    "$(json "$E2E_TMP/fine.json" 'd["self_check"]["rate_short"]') $(grep -c 'WARNING: sent' "$E2E_TMP/out")"

stop_pid "$SRV_PID" >/dev/null

# Idle keep-alive connections closed by the server (20 ms) between open-loop sends (100 ms
# apart) are noticed and replaced, not counted as errors.
if start_srvlab epoll --idle-timeout 20ms; then
    load_quiet --json "$E2E_TMP/idle.json" -R 10 -c 4 -n 10 "$SRV_URL/"
    expect_eq "server closes idle connections: 10 ok, no errors, new connections opened" \
        "0 10 0 True" "$RC $(json "$E2E_TMP/idle.json" 'd["ok"]') $(json "$E2E_TMP/idle.json" 'd["errors"]["total"]') $(json "$E2E_TMP/idle.json" 'd["connects"] >= 5')"
    stop_pid "$SRV_PID" >/dev/null
else
    not_ok "srvlab serve --idle-timeout starts"
fi

# The stall: 300 ms every second. Open loop at 400/s sees it (theory: p90 = 300ms * (1 - 0.1/0.3)
# = 200ms, p99 = 290ms); a closed loop with 4 connections sends almost nothing during the stall,
# so its p90 stays far below it.
if ! start_srvlab epoll --stall 300ms/1s; then
    not_ok "srvlab serve --stall starts"
    e2e_done
fi
load_quiet --json "$E2E_TMP/open.json" -R 400 -c 50 -d 3s "$SRV_URL/"
load_quiet --json "$E2E_TMP/closed.json" -c 4 -d 3s "$SRV_URL/"
open_p90=$(json "$E2E_TMP/open.json" 'd["latency"]["percentiles"]["90"]')
closed_p90=$(json "$E2E_TMP/closed.json" 'd["latency"]["percentiles"]["90"]')
timing_check "stall shows in open-loop p90 ($open_p90 us >= 100 ms)" test "${open_p90:-0}" -ge 100000
timing_check "stall hides from closed-loop p90 ($closed_p90 us < 50 ms)" test "${closed_p90:-999999999}" -lt 50000
expect_eq "open loop against a stall: no errors, nothing lost" "0 True" \
    "$(json "$E2E_TMP/open.json" 'd["errors"]["total"]') $(json "$E2E_TMP/open.json" 'd["requests"] >= 1190')"
e2e_done

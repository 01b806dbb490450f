#!/usr/bin/env bash
# srvlab load --server-metrics: /metrics of srvlab serve scraped before and after the run; the
# summary and JSON decompose the mean latency into RTT + queueing delay + service time +
# remainder, with the server's p99s to bucket resolution.
. "$(dirname "$0")/lib.sh"

GUARD=30

need_srvlab epoll

# One connection, 2 ms of CPU per request: no queueing to speak of, service about 2 ms.
load_quiet --server-metrics "$SRV_URL/metrics" --json "$E2E_TMP/s.json" -c 1 -n 200 \
    "$SRV_URL/work?cpu_us=2000"
J=$E2E_TMP/s.json
expect_eq "closed loop: exit 0, the server answered exactly the 200 requests sent" "0 200" \
    "$RC $(json "$J" 'd["server"]["requests"]')"
check "service time mean is the 2 ms of CPU, or a little more ($(json "$J" 'round(d["server"]["service"]["mean_us"])') us)" \
    test "$(json "$J" '2000 <= d["server"]["service"]["mean_us"] <= 4000')" = True
expect_eq "service p99 to bucket resolution: a (lo, hi] bucket holding 2 ms or more" "True" \
    "$(json "$J" 'd["server"]["p99_resolution"] == "bucket" and d["server"]["service"]["p99_lo_us"] < d["server"]["service"]["p99_hi_us"] and d["server"]["service"]["p99_hi_us"] >= 2000')"
check "one connection: queueing delay well under the service time ($(json "$J" 'round(d["server"]["queueing"]["mean_us"])') us)" \
    test "$(json "$J" 'd["server"]["queueing"]["mean_us"] < 0.5 * d["server"]["service"]["mean_us"]')" = True
expect_eq "the parts add up: rtt + queueing + service + remainder = latency mean" "True" \
    "$(json "$J" '(lambda s: abs(s["rtt"]["mean_us"] + s["queueing"]["mean_us"] + s["service"]["mean_us"] + s["remainder_us"] - s["latency_mean_us"]) < 1 and s["rtt"]["count"] == 1 and s["rtt"]["mean_us"] > 0)(d["server"])')"
check "the summary shows the decomposition" \
    grep -qE '^    \+ service +[0-9.]+ms +p99 in \(' "$E2E_TMP/out"

# Open loop at 60% of capacity: queueing appears (M/D/1-like), still accounted for.
load_quiet --server-metrics "$SRV_URL/metrics" --json "$J" -R 300 --arrival poisson -d 2s \
    "$SRV_URL/work?cpu_us=2000"
expect_eq "open loop: server requests equal the loader's responses" \
    "$(json "$J" 'd["responses"]')" "$(json "$J" 'd["server"]["requests"]')"
check "open loop: queueing delay is measured ($(json "$J" 'round(d["server"]["queueing"]["mean_us"])') us > 0)" \
    test "$(json "$J" 'd["server"]["queueing"]["mean_us"] > 0')" = True

load_quiet --server-metrics "http://127.0.0.1:$(free_port)/metrics" -c 1 -n 5 "$SRV_URL/"
check "an unreachable metrics URL: exit 1 and a message" \
    sh -c "[ $RC -eq 1 ] && grep -q -- '--server-metrics' '$E2E_TMP/err'"
load_quiet --server-metrics "not a url" -c 1 -n 5 "$SRV_URL/"
expect_eq "a malformed metrics URL: usage error" 2 "$RC"

e2e_done

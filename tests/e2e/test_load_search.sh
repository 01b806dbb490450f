#!/usr/bin/env bash
# srvlab load --search: the highest open-loop rate that meets an SLO. srvlab serve --arch epoll
# with /work?cpu_us=1000 serves one request per ms of CPU on one thread: a capacity of about
# 1000/s. The search must find it within 10% (one retry: the machine is shared).
. "$(dirname "$0")/lib.sh"

GUARD=45

need_srvlab epoll

for attempt in 1 2; do
    load_quiet --search 'p99<50ms' -R 250 -d 2s --search-max 40s --json "$E2E_TMP/s.json" \
        "$SRV_URL/work?cpu_us=1000"
    cap=$(json "$E2E_TMP/s.json" 'd["capacity_per_s"]')
    [ "$RC" = 0 ] && [ "$(json "$E2E_TMP/s.json" '900 <= d["capacity_per_s"] <= 1100')" = True ] && break
done
sed 's/^/# /' "$E2E_TMP/out"
expect_eq "search: exit 0, capacity within 10% of 1000/s (found $cap/s)" "0 True" \
    "$RC $(json "$E2E_TMP/s.json" '900 <= d["capacity_per_s"] <= 1100')"
expect_eq "search: the answer is bracketed to 2% by a met and a violated step" "True" \
    "$(json "$E2E_TMP/s.json" 'd["violated_per_s"] - d["met_per_s"] <= 0.02 * d["met_per_s"] and any(s["outcome"] == "met" and s["rate_per_s"] == d["met_per_s"] for s in d["steps"]) and any(s["outcome"] == "violated" and s["rate_per_s"] == d["violated_per_s"] for s in d["steps"])')"
check "search: the table of steps and the answer are printed" \
    grep -qE '^  capacity: [0-9.]+ req/s meets the SLO; [0-9.]+ req/s does not' "$E2E_TMP/out"
expect_eq "search: doubling from the start rate first (250, 500, 1000)" "250 500 1000" \
    "$(json "$E2E_TMP/s.json" '" ".join(str(int(s["rate_per_s"])) for s in d["steps"][:3])')"

load_quiet --search 'p99<10ms' --slo 'p99<1ms' "$SRV_URL/"
expect_eq "--search with --slo: usage error" 2 "$RC"

e2e_done

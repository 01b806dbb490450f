#!/usr/bin/env bash
# Distributed load (docs/load.md, "Load from several machines"): two loaders in two network
# namespaces, each with its share of the rate and the same --start-at, against one srvlab serve
# in a third namespace; srvlab merge of their JSON equals the union: request counts exactly
# (against the server's own counter), percentiles within histogram precision (against the raw
# samples of both). The namespaces, veth pairs and 10.213.0.0/29 addresses exist only inside
# what this test creates, and are deleted at the end. Skipped where namespaces cannot be made.
. "$(dirname "$0")/lib.sh"

GUARD=30
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
T=$E2E_TMP
NS=srvlab-e2e-$$
S=$NS-srv A=$NS-a B=$NS-b

netns_cleanup() { for n in "$S" "$A" "$B"; do ip netns del "$n" 2>/dev/null; done; }
trap 'e2e_cleanup; netns_cleanup' EXIT INT TERM

if ! ip netns add "$S" 2>/dev/null; then
    skip "distributed load: cannot create network namespaces here (ip netns add failed; needs root or CAP_SYS_ADMIN)"
    e2e_done
fi
# Each veth pair is created with its ends directly inside the test's namespaces.
if ! { ip netns add "$A" && ip netns add "$B" &&
       ip link add va netns "$A" type veth peer name sa netns "$S" &&
       ip link add vb netns "$B" type veth peer name sb netns "$S" &&
       ip -n "$A" addr add 10.213.0.1/30 dev va && ip -n "$S" addr add 10.213.0.2/30 dev sa &&
       ip -n "$B" addr add 10.213.0.5/30 dev vb && ip -n "$S" addr add 10.213.0.6/30 dev sb &&
       ip -n "$S" link set lo up && ip -n "$A" link set lo up && ip -n "$B" link set lo up &&
       ip -n "$A" link set va up && ip -n "$S" link set sa up &&
       ip -n "$B" link set vb up && ip -n "$S" link set sb up; } 2>"$T/ip.err"; then
    skip "distributed load: cannot set up veth pairs between namespaces ($(head -c 200 "$T/ip.err"))"
    e2e_done
fi

PORT=18080
ip netns exec "$S" "$SRVLAB" serve --arch epoll --bind 0.0.0.0 --port "$PORT" \
    >"$T/serve.out" 2>"$T/serve.err" &
E2E_PIDS+=("$!")
in_a() { ip netns exec "$A" "$@"; }
for _ in $(seq 1 100); do
    in_a bash -c "exec 3<>/dev/tcp/10.213.0.2/$PORT" 2>/dev/null && break
    sleep 0.05
done
served_2xx() {
    in_a curl -s "http://10.213.0.2:$PORT/metrics" |
        sed -nE 's/^srvlab_requests_total\{class="2xx"\} ([0-9]+)$/\1/p'
}
before=$(served_2xx)
if [ -z "$before" ]; then
    not_ok "distributed load: srvlab serve answers across the namespaces"
    e2e_done
fi

START=$(( $(date +%s) + 2 ))
timeout -s KILL "$GUARD" ip netns exec "$A" "$SRVLAB" load -q -R 300 -c 8 -d 2s \
    --start-at "$START" --json "$T/a.json" --raw "$T/a.raw" "http://10.213.0.2:$PORT/" \
    >/dev/null 2>"$T/a.err" &
LA=$!
timeout -s KILL "$GUARD" ip netns exec "$B" "$SRVLAB" load -q -R 200 --arrival poisson -c 8 \
    -d 2s --start-at "$START" --json "$T/b.json" --raw "$T/b.raw" "http://10.213.0.6:$PORT/" \
    >/dev/null 2>"$T/b.err"
RB=$?
wait "$LA"
RA=$?
served=$(( $(served_2xx) - before - 1 )) # the first /metrics query counts too
expect_eq "two loaders in two namespaces: both exit 0" "0 0" "$RA $RB"
expect_eq "--start-at: both runs started at the same wall-clock second" "$START $START" \
    "$(json "$T/a.json" 'round(d["start_unix_s"])') $(json "$T/b.json" 'round(d["start_unix_s"])')"

timeout 10 "$SRVLAB" merge -q -o "$T/m.json" "$T/a.json" "$T/b.json" >"$T/merge.out" 2>&1
expect_eq "merge: exit 0" 0 "$?"
expect_eq "merged responses equal what the server counted (exactly)" "$served" \
    "$(json "$T/m.json" 'd["responses"]')"
expect_eq "merged requests are the sum of both loaders'" \
    "$(( $(json "$T/a.json" 'd["requests"]') + $(json "$T/b.json" 'd["requests"]') ))" \
    "$(json "$T/m.json" 'd["requests"]')"
expect_eq "merged percentiles equal the union's raw samples' within histogram precision" "True" \
    "$(python3 - "$T" <<'PY'
import csv, json, math, sys
t = sys.argv[1]
m = json.load(open(f"{t}/m.json"))
lat = sorted(int(r["done_us"]) - int(r["intended_us"])
             for f in ("a", "b") for r in csv.DictReader(open(f"{t}/{f}.raw"))
             if r["status"] == "200")
ok = len(lat) == m["latency"]["count"]
for p in ("50", "90", "99"):
    exact = lat[max(0, math.ceil(float(p) / 100 * len(lat)) - 1)]
    got = m["latency"]["percentiles"][p]
    ok &= abs(got - exact) <= 0.01 * exact + 2
print(ok)
PY
)"

e2e_done

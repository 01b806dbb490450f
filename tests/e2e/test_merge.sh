#!/usr/bin/env bash
# srvlab merge and srvlab compare on real `srvlab load --json` results against one `srvlab serve`:
# merged counts add up exactly (and match the server's own counter), the merged verdict and SLO
# exit statuses; compare says "no significant difference" for two runs of one configuration and
# "slower" (exit 1) when the service time is 20% higher.
#
# Runs that are compared are made at the same time, against /work?io_us= (a wait, not CPU), so
# that both see the same machine: on a shared 2-core box, CPU-bound runs made one after the other
# differ by much more than 20% from one minute to the next.
. "$(dirname "$0")/lib.sh"

GUARD=30
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
load() { timeout -s KILL "$GUARD" "$SRVLAB" load --quiet "$@" >/dev/null 2>>"$E2E_TMP/load.err"; }
served_2xx() {
    curl -s "$SRV_URL/metrics" | sed -nE 's/^srvlab_requests_total\{class="2xx"\} ([0-9]+)$/\1/p'
}
T=$E2E_TMP

if ! start_srvlab pool; then
    not_ok "srvlab serve --arch pool starts"
    e2e_done
fi

# ---- merge: two open-loop loaders at once --------------------------------------------------
before=$(served_2xx)
load -R 300 -c 8 -d 2s --arrival poisson --json "$T/o1.json" "$SRV_URL/" &
L1=$!
load -R 200 -c 8 -d 2s --json "$T/o2.json" "$SRV_URL/"
wait "$L1"
served=$(( $(served_2xx) - before - 1 )) # the first /metrics query counts too
timeout 10 "$SRVLAB" merge -o "$T/om.json" "$T/o1.json" "$T/o2.json" >"$T/merge.out" 2>&1
expect_eq "merge: exit 0 without an SLO" 0 "$?"
sum() { echo $(( $(json "$T/o1.json" "$1") + $(json "$T/o2.json" "$1") )); }
expect_eq "merge: requests add up exactly" "$(sum 'd["requests"]')" "$(json "$T/om.json" 'd["requests"]')"
expect_eq "merge: latency samples add up exactly" "$(sum 'd["latency"]["histogram"]["count"]')" \
    "$(json "$T/om.json" 'd["latency"]["histogram"]["count"]')"
expect_eq "merge: sends and responses add up exactly" "$(sum 'd["sent"]') $(sum 'd["responses"]')" \
    "$(json "$T/om.json" 'd["sent"], d["responses"]' | tr -d '(),')"
expect_eq "merge: responses equal what the server counted" "$served" \
    "$(json "$T/om.json" 'd["responses"]')"
expect_eq "merge: target rates add" "500.0" "$(json "$T/om.json" 'float(d["target_rate_per_s"])')"
expect_eq "merge: a merged percentile lies between the inputs'" "True" "$(python3 - "$T" <<'PY'
import json, sys
a, b, m = (json.load(open(f"{sys.argv[1]}/{n}.json")) for n in ("o1", "o2", "om"))
ok = True
for p in ("50", "90", "99"):
    lo, hi = sorted((a["latency"]["percentiles"][p], b["latency"]["percentiles"][p]))
    ok &= lo <= m["latency"]["percentiles"][p] <= hi
print(ok)
PY
)"
V='d["verdict"]'
expect_eq "merge: the verdict is recomputed (level, checks, intervals)" "True" \
    "$(json "$T/om.json" "$V['level'] in ('VALID', 'INCONCLUSIVE', 'INVALID') and \
        'rate' in $V['checks'] and len($V['percentiles']) == 6")"
check "merge: the summary shows the verdict and percentile intervals" \
    grep -q "percentiles with 95% confidence intervals" "$T/merge.out"
timeout 10 "$SRVLAB" merge -o "$T/omm.json" "$T/om.json" "$T/o1.json" >/dev/null 2>&1
twice=$(( $(json "$T/om.json" 'd["requests"]') + $(json "$T/o1.json" 'd["requests"]') ))
expect_eq "merge: a merged result merges again" "$twice" "$(json "$T/omm.json" 'd["requests"]')"

# ---- merge --slo on closed-loop runs (no generator checks: VALID unless errors) ------------
load -c 2 -d 1s --json "$T/c1.json" "$SRV_URL/" &
L1=$!
load -c 2 -d 1s --json "$T/c2.json" "$SRV_URL/"
wait "$L1"
merge_rc() { timeout 10 "$SRVLAB" merge -q "$@" "$T/c1.json" "$T/c2.json" >/dev/null 2>&1; echo $?; }
expect_eq "merge --slo met: exit 0" 0 "$(merge_rc --slo 'p50<10s,errors<50%')"
expect_eq "merge --slo violated: exit 1" 1 "$(merge_rc --slo 'p50<10s,max<1us')"
expect_eq "merge --slo on p99.999 of too few samples: inconclusive, exit 3" 3 \
    "$(merge_rc --slo 'p99.999<10s')"
timeout 10 "$SRVLAB" merge "$T/c1.json" "$T/o1.json" >"$T/mixed.out" 2>&1
expect_eq "merge: closed and open loop results refuse to add (exit 1)" 1 "$?"
timeout 10 "$SRVLAB" merge "$T/c1.json" >/dev/null 2>&1
expect_eq "merge: one file is a usage error" 2 "$?"
echo '{"not": "a result"}' >"$T/bad.json"
timeout 10 "$SRVLAB" merge "$T/c1.json" "$T/bad.json" >/dev/null 2>&1
expect_eq "merge: a file that is not srvlab load JSON fails (exit 1)" 1 "$?"

# ---- compare ------------------------------------------------------------------------------
# pair A_US B_US: two closed-loop runs made at the same time, one connection each.
pair() {
    load -c 1 -d 2500ms --json "$T/a.json" "$SRV_URL/work?io_us=$1" &
    local l=$!
    load -c 1 -d 2500ms --json "$T/b.json" "$SRV_URL/work?io_us=$2"
    wait "$l"
}
compare() { timeout 10 "$SRVLAB" compare "$@" >"$T/cmp.out" 2>&1; echo $?; }

# A 95% interval misses 5% of the time by design; one more pair before calling it a failure.
for attempt in 1 2; do
    pair 1000 1000
    rc=$(compare "$T/a.json" "$T/b.json")
    [ "$rc" = 0 ] && grep -q "verdict: no significant difference" "$T/cmp.out" && break
    echo "# attempt $attempt:"; sed 's/^/# /' "$T/cmp.out"
done
expect_eq "compare: same configuration, no significant difference (exit 0)" \
    "0 verdict: no significant difference" "$rc $(grep -o 'verdict: no significant difference' "$T/cmp.out")"

for attempt in 1 2; do
    pair 1000 1200
    rc=$(compare "$T/a.json" "$T/b.json")
    [ "$rc" = 1 ] && break
    echo "# attempt $attempt:"; sed 's/^/# /' "$T/cmp.out"
done
expect_eq "compare: 20% more service time is slower (exit 1)" "1 verdict: B is slower" \
    "$rc $(grep -o 'verdict: B is slower' "$T/cmp.out")"
check "compare: the p50 difference is about +200us" python3 - "$T/a.json" "$T/b.json" <<'PY'
import json, sys
a, b = (json.load(open(f))["latency"]["percentiles"]["50"] for f in sys.argv[1:])
sys.exit(0 if 120 <= b - a <= 280 else 1)
PY
expect_eq "compare: the other way round, B is faster (exit 0)" "0" "$(compare "$T/b.json" "$T/a.json")"
check "compare: ... and says so" grep -q "verdict: B is faster" "$T/cmp.out"
timeout 10 "$SRVLAB" compare --json "$T/a.json" "$T/b.json" >"$T/cmp.json" 2>/dev/null
expect_eq "compare --json: verdict, exit status and the p50 interval" "slower 1 True" \
    "$(json "$T/cmp.json" 'd["verdict"], d["exit_status"], d["metrics"]["p50"]["lo_us"] > 0' | tr -d "(),'")"
expect_eq "compare: --threshold 50% hides a 20% change" 0 \
    "$(compare --threshold 50% "$T/a.json" "$T/b.json")"

# An INVALID run (the generator fell far behind its target) cannot be compared: exit 3.
python3 - "$T/b.json" "$T/inv.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.update(mode="open", target_rate_per_s=1e6, achieved_rate_per_s=d["throughput_per_s"])
json.dump(d, open(sys.argv[2], "w"))
PY
expect_eq "compare: an INVALID run makes it inconclusive (exit 3)" 3 "$(compare "$T/a.json" "$T/inv.json")"
check "compare: ... and says why" grep -q "a run is INVALID" "$T/cmp.out"
expect_eq "compare: one file is a usage error (exit 2)" 2 "$(compare "$T/a.json")"
expect_eq "compare: an unreadable file (exit 2)" 2 "$(compare "$T/a.json" "$T/nonexistent.json")"
expect_eq "compare: bad --threshold (exit 2)" 2 "$(compare --threshold lots "$T/a.json" "$T/b.json")"

e2e_done

#!/usr/bin/env bash
# srvlab load --ramp: the rate (open loop) or the connections (closed loop) rise linearly first;
# the ramp is excluded from the results and shown in the per-second CSV (phase "ramp").
. "$(dirname "$0")/lib.sh"

GUARD=30
# row N FIELD: a field of the per-second CSV's row for second N.
row() { awk -F, -v n="$1" -v f="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
    NR > 1 && $1 == n { print $col[f] }' "$E2E_TMP/r.csv"; }
within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

need_srvlab epoll

# Open loop, 400/s after a 2 s ramp: 100 sends in the first second, 300 in the second.
load_quiet --json "$E2E_TMP/r.json" --csv "$E2E_TMP/r.csv" -R 400 --ramp 2s -d 1s "$SRV_URL/"
expect_eq "open-loop ramp: exit 0, rows 0 and 1 are ramp, row 2 measured" "0 ramp ramp measured" \
    "$RC $(row 0 phase) $(row 1 phase) $(row 2 phase)"
check "open-loop ramp: about 100 sends in second 0 ($(row 0 sent)) and 300 in second 1 ($(row 1 sent))" \
    sh -c "$(declare -f within); within $(row 0 sent) 85 115 && within $(row 1 sent) 280 320"
check "open-loop ramp: excluded from the results (400 measured requests: $(json "$E2E_TMP/r.json" 'd["requests"]'))" \
    within "$(json "$E2E_TMP/r.json" 'd["requests"]')" 398 402
expect_eq "open-loop ramp: JSON ramp_s and the rows' phase" "2 ramp" \
    "$(json "$E2E_TMP/r.json" 'd["ramp_s"], d["seconds"][0]["phase"]' | tr -d "(),'")"

# Closed loop, 10 connections each doing about 100 requests/s (10 ms sleeps), joining evenly
# over 2 s: about 3 connection-seconds of work in second 0, 8 in second 1, 10 after.
load_quiet --json "$E2E_TMP/r.json" --csv "$E2E_TMP/r.csv" -c 10 --ramp 2s -d 1s "$SRV_URL/work?io_us=10000"
check "closed-loop ramp: connections rise (second 0: $(row 0 completed), 1: $(row 1 completed), 2: $(row 2 completed))" \
    sh -c "$(declare -f within); within $(row 0 completed) 220 330 && within $(row 1 completed) 650 880 && within $(row 2 completed) 850 1050"
check "closed-loop ramp: excluded from the results ($(json "$E2E_TMP/r.json" 'd["requests"]') requests)" \
    within "$(json "$E2E_TMP/r.json" 'd["requests"]')" 850 1050

load_quiet -n 3 --interval 10ms --ramp 1s "$SRV_URL/"
expect_eq "--ramp with --interval: usage error" 2 "$RC"

e2e_done

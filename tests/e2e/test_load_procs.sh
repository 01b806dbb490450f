#!/usr/bin/env bash
# srvlab load --procs: a run split over processes adds up to exactly one run's worth. Request
# counts match the server's own counter, an open-loop rate is met, the JSON's merged histograms
# hold every request, --slo exit codes, SIGINT and a dead child, and more connections than one
# process may open (ulimit -n 512) all used once spread over --procs 4.
. "$(dirname "$0")/lib.sh"

GUARD=20
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
load() {
    timeout -s KILL "$GUARD" "$SRVLAB" load --quiet "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    RC=$?
}
served_2xx() { # the server's count of 2xx answers so far (this query not included)
    curl -s "$SRV_URL/metrics" | sed -nE 's/^srvlab_requests_total\{class="2xx"\} ([0-9]+)$/\1/p'
}

if ! start_srvlab epoll; then
    not_ok "srvlab serve --arch epoll starts"
    e2e_done
fi

# ---- Counts: -n split over processes (and uneven thread shares) is exactly -n ------------
counted() { # NAME N ARGS...: the server answered exactly N more, srvlab counted N ok
    local name=$1 want=$2; shift 2
    local before after; before=$(served_2xx)
    load --json "$E2E_TMP/c.json" "$@"
    after=$(served_2xx)
    expect_eq "$name: server answered $want, srvlab counted $want ok" "0 $want $want" \
        "$RC $((after - before - 1)) $(json "$E2E_TMP/c.json" 'd["ok"]')"
}
counted "--procs 3, closed loop" 3000 --procs 3 -c 30 -n 3000 "$SRV_URL/"
counted "--procs 3 -t 5 (threads 2+2+1), open loop" 1001 --procs 3 -t 5 -c 31 -R 4000 -n 1001 \
    "$SRV_URL/"
expect_eq "JSON says 3 processes, 5 threads" "3 5" \
    "$(json "$E2E_TMP/c.json" 'd["procs"], d["threads"]' | tr -d '(),')"
grep -q "5 threads in 3 processes" "$E2E_TMP/out" && ok "the summary names the processes" ||
    not_ok "the summary names the processes ($(grep mode "$E2E_TMP/out"))"

# ---- Merged histograms and per-second rows hold every request ---------------------------
load --procs 3 -c 12 -n 2400 --json "$E2E_TMP/m.json" --csv "$E2E_TMP/m.csv" "$SRV_URL/"
expect_eq "merged latency, service and queue histograms count all 2400 (buckets too)" \
    "2400 2400 2400 2400 2400" "$(json "$E2E_TMP/m.json" '" ".join(str(x) for x in (
        d["requests"], d["latency"]["count"], d["service"]["histogram"]["count"],
        d["queue"]["count"], sum(c for _, c in d["latency"]["histogram"]["buckets"])))')"
expect_eq "per-second rows add up to 2400 completed" 2400 \
    "$(awk -F, 'NR > 1 { n += $3 } END { print n }' "$E2E_TMP/m.csv")"
expect_eq "all 12 connections used" 12 "$(json "$E2E_TMP/m.json" 'd["connections_used_max"]')"
"$SRVLAB" merge --json "$E2E_TMP/mm.json" "$E2E_TMP/m.json" "$E2E_TMP/m.json" >/dev/null 2>&1
expect_eq "srvlab merge of two such runs: 4800 requests, 24 connections at most" "4800 24" \
    "$(json "$E2E_TMP/mm.json" 'str(d["requests"]) + " " + str(d["connections_used_max"])')"

# ---- Open loop: the processes' schedules add up to the rate -----------------------------
load --procs 2 -R 2000 -c 40 -d 2s --json "$E2E_TMP/r.json" "$SRV_URL/"
rate=$(json "$E2E_TMP/r.json" 'd["achieved_rate_per_s"]')
sent=$(json "$E2E_TMP/r.json" 'd["sent"]')
timing_check "--procs 2 -R 2000 for 2 s: sent $sent, achieved $rate/s (within 2%)" \
    python3 -c "import sys; sys.exit(not (abs($rate - 2000) < 40 and abs($sent - 4000) <= 80))"

# ---- --slo: the verdict of the whole run decides the exit status --------------------------
load --procs 2 -c 8 -n 2000 --slo 'errors<1%' "$SRV_URL/"
expect_eq "--slo met over --procs 2 exits 0" 0 "$RC"
load --procs 2 -c 8 -n 2000 --slo 'p50<1us' "$SRV_URL/"
expect_eq "--slo violated over --procs 2 exits 1" 1 "$RC"

# ---- More connections than one process may open -------------------------------------------
(ulimit -n 512; load -c 1500 -d 1s "$SRV_URL/"; echo "$RC" >"$E2E_TMP/rc1")
if [ "$(cat "$E2E_TMP/rc1")" = 1 ] && grep -q "use --procs 4" "$E2E_TMP/err"; then
    ok "-c 1500 under ulimit -n 512 stops before starting and suggests --procs 4"
else
    not_ok "-c 1500 under ulimit -n 512 suggests --procs 4 (rc $(cat "$E2E_TMP/rc1"): $(cat "$E2E_TMP/err"))"
fi
(ulimit -n 512; load --procs 4 -c 1500 -d 1s --json "$E2E_TMP/u.json" "$SRV_URL/"
 echo "$RC" >"$E2E_TMP/rc2")
expect_eq "--procs 4 -c 1500 under ulimit -n 512: exit 0, 1500 connections used, 0 errors" \
    "0 1500 0" "$(cat "$E2E_TMP/rc2") $(json "$E2E_TMP/u.json" \
    'str(d["connections_used_max"]) + " " + str(sum(d["errors"].values()))')"

# ---- SIGINT stops every process and still reports; a dead child fails the run -------------
"$SRVLAB" load --quiet --procs 3 -c 9 -d 15s "$SRV_URL/" >"$E2E_TMP/int" 2>&1 &
lp=$!
sleep 1
kids=$(pgrep -P "$lp" | wc -l)
kill -INT "$lp"
for _ in $(seq 1 60); do kill -0 "$lp" 2>/dev/null || break; sleep 0.05; done
wait "$lp"; rc=$?
expect_eq "SIGINT: 3 children, exit 0, an interrupted summary" "3 0 1" \
    "$kids $rc $(grep -c 'interrupted' "$E2E_TMP/int")"

"$SRVLAB" load --quiet --procs 3 -c 9 -d 15s "$SRV_URL/" >"$E2E_TMP/kill" 2>&1 &
lp=$!
sleep 1
kill -KILL "$(pgrep -P "$lp" | tail -1)"
for _ in $(seq 1 60); do kill -0 "$lp" 2>/dev/null || break; sleep 0.05; done
wait "$lp"; rc=$?
if [ "$rc" = 1 ] && grep -q "process [0-2] of 3 (pid [0-9]*) was killed by signal 9" "$E2E_TMP/kill"
then ok "a child killed mid-run fails the run (exit 1) and says which"
else not_ok "a child killed mid-run fails the run (rc $rc: $(head -c 300 "$E2E_TMP/kill"))"; fi

# ---- Bad input ----------------------------------------------------------------------------
for args in "--procs 0" "--procs 300" "--procs 2 --raw $E2E_TMP/raw" "--procs 4 -c 3"; do
    # shellcheck disable=SC2086
    timeout -s KILL 5 "$SRVLAB" load $args "$SRV_URL/" >/dev/null 2>"$E2E_TMP/bad"
    rc=$?
    expect_eq "bad input '$args' exits 2 with one line" "2 1" "$rc $(wc -l <"$E2E_TMP/bad")"
done

e2e_done

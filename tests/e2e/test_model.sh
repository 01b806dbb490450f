#!/usr/bin/env bash
# `srvlab model`: textbook numbers through the CLI, units on every input, formats, help, and
# bad input (one line on stderr, exit 2). No server needed.
. "$(dirname "$0")/lib.sh"

# run_model ARGS...: sets OUT, ERR, RC.
run_model() {
    OUT=$("$SRVLAB" model "$@" 2>"$E2E_TMP/err"); RC=$?
    ERR=$(cat "$E2E_TMP/err")
}

# ---- textbook values ----
run_model mm1 --service 200us --load 4000/s
expect_eq "mm1 rho=0.8 exits 0" 0 "$RC"
check "mm1 utilization 80%" grep -q '^utilization  *80.0%' <<<"$OUT"
check "mm1 mean response 1/(mu-lambda) = 1.00ms" \
    grep -Eq '^response +1\.00ms +693us +2\.30ms +4\.61ms' <<<"$OUT"
check "mm1 mean in system 4 (Little)" grep -Eq '^in system \(mean\) +4 ' <<<"$OUT"

run_model mm1 --service 10ms --load 10/s
check "course notes: capacity 100/s, load 10/s -> 11.1ms" grep -Eq '^response +11\.1ms' <<<"$OUT"
run_model mm1 --service 10ms --load 99/s
check "course notes: capacity 100/s, load 99/s -> 1.00s" grep -Eq '^response +1\.00s' <<<"$OUT"

run_model mmc --servers 2 --service 1s --load 1/s --format json
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$OUT"; }
wp=$(py 'round(d["wait_prob"], 6)')
expect_eq "mmc c=2 A=1: Erlang C = 1/3" "0.333333" "$wp"
run_model mmc --servers 1000 --service 1s --load 990/s --format json
wp=$(py '0 < d["wait_prob"] < 1 and d["response_us"]["p99"] > 1e6')
expect_eq "mmc c=1000 at 99% is finite" "True" "$wp"
run_model mmc --servers 4 --service 1ms --load 3000/s --over 2ms
check "mmc prints P(wait > 2.00ms)" grep -Eq '^P\(wait > 2\.00ms\) +6\.9%' <<<"$OUT"
check "mmc shows separate queues for comparison" grep -q 'separate M/M/1 queues' <<<"$OUT"

run_model mg1 --service-mean 200us --service-cv 0.5 --load 4000/s --format json
mean=$(py 'round(d["wait_us"]["mean"], 6), d["approximate"]')
expect_eq "mg1 P-K mean wait 500us, percentiles flagged approximate" "500.0 True" "$mean"
run_model mgc --servers 4 --service-mean 4ms --service-cv 1 --load 750/s --format csv
mgc_row=$(tail -1 <<<"$OUT")
run_model mmc --servers 4 --service 4ms --load 750/s --format csv
expect_eq "mgc with cv=1 prints M/M/c's numbers" "${OUT##*M/M/c,}" "${mgc_row#M/G/c,}"
run_model mgc --servers 2 --service-mean 1s --service-cv 0.5 --load 1/s --format json
# Erlang C(2, 1) = 1/3, M/M/2 mean wait 1/3 s, Allen-Cunneen x (1 + 0.25) / 2 = 208.333 ms.
mean=$(py 'round(d["wait_prob"], 6), round(d["wait_us"]["mean"], 3), d["approximate_mean"]')
expect_eq "mgc c=2 A=1 cv=0.5: mean wait 208.333ms, flagged approximate" \
    "0.333333 208333.333 True" "$mean"
run_model mgc --servers 4 --service 4.3ms --service-cv 0.85 --load 750/s
check "mgc text says Allen-Cunneen approximation" grep -q 'Allen-Cunneen approximation' <<<"$OUT"
run_model md1 --service 200us --load 4000/s --format csv
check "md1 csv mean wait 400us" grep -q '^M/D/1,1,200,4000,0.8,0.8,2.4,600,' <<<"$OUT"

run_model capacity --service 200us --servers 2
check "capacity 2 / 200us = 10.0k/s" grep -q '^capacity 10.0k/s' <<<"$OUT"

run_model poisson --rate 3/min --interval 1min --k 5 --wait 30s
check "poisson P(5 in a minute at 3/min) = 10.1%" grep -Eq '^P\(exactly 5\) +10\.1%' <<<"$OUT"
check "poisson P(next within 30s) = 77.7%" \
    grep -Eq '^P\(next arrival within 30\.0s\) +77\.7%' <<<"$OUT"

# ---- curve ----
run_model curve --service 200us --format csv
expect_eq "curve csv header" "utilization,load_per_s,mean_us,p50_us,p90_us,p99_us,p999_us" \
    "$(head -1 <<<"$OUT")"
expect_eq "curve 10%..95% step 5% has 18 rows" 18 "$(tail -n +2 <<<"$OUT" | wc -l)"
check "curve row at 50% has mean 400us" grep -q '^0.5,2500,400,' <<<"$OUT"
run_model curve --service 1ms --servers 4 --from 50% --to 90% --step 20% --rtt 100us --format json
n=$(py 'd["model"], len(d["points"]), d["rtt_us"]')
expect_eq "curve json: M/M/c, 3 points, rtt" "M/M/c 3 100" "$n"
run_model curve --service 4.3ms --servers 4 --model mgc --service-cv 0.85 --from 80% --to 90% \
    --step 10% --format json
n=$(py 'd["model"], d["servers"], d["service_cv"], d["approximate"], len(d["points"])')
expect_eq "curve --model mgc: M/G/c, 4 servers, cv, approximate, 2 points" \
    "M/G/c 4 0.85 True 2" "$n"
run_model curve --service 200us --step 10%
check "curve text ends at 90%" grep -Eq '^ +90\.0% +4\.50k/s +2\.00ms' <<<"$OUT"

# ---- fit (a hand-made result in the `srvlab load --json` schema of docs/load.md) ----
cat >"$E2E_TMP/low.json" <<'JSON'
{"srvlab_load": 1, "mode": "open", "achieved_rate_per_s": 500, "throughput_per_s": 500,
 "service": {"count": 5000, "min_us": 60, "mean_us": 300, "stddev_us": 250, "max_us": 4000,
             "percentiles": {"50": 240, "90": 590, "99": 1250}},
 "connect": {"count": 5000, "min_us": 40, "mean_us": 100, "stddev_us": 150, "max_us": 900,
             "percentiles": {"50": 80, "90": 150, "99": 600}}}
JSON
run_model fit "$E2E_TMP/low.json" --rtt-from mean --format json --from 50% --to 50%
f=$(py 'd["fit"]["rtt_us"], round(d["fit"]["service_mean_us"], 3), round(d["fit"]["service_cv"], 6),
        round(d["points"][0]["mean_us"], 3)')
# Round trip 100us; response 300 - 100 = 200us; cv sqrt(250^2 - 150^2) / 200 = 1; the run's own
# M/M/1 queueing at 500/s taken off: 200 / (1 + 500 x 200us) = 181.818us; at 50%: 2 S + 100us.
expect_eq "fit: round trip, cv, service time and curve from a load result" \
    "100 181.818 1 463.636" "$f"
run_model fit "$E2E_TMP/low.json" --format json
expect_eq "fit takes the connect minimum by default" 40 "$(py 'd["fit"]["rtt_us"]')"
run_model fit "$E2E_TMP/low.json" --rtt-from p50 --format json
expect_eq "fit --rtt-from p50" 80 "$(py 'd["fit"]["rtt_us"]')"
echo '{"service": {}}' >"$E2E_TMP/bad.json"
run_model fit "$E2E_TMP/bad.json"
expect_eq "fit on a file without statistics exits 1" 1 "$RC"
run_model fit "$E2E_TMP/missing.json"
expect_eq "fit on a missing file exits 1" 1 "$RC"

# ---- help ----
for sub in "" capacity mm1 mmc mg1 mgc md1 poisson curve fit; do
    run_model $sub --help
    if [ "$RC" -eq 0 ] && grep -q '^Usage: srvlab model' <<<"$OUT" && [ -z "$ERR" ]; then
        ok "help ${sub:-model}: stdout, exit 0"
    else
        not_ok "help ${sub:-model}: rc=$RC"
    fi
done
run_model curve --help
check "curve help states defaults" grep -q 'default 10%' <<<"$OUT"

# ---- bad input: one line on stderr, exit 2 ----
bad() {
    local name=$1; shift
    run_model "$@"
    local lines; lines=$(grep -c . <<<"$ERR")
    if [ "$RC" -eq 2 ] && [ "$lines" -eq 1 ] && [ -z "$OUT" ] &&
        grep -q "see 'srvlab model --help'" <<<"$ERR"; then
        ok "bad input: $name"
    else
        not_ok "bad input: $name (rc=$RC, stderr: $ERR)"
    fi
}
bad "load at capacity" mm1 --service 200us --load 5000/s
bad "load above capacity" mmc --servers 2 --service 1ms --load 3000/s
bad "zero service time" mm1 --service 0us --load 10/s
bad "negative service time" mm1 --service -1ms --load 10/s
bad "service without unit" mm1 --service 200 --load 10/s
bad "load without unit" mm1 --service 200us --load 4000
bad "servers 0" mmc --servers 0 --service 1ms --load 10/s
bad "missing --load" mm1 --service 200us
bad "mgc servers 0" mgc --servers 0 --service 1ms --load 10/s
bad "mgc load above capacity" mgc --servers 4 --service 4ms --service-cv 0.8 --load 1000/s
bad "mgc negative cv" mgc --servers 4 --service 4ms --service-cv -0.5 --load 100/s
bad "curve --service-cv with mmc" curve --service 1ms --servers 4 --model mmc --service-cv 0.5
bad "option of another command" mm1 --service 200us --load 10/s --servers 2
bad "negative cv" mg1 --service 200us --service-cv -1 --load 10/s
bad "curve to 100%" curve --service 200us --to 100%
bad "curve servers without mmc" curve --service 200us --servers 2 --model mm1
bad "bad format" curve --service 200us --format xml
bad "poisson zero interval" poisson --rate 3/min --interval 0s
bad "unknown subcommand" mm3 --service 1ms
bad "fit without file" fit
run_model
expect_eq "no subcommand exits 2" 2 "$RC"

e2e_done

#!/usr/bin/env bash
# Checks `srvlab model` against srvlab's own server: Poisson open-loop load at several
# utilizations against M/M/1 and M/M/c configurations, and a table of predicted vs measured
# mean, p50, p90 and p99 with 95% confidence intervals. See docs/queueing.md.
#
#   mm1    serve --arch epoll,              keep-alive,           /work?cpu_us=MEAN&dist=exp
#   mm1io  serve --arch pool --threads 1,   a connection/request, /work?io_us=MEAN&dist=exp
#   mmc    serve --arch pool --threads C,   a connection/request, /work?io_us=MEAN&dist=exp
#   poolka serve --arch pool --threads C,   keep-alive (NOT M/M/c: a worker holds a connection)
#
# Service time: a closed loop saturates the servers first; max capacity = servers / service
# time (course notes) gives the service time with every per-request overhead included. The
# connects' minimum gives the round trip. (The full run also prints `srvlab model fit` on a
# 5%-load run beside it.) The loads are fractions of that capacity; the prediction is
# `srvlab model curve` plus the round trip. Measured latency runs from each request's actual
# send ("service" in `srvlab load`); the loader's own send lag has its own column, and so has
# the CPU that other processes took meanwhile (share of all CPUs), since a shared machine
# slows a spinning server down.
# Confidence intervals: 10 batches in send order, mean +- t(9) sd / sqrt(10).
#
# Usage: bench/validate-queueing.sh [options]
#   --models LIST     mm1, mm1io, mmc, poolka, comma-separated (default mm1,mmc)
#   --utils "LIST"    utilizations (default "0.3 0.5 0.7 0.8 0.9")
#   --duration S      seconds per utilization (default 15), after a 2 s warm-up
#   --mean-us N       mean service time for mm1 (default 1000) and mm1io/mmc (default 4000)
#   --servers N       servers for mmc (default 4)
#   --markdown FILE   also write the tables to FILE
#   --quick           mm1 at 30% for 8 s (the `make test` version): exit 0 when the measured
#                     mean is within --tolerance percent (default 15) of the prediction, 1 when
#                     not, 3 (inconclusive) when the loader could not keep its schedule or
#                     other processes took over 25% of the CPUs
# Loopback only; every process started here is stopped by PID on exit.
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}

models="mm1,mmc"; utils="0.3 0.5 0.7 0.8 0.9"; duration=15; warmup=2; cal_duration=4
mean_us=1000; io_mean_us=4000; servers=4; markdown=""; quick=0; tolerance=15
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1; models="mm1"; utils="0.3"; duration=8; warmup=1; cal_duration=3 ;;
        --models) models=$2; shift ;;
        --utils) utils=$2; shift ;;
        --duration) duration=${2%s}; shift ;;
        --mean-us) mean_us=$2; io_mean_us=$2; shift ;;
        --servers) servers=$2; shift ;;
        --tolerance) tolerance=$2; shift ;;
        --markdown) markdown=$2; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "validate-queueing: unknown option '$1'; see --help" >&2; exit 2 ;;
    esac
    shift
done

TMP=$(mktemp -d /tmp/srvlab-validate.XXXXXX)
SRV_PID=""
stop_server() {
    [ -n "$SRV_PID" ] || return 0
    kill -TERM "$SRV_PID" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=""
}
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

# On two or more CPUs the server gets the last one and the loader the first, so that a
# spinning server does not take the loader's CPU (and the reverse). No priority games: with
# sched_autogroup (Linux's default for sessions) nice ranks processes only within one session,
# and other sessions' work shows in the others' CPU column instead.
SRV_CPU=""; LOAD_CPU=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SRV_CPU="taskset -c $(($(nproc) - 1))"; LOAD_CPU="taskset -c 0"
fi

# start_server SERVE_OPTIONS...: sets SRV_PID and URL_BASE.
start_server() {
    local pf="$TMP/port"; rm -f "$pf"
    $SRV_CPU "$SRVLAB" serve --port 0 --port-file "$pf" -q "$@" >"$TMP/serve.log" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
    if [ ! -s "$pf" ]; then
        echo "validate-queueing: server did not start" >&2; cat "$TMP/serve.log" >&2; exit 1
    fi
    URL_BASE="http://127.0.0.1:$(cat "$pf")"
}

# CPU seconds: all CPUs busy (steal included), the server, and this shell's finished children.
busy_s() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat; }
server_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$SRV_PID/stat"; }
children_s() { times | awk 'NR==2{gsub(/[ms]/," "); print $1*60+$2+$3*60+$4}'; }

# watched CMD...: runs CMD and sets OTHERS_CPU, the share of all CPUs that processes other than
# this server and CMD used meanwhile (percent), and MAX_OTHERS_CPU, the largest so far.
MAX_OTHERS_CPU=0
watched() {
    local b0 s0 c0 t0 rc; b0=$(busy_s); s0=$(server_s); c0=$(children_s); t0=$(date +%s.%N)
    "$@"
    rc=$?
    OTHERS_CPU=$(awk -v b="$(busy_s)" -v b0="$b0" -v s="$(server_s)" -v s0="$s0" \
        -v c="$(children_s)" -v c0="$c0" -v t="$(date +%s.%N)" -v t0="$t0" -v n="$(nproc)" \
        'BEGIN { o = ((b - b0) - (s - s0) - (c - c0)) / ((t - t0) * n) * 100;
                 printf "%.0f", o < 0 ? 0 : o }')
    [ "$OTHERS_CPU" -gt "$MAX_OTHERS_CPU" ] && MAX_OTHERS_CPU=$OTHERS_CPU
    return $rc
}

# run_load RATE DURATION_S WARMUP_S URL JSON RAW [load options...]
run_load() {
    local rate=$1 dur=$2 wu=$3 url=$4 json=$5 raw=$6; shift 6
    watched $LOAD_CPU "$SRVLAB" load -R "$rate" --arrival poisson -c 256 -d "${dur}s" \
        --warmup "${wu}s" -q --json "$json" --raw "$raw" "$@" "$url" >"$TMP/load.out" 2>&1
}

# json_get FILE EXPR: prints EXPR, Python over the document d.
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# calibrate URL SERVERS LOAD_OPTS...: prints "service_us rtt_us fit_service_us fit_cv
# others_cpu_percent" (the last for the saturation run).
calibrate() {
    local url=$1 nservers=$2; shift 2
    watched $LOAD_CPU "$SRVLAB" load -c $((4 * nservers)) -d "${cal_duration}s" -q \
        --json "$TMP/cap.json" "$@" "$url" >"$TMP/load.out" 2>&1 || {
        echo "validate-queueing: saturation run failed:" >&2; cat "$TMP/load.out" >&2; return 1; }
    local fit="nan nan" cal_others=$OTHERS_CPU
    if [ "$quick" -eq 0 ]; then
        local rate; rate=$(json_get "$TMP/cap.json" 'round(d["throughput_per_s"] * 0.05, 2)')
        # No warm-up: connects during it would not count, and fit needs their round trip.
        if run_load "$rate" "$cal_duration" 0 "$url" "$TMP/cal.json" "$TMP/cal.raw" "$@" &&
            "$SRVLAB" model fit "$TMP/cal.json" --model mm1 --from 50% --to 50% --format json \
                >"$TMP/fit.json" 2>/dev/null; then
            fit=$(json_get "$TMP/fit.json" 'd["fit"]["service_mean_us"], d["fit"]["service_cv"]')
        fi
    fi
    echo "$(json_get "$TMP/cap.json" \
        "$nservers * 1e6 / d['throughput_per_s'], d['connect']['min_us']") $fit $cal_others"
}

# stats RAW WARMUP_S: "n errors lag_mean mean h p50 h p90 h p99 h", times in microseconds, over
# the requests due after the warm-up (h: 95% CI half-width by batch means; errors excluded).
stats() {
    python3 - "$1" "$2" <<'PY'
import math, sys
raw, warmup_us = sys.argv[1], float(sys.argv[2]) * 1e6
rows, errors = [], 0
with open(raw) as f:
    next(f)
    for line in f:
        _, intended, sent, done, status, err = line.rstrip("\n").split(",")
        if float(intended) < warmup_us:
            continue
        if err or int(sent) < 0:
            errors += 1
            continue
        rows.append((int(intended), int(done) - int(sent), int(sent) - int(intended)))
if len(rows) < 20:
    print(len(rows), errors, *(["nan"] * 9))
    sys.exit(0)
rows.sort()
def summary(v):
    v = sorted(v)
    q = lambda p: v[max(0, math.ceil(p * len(v)) - 1)]
    return [sum(v) / len(v), q(0.5), q(0.9), q(0.99)]
lat = [r[1] for r in rows]
overall, nb = summary(lat), 10
batches = [summary(lat[i * len(lat) // nb:(i + 1) * len(lat) // nb]) for i in range(nb)]
out = [str(len(rows)), str(errors), f"{sum(r[2] for r in rows) / len(rows):.1f}"]
for k in range(4):
    xs = [b[k] for b in batches]
    m = sum(xs) / nb
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (nb - 1))
    out += [f"{overall[k]:.1f}", f"{2.262 * sd / math.sqrt(nb):.1f}"]
print(*out)
PY
}

# cell PRED MEAS HALF: "pred / meas ±half (err%)" in ms; a * when the prediction is outside
# the interval. After a "|": the signed error in percent.
cell() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys
p, m, h = map(float, sys.argv[1:])
err = (m - p) / p * 100
star = "" if abs(m - p) <= h else "*"
print(f"{p/1e3:.3g} / {m/1e3:.3g} ±{h/1e3:.2g} ({err:+.0f}%{star})|{err:.1f}")
PY
}

OUT="$TMP/table.md"
STATUS=0

# row U CAP SVC_US RTT_US MODEL_ARGS URL LOAD_OPTS...: one utilization, one table row.
row() {
    local u=$1 cap=$2 svc_us=$3 rtt_us=$4 model_args=$5 url=$6; shift 6
    local rate; rate=$(python3 -c "print(round($u * $cap, 1))")
    if ! run_load "$rate" "$duration" "$warmup" "$url" "$TMP/r.json" "$TMP/r.raw" "$@"; then
        echo "| $u | $rate | load failed: $(tail -1 "$TMP/load.out") |" | tee -a "$OUT"
        STATUS=1; return
    fi
    # shellcheck disable=SC2086
    "$SRVLAB" model curve $model_args --service "${svc_us}us" --rtt "${rtt_us}us" \
        --from "$u" --to "$u" --format csv >"$TMP/pred.csv" || { STATUS=1; return; }
    local p_mean p_p50 p_p90 p_p99 n errs lag m_mean h_mean m_p50 h_p50 m_p90 h_p90 m_p99 h_p99
    IFS=, read -r _ _ p_mean p_p50 p_p90 p_p99 _ < <(tail -1 "$TMP/pred.csv")
    read -r n errs lag m_mean h_mean m_p50 h_p50 m_p90 h_p90 m_p99 h_p99 \
        < <(stats "$TMP/r.raw" "$warmup")
    [ "$errs" -gt 0 ] && n="$n ($errs failed)"
    if [ "$lag" = nan ]; then
        echo "| $u | $rate | $n | too few responses | | | | | $OTHERS_CPU% |" | tee -a "$OUT"
        STATUS=1; return
    fi
    local c_mean c_p50 c_p90 c_p99
    c_mean=$(cell "$p_mean" "$m_mean" "$h_mean"); c_p50=$(cell "$p_p50" "$m_p50" "$h_p50")
    c_p90=$(cell "$p_p90" "$m_p90" "$h_p90"); c_p99=$(cell "$p_p99" "$m_p99" "$h_p99")
    printf '| %s | %s | %s | %s | %s | %s | %s | %.0f us | %s%% |\n' "$u" "$rate" "$n" \
        "${c_mean%|*}" "${c_p50%|*}" "${c_p90%|*}" "${c_p99%|*}" "$lag" "$OTHERS_CPU" |
        tee -a "$OUT"
    [ "$quick" -eq 1 ] && quick_verdict "${c_mean#*|}"
}

# quick_verdict ERR_PERCENT: sets STATUS for --quick; 3 (inconclusive) when the loader lagged
# or other processes took more than OTHERS_MAX percent of the CPUs, since a model of this
# server says nothing about a server that waits for the CPU.
OTHERS_MAX=25
quick_verdict() {
    if json_get "$TMP/r.json" 'd["self_check"]["ok"]' | grep -q False; then
        echo "inconclusive: the loader could not keep its schedule" \
            "($(json_get "$TMP/r.json" '"; ".join(d["self_check"]["warnings"])'))"
        STATUS=3
    elif [ "$MAX_OTHERS_CPU" -gt "$OTHERS_MAX" ]; then
        echo "inconclusive: other processes used up to ${MAX_OTHERS_CPU}% of the CPUs" \
            "(limit ${OTHERS_MAX}%); measured mean ${1}% off the prediction"
        STATUS=3
    elif python3 -c "import sys; sys.exit(0 if abs($1) <= $tolerance else 1)"; then
        echo "ok: measured mean within ${tolerance}% of the prediction (${1}%)"
    else
        echo "FAILED: measured mean ${1}% off the prediction (tolerance ${tolerance}%)"
        STATUS=1
    fi
}

# run_config TITLE MODEL_ARGS URL SERVERS NOMINAL_US LOAD_OPTS...: calibrate, then one row per
# utilization.
run_config() {
    local title=$1 model_args=$2 url=$3 nservers=$4 nominal_us=$5; shift 5
    calibrate "$url" "$nservers" "$@" >"$TMP/cal.txt" || exit 1
    local svc_us rtt_us fit_us fit_cv cal_others
    read -r svc_us rtt_us fit_us fit_cv cal_others <"$TMP/cal.txt"
    local cap; cap=$(python3 -c "print($nservers / ($svc_us / 1e6))")
    {
        printf '\n### %s\n\n' "$title"
        printf 'Saturated (others'"'"' CPU %s%%): capacity %.0f/s, so service time %.0f us ' \
            "$cal_others" "$cap" "$svc_us"
        printf '(nominal %s us); ' "$nominal_us"
        printf 'round trip %.0f us (connect minimum).' "$rtt_us"
        [ "$fit_us" != nan ] &&
            printf ' `srvlab model fit` at 5%% load: %.0f us, cv %.2f.' "$fit_us" "$fit_cv"
        printf '\nCells: predicted / measured ±95%% CI in ms (error); * = prediction outside '
        printf 'the CI. Load average %s.\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
        echo "| util | rate/s | requests | mean | p50 | p90 | p99 | send lag | others' CPU |"
        echo "|---|---|---|---|---|---|---|---|---|"
    } | tee -a "$OUT"
    for u in $utils; do
        row "$u" "$cap" "$svc_us" "$rtt_us" "$model_args" "$url" "$@"
    done
}

IFS=, read -ra model_list <<<"$models"
for m in "${model_list[@]}"; do
    case $m in
    mm1)
        start_server --arch epoll
        run_config "M/M/1: serve --arch epoll, keep-alive, /work?cpu_us=$mean_us&dist=exp" \
            "--model mm1" "$URL_BASE/work?cpu_us=$mean_us&dist=exp" 1 "$mean_us" ;;
    mm1io)
        start_server --arch pool --threads 1
        run_config "M/M/1 without CPU: serve --arch pool --threads 1, a connection per request, /work?io_us=$io_mean_us&dist=exp" \
            "--model mm1" "$URL_BASE/work?io_us=$io_mean_us&dist=exp" 1 "$io_mean_us" \
            --no-keepalive ;;
    poolka)
        start_server --arch pool --threads "$servers"
        run_config "NOT M/M/c (the lesson): serve --arch pool --threads $servers with keep-alive, /work?io_us=$io_mean_us&dist=exp" \
            "--model mmc --servers $servers" "$URL_BASE/work?io_us=$io_mean_us&dist=exp" \
            "$servers" "$io_mean_us" ;;
    mmc)
        start_server --arch pool --threads "$servers"
        run_config "M/M/c, c = $servers: serve --arch pool --threads $servers, a connection per request, /work?io_us=$io_mean_us&dist=exp" \
            "--model mmc --servers $servers" "$URL_BASE/work?io_us=$io_mean_us&dist=exp" \
            "$servers" "$io_mean_us" --no-keepalive ;;
    *) echo "validate-queueing: unknown model '$m' (mm1, mm1io, mmc or poolka)" >&2; exit 2 ;;
    esac
    stop_server
done

[ -n "$markdown" ] && cp "$OUT" "$markdown"
exit $STATUS

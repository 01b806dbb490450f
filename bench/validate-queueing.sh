#!/usr/bin/env bash
# Checks `srvlab model` against srvlab's own server: Poisson open-loop load at several
# utilizations against M/M/1 and M/M/c configurations, and a table of predicted vs measured
# mean, p50, p90 and p99 with 95% confidence intervals. See docs/queueing.md.
#
#   mm1    serve --arch epoll,              keep-alive,           /work?cpu_us=MEAN&dist=exp
#          (predicted as M/G/1 with the measured cv: the handler's own ~30 us are a constant
#          part, so the service is a shifted exponential; M/M/1 in the second columns)
#   mm1io  serve --arch pool --threads 1,   a connection/request, /work?io_us=MEAN&dist=exp
#   mmc    serve --arch pool --threads C,   a connection/request, /work?io_us=MEAN&dist=exp
#   poolka serve --arch pool --threads C,   keep-alive (NOT M/M/c: a worker holds a connection)
#
# The model's inputs are measured independently of the run they predict:
# - service time: the SERVER's own measurement during each run's measured window (after the
#   warm-up). Its /metrics, read when the warm-up ends and when the run ends, gives the mean
#   service time per request (handler start to the response handed to the kernel; the sums
#   and counts `srvlab load --server-metrics` reads) and the mean queueing delay; the server's
#   --access-log gives each request's handler time, whose standard deviation over that mean is
#   the cv. The server is restarted for each run so that its access log holds that run alone
#   (it flushes on exit); the requests completed during the warm-up are skipped.
# - round trip: everything the loader measures outside the server's service time, from a
#   low-rate run against `/` (hello world) on the same server with the same connection mode:
#   its median latency minus the server's own mean service time for it (network, both kernels,
#   the loader, and the server's wake-up from idle). The median: one stall in a 3-s run moves
#   the mean by a few hundred microseconds.
# - utilization: the rate actually sent (measured window) x the measured mean service time /
#   servers; the prediction is `srvlab model curve` at that utilization plus the round trip.
# The rates are set from a calibration: a closed loop saturates the servers for 4 s, and the
# server's mean service time meanwhile sets rate = utilization x servers / service time. Its
# capacity (max capacity = servers / service time, course notes) and `srvlab model fit` on a
# 5%-load run are printed for information. `--quick` skips the calibration and sets the rate
# from the nominal service time.
# Measured latency runs from each request's actual send ("service" in `srvlab load`); the
# loader's own send lag has its own column, and so has the CPU that other processes took
# meanwhile (share of all CPUs), since a shared machine slows a spinning server down.
# Confidence intervals: 10 batches in send order, mean +- t(9) sd / sqrt(10).
#
# Usage: bench/validate-queueing.sh [options]
#   --models LIST     mm1, mm1io, mmc, poolka, comma-separated (default mm1,mmc)
#   --utils "LIST"    utilizations (default "0.3 0.5 0.7 0.8 0.9")
#   --duration S      seconds per utilization, after a 2 s warm-up (default 15 below 0.7, 30
#                     from 0.7 and 60 from 0.8: the mean of an M/M/1 run of T service times
#                     has a relative standard error of sqrt(2 (1 + rho) / (rho T)) / (1 - rho):
#                     in 15 s of 1 ms services 3.5% at 0.3, 4% at 0.5, 6% at 0.7 and 10% at
#                     0.8, too noisy to judge a 10% target from one run; 4% at 0.7 in 30 s
#                     and at 0.8 in 60 s)
#   --mean-us N       mean service time for mm1 (default 1000) and mm1io/mmc (default 4000)
#   --servers N       servers for mmc (default 4)
#   --repeat N        run every utilization N times (a fresh server each), then print per
#                     utilization how often each target held and the pooled p99 error: the
#                     mean of the N runs' p99 errors +- t(N-1) sd / sqrt(N).
#                     A 95% interval misses a perfect model once in 20 cells; repeating
#                     tells such a miss from a biased model (default 1)
#   --markdown FILE   also write the tables to FILE
#   --quick           mm1 at 30% for 8 s (the `make test` version): exit 0 when the measured
#                     mean is within --tolerance percent (default 15) of the prediction, 1 when
#                     not, 3 (inconclusive) when the loader could not keep its schedule or
#                     other processes took over 25% of the CPUs
# Loopback only; every process started here is stopped by PID on exit.
set -u
cd "$(dirname "$0")/.."
SRVLAB=${SRVLAB:-./srvlab}

models="mm1,mmc"; utils="0.3 0.5 0.7 0.8 0.9"; duration=""; warmup=2; cal_duration=4
rtt_duration=3; mean_us=1000; io_mean_us=4000; servers=4; markdown=""; quick=0; tolerance=15
repeat=1
while [ $# -gt 0 ]; do
    case $1 in
        --models | --utils | --duration | --mean-us | --servers | --repeat | --tolerance | --markdown)
            [ $# -ge 2 ] || { echo "validate-queueing: $1 needs a value; see --help" >&2; exit 2; } ;;
    esac
    case $1 in
        --quick) quick=1; models="mm1"; utils="0.3"; duration=8; warmup=1; rtt_duration=1.5 ;;
        --models) models=$2; shift ;;
        --utils) utils=$2; shift ;;
        --duration) duration=${2%s}; shift ;;
        --mean-us) mean_us=$2; io_mean_us=$2; shift ;;
        --servers) servers=$2; shift ;;
        --repeat) repeat=$2; shift ;;
        --tolerance) tolerance=$2; shift ;;
        --markdown) markdown=$2; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "validate-queueing: unknown option '$1'; see --help" >&2; exit 2 ;;
    esac
    shift
done

case $repeat in
    '' | *[!0-9]* | 0) echo "validate-queueing: --repeat needs a whole number >= 1, not '$repeat'" >&2
        exit 2 ;;
esac

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

# run_load RATE DURATION_S WARMUP_S URL JSON RAW [load options...]: an open-loop Poisson run.
run_load() {
    local rate=$1 dur=$2 wu=$3 url=$4 json=$5 raw=$6; shift 6
    watched $LOAD_CPU "$SRVLAB" load -R "$rate" --arrival poisson -c 256 -d "${dur}s" \
        --warmup "${wu}s" -q --json "$json" --raw "$raw" "$@" "$url" >"$TMP/load.out" 2>&1
}

# scrape FILE: the server's /metrics (Prometheus text) into FILE.
scrape() { curl -s -m 5 -o "$1" "$URL_BASE/metrics"; }

# measured_run: run_load's arguments; also reads the server's /metrics when the warm-up ends
# and after the run, and sets SRV_COUNT (requests the server completed in between), SRV_SVC_US
# and SRV_WAIT_US (their mean service time and queueing delay) and SRV_WARM (the requests it
# completed before, warm-up included).
measured_run() {
    rm -f "$TMP/m0" "$TMP/m1"
    (sleep "$3"; scrape "$TMP/m0") &
    local scraper=$! rc=0
    run_load "$@" || rc=$?
    wait "$scraper"
    scrape "$TMP/m1"
    read -r SRV_WARM SRV_COUNT SRV_SVC_US SRV_WAIT_US < <(metrics_delta "$TMP/m0" "$TMP/m1")
    return $rc
}

# metrics_delta BEFORE AFTER: "requests_before requests service_mean_us queueing_mean_us" from
# two /metrics scrapes: the requests the server completed before the first, and between the two
# their count and their mean service time and queueing delay.
metrics_delta() {
    python3 - "$1" "$2" <<'PY'
import sys
def read(path):
    v = {}
    try:
        for line in open(path):
            if line.startswith("srvlab_") and "{" not in line:
                k, x = line.split()
                v[k] = float(x)
    except (OSError, ValueError):
        pass
    return v
a, b = read(sys.argv[1]), read(sys.argv[2])
def delta(name, part):
    return b.get(f"{name}_{part}", float("nan")) - a.get(f"{name}_{part}", float("nan"))
svc, wait = "srvlab_service_time_seconds", "srvlab_queueing_delay_seconds"
n = delta(svc, "count")
print(int(a.get(f"{svc}_count", 0)), n, delta(svc, "sum") / n * 1e6 if n > 0 else "nan",
      delta(wait, "sum") / delta(wait, "count") * 1e6 if delta(wait, "count") > 0 else "nan")
PY
}

# json_get FILE EXPR: prints EXPR, Python over the document d.
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# calibrate URL SERVERS LOAD_OPTS...: prints "capacity_per_s connect_min_us fit_service_us
# fit_cv others_cpu_percent server_service_us": the saturation run's capacity, `srvlab model
# fit` on a 5%-load run, the others' CPU during the saturation run, and the mean service time
# the server measured during it, which sets the rates. The predictions use none of these.
calibrate() {
    local url=$1 nservers=$2; shift 2
    scrape "$TMP/c0"
    watched $LOAD_CPU "$SRVLAB" load -c $((4 * nservers)) -d "${cal_duration}s" -q \
        --json "$TMP/cap.json" "$@" "$url" >"$TMP/load.out" 2>&1 || {
        echo "validate-queueing: saturation run failed:" >&2; cat "$TMP/load.out" >&2; return 1; }
    scrape "$TMP/c1"
    local srv_svc_us; srv_svc_us=$(metrics_delta "$TMP/c0" "$TMP/c1" | cut -d' ' -f3)
    local fit="nan nan" cal_others=$OTHERS_CPU rate
    rate=$(json_get "$TMP/cap.json" 'round(d["throughput_per_s"] * 0.05, 2)')
    # No warm-up: connects during it would not count, and fit needs their round trip.
    if run_load "$rate" "$cal_duration" 0 "$url" "$TMP/cal.json" "$TMP/cal.raw" "$@" &&
        "$SRVLAB" model fit "$TMP/cal.json" --model mm1 --from 50% --to 50% --format json \
            >"$TMP/fit.json" 2>/dev/null; then
        fit=$(json_get "$TMP/fit.json" 'd["fit"]["service_mean_us"], d["fit"]["service_cv"]')
    fi
    echo "$(json_get "$TMP/cap.json" "d['throughput_per_s'], d['connect']['min_us']")" \
        "$fit $cal_others $srv_svc_us"
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

# handler_sd LOG SKIP: "count sd_us" of the handler times of the /work requests in an access
# log, after the first SKIP lines (the warm-up).
handler_sd() {
    python3 - "$1" "$2" <<'PY'
import math, re, sys
xs = []
with open(sys.argv[1]) as f:
    for i, line in enumerate(f):
        m = re.search(r'"GET /work\?.* handler_us=([0-9.]+)', line)
        if m and i >= int(sys.argv[2]):
            xs.append(float(m.group(1)))
if len(xs) < 2:
    print(len(xs), "nan")
else:
    mean = sum(xs) / len(xs)
    print(len(xs), f"{math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)):.2f}")
PY
}

# cell PRED MEAS HALF: "pred / meas ±half (err%)" in ms; a * when the prediction is outside
# the interval (no interval: HALF "-"). After a "|": the signed error in percent.
cell() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys
p, m = float(sys.argv[1]), float(sys.argv[2])
err = (m - p) / p * 100
if sys.argv[3] == "-":
    print(f"{p/1e3:.3g} / {m/1e3:.3g} ({err:+.0f}%)|{err:.1f}")
else:
    h = float(sys.argv[3])
    star = "" if abs(m - p) <= h else "*"
    print(f"{p/1e3:.3g} / {m/1e3:.3g} ±{h/1e3:.2g} ({err:+.0f}%{star})|{err:.1f}")
PY
}

# predict MODEL_ARGS SVC_US CV UTIL RTT_US: "mean p50 p90 p99" in microseconds from
# `srvlab model curve` (the round trip included), or nothing when the model refuses.
predict() {
    # shellcheck disable=SC2086
    "$SRVLAB" model curve $1 --service "${2}us" --rtt "${5}us" --from "$4" --to "$4" \
        --format csv 2>"$TMP/model.err" | awk -F, 'NR == 2 { print $3, $4, $5, $6 }'
}

# model_args MODEL SERVERS CV: the curve options for one model ("mm1", "mg1", "mmc", "mgc").
model_args() {
    case $1 in
    mm1) echo "--model mm1" ;;
    mg1) echo "--model mg1 --service-cv $3" ;;
    mmc) echo "--model mmc --servers $2" ;;
    mgc) echo "--model mgc --servers $2 --service-cv $3" ;;
    esac
}

OUT="$TMP/table.md"
STATUS=0
declare -A MODEL_NAME=([mm1]="M/M/1" [mg1]="M/G/1" [mmc]="M/M/c" [mgc]="M/G/c")

# measure_rtt URL_BASE LOAD_OPTS...: sets RTT_US (hello median latency minus the server's mean
# service time for it; the median, since one stall in a short run moves the mean by 100s of
# us), HELLO_MEAN_US, HELLO_P50_US, HELLO_SVC_US and HELLO_WAIT_US (the server's queueing
# delay for it: mostly its wake-up from idle).
measure_rtt() {
    local base=$1; shift
    local wu=1; [ "$quick" -eq 1 ] && wu=0.5
    if ! measured_run 200 "$rtt_duration" "$wu" "$base/" "$TMP/hello.json" "$TMP/hello.raw" \
        "$@"; then
        echo "validate-queueing: hello-world run failed:" >&2; cat "$TMP/load.out" >&2; exit 1
    fi
    local n e lag
    read -r n e lag HELLO_MEAN_US _ HELLO_P50_US _ < <(stats "$TMP/hello.raw" "$wu")
    HELLO_SVC_US=$SRV_SVC_US; HELLO_WAIT_US=$SRV_WAIT_US
    RTT_US=$(python3 -c "print(round(max(0.0, $HELLO_P50_US - $HELLO_SVC_US), 1))")
}

# row U RATE_PER_UTIL NSERVERS PRIMARY ALT URL SERVE_OPTS -- LOAD_OPTS...: one utilization,
# one table row, on a fresh server with an access log.
row() {
    local u=$1 per_util=$2 nservers=$3 primary=$4 alt=$5 url_path=$6; shift 6
    local serve_opts=()
    while [ "$1" != "--" ]; do serve_opts+=("$1"); shift; done
    shift
    local rate; rate=$(python3 -c "print(round($u * $per_util, 1))")
    local log="$TMP/access.log"; rm -f "$log"
    start_server "${serve_opts[@]}" --access-log "$log"
    local dur=$duration
    [ -n "$dur" ] || dur=$(python3 -c "print(60 if $u >= 0.8 else 30 if $u >= 0.7 else 15)")
    if ! measured_run "$rate" "$dur" "$warmup" "$URL_BASE$url_path" "$TMP/r.json" \
        "$TMP/r.raw" "$@"; then
        stop_server
        echo "| $u | | $rate | load failed: $(tail -1 "$TMP/load.out") |" | tee -a "$OUT"
        STATUS=1; return
    fi
    stop_server
    local svc_us=$SRV_SVC_US srv_wait_us=$SRV_WAIT_US sent_rate nlog sd_us cv util
    sent_rate=$(json_get "$TMP/r.json" 'round(d["achieved_rate_per_s"], 1)')
    read -r nlog sd_us < <(handler_sd "$log" "$SRV_WARM")
    cv=$(python3 -c "print(round($sd_us / $svc_us, 3))")
    util=$(python3 -c "print(round($sent_rate * $svc_us / 1e6 / $nservers, 4))")
    local n errs lag m_mean h_mean m_p50 h_p50 m_p90 h_p90 m_p99 h_p99
    read -r n errs lag m_mean h_mean m_p50 h_p50 m_p90 h_p90 m_p99 h_p99 \
        < <(stats "$TMP/r.raw" "$warmup")
    [ "$errs" -gt 0 ] && n="$n ($errs failed)"
    local lead; lead=$(printf '| %s | %s | %s | %.0f us (%s) |' "$u" "$util" "$sent_rate" \
        "$svc_us" "$cv")
    if [ "$lag" = nan ]; then
        echo "$lead $n | too few responses | | | | | | | | $OTHERS_CPU% |" | tee -a "$OUT"
        STATUS=1; return
    fi
    local p_mean p_p50 p_p90 p_p99 a_mean a_p50 a_p90 a_p99
    read -r p_mean p_p50 p_p90 p_p99 < <(predict "$(model_args "$primary" "$nservers" "$cv")" \
        "$svc_us" "$cv" "$util" "$RTT_US")
    read -r a_mean a_p50 a_p90 a_p99 < <(predict "$(model_args "$alt" "$nservers" "$cv")" \
        "$svc_us" "$cv" "$util" "$RTT_US")
    if [ -z "${p_mean:-}" ] || [ -z "${a_mean:-}" ]; then
        echo "$lead $n | no prediction: $(head -1 "$TMP/model.err") | | | | | | | |" \
            "$OTHERS_CPU% |" | tee -a "$OUT"
        STATUS=1
        [ "$quick" -eq 1 ] && quick_verdict nan
        return
    fi
    local c_mean c_p50 c_p90 c_p99 ca_mean ca_p90 c_wait p_wait
    c_mean=$(cell "$p_mean" "$m_mean" "$h_mean"); c_p50=$(cell "$p_p50" "$m_p50" "$h_p50")
    c_p90=$(cell "$p_p90" "$m_p90" "$h_p90"); c_p99=$(cell "$p_p99" "$m_p99" "$h_p99")
    ca_mean=$(cell "$a_mean" "$m_mean" "$h_mean"); ca_p90=$(cell "$a_p90" "$m_p90" "$h_p90")
    # The model's mean wait: its mean response minus the round trip and the service time.
    p_wait=$(python3 -c "print(max(1.0, $p_mean - $RTT_US - $svc_us))")
    c_wait=$(cell "$p_wait" "$srv_wait_us" -)
    # For --repeat's summary: utilization, the errors (%) of mean, p90 and p99, and the p99's
    # prediction, measurement and interval half-width (us).
    echo "$u ${c_mean#*|} ${c_p90#*|} ${c_p99#*|} $p_p99 $m_p99 $h_p99" >>"$TMP/rows.txt"
    printf '%s %s | %s | %s | %s | %s | %s | %s | %s | %.0f us | %s%% |\n' "$lead" "$n" \
        "${c_mean%|*}" "${c_p50%|*}" "${c_p90%|*}" "${c_p99%|*}" "${ca_mean%|*}" \
        "${ca_p90%|*}" "${c_wait%|*}" "$lag" "$OTHERS_CPU" | tee -a "$OUT"
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
    elif [ "$1" = nan ]; then
        echo "FAILED: no prediction (offered utilization at or above 100%)"
        STATUS=1
    elif python3 -c "import sys; sys.exit(0 if abs($1) <= $tolerance else 1)"; then
        echo "ok: measured mean within ${tolerance}% of the prediction (${1}%)"
    else
        echo "FAILED: measured mean ${1}% off the prediction (tolerance ${tolerance}%)"
        STATUS=1
    fi
}

# calibration_line NSERVERS NOMINAL_US CAL...: the calibration, for information.
calibration_line() {
    local nservers=$1 nominal_us=$2 cap_per_s=$3 conn_min_us=$4 fit_us=$5 fit_cv=$6 others=$7
    local srv_svc_us=$8
    printf 'Calibration (for information and to set the rates, not the predictions): saturated '
    printf "(others' CPU %s%%), capacity %.0f/s, so service time %.0f us (nominal %s us); " \
        "$others" "$cap_per_s" "$(python3 -c "print($nservers * 1e6 / $cap_per_s)")" "$nominal_us"
    printf 'the server measured %.0f us meanwhile, which sets the rates; ' "$srv_svc_us"
    printf 'connect minimum %.0f us.' "$conn_min_us"
    [ "$fit_us" != nan ] &&
        printf ' `srvlab model fit` at 5%% load: %.0f us, cv %.2f.' "$fit_us" "$fit_cv"
    printf '\n'
}

# run_config TITLE NSERVERS NOMINAL_US PRIMARY ALT URL_PATH SERVE_OPTS -- LOAD_OPTS...: round
# trip and calibration on one server, then one fresh server and one row per utilization.
run_config() {
    local title=$1 nservers=$2 nominal_us=$3 primary=$4 alt=$5 url_path=$6; shift 6
    local serve_opts=()
    while [ "$1" != "--" ]; do serve_opts+=("$1"); shift; done
    shift
    start_server "${serve_opts[@]}"
    measure_rtt "$URL_BASE" "$@"
    local per_util cal_text="Calibration skipped (--quick): rates from the nominal service time."
    per_util=$(python3 -c "print($nservers * 1e6 / $nominal_us)")
    if [ "$quick" -eq 0 ]; then
        local cal; cal=$(calibrate "$URL_BASE$url_path" "$nservers" "$@") || exit 1
        # shellcheck disable=SC2086
        cal_text=$(calibration_line "$nservers" "$nominal_us" $cal)
        per_util=$(python3 -c "print($nservers * 1e6 / ${cal##* })")
    fi
    stop_server
    {
        printf '\n### %s\n\n' "$title"
        printf 'Round trip %.0f us: hello world (`/`) at 200/s, p50 %.0f us (mean %.0f us), ' \
            "$RTT_US" "$HELLO_P50_US" "$HELLO_MEAN_US"
        printf 'minus its server-measured service time %.0f us (its server-measured queueing ' \
            "$HELLO_SVC_US"
        printf 'delay, the wake-up from idle: %.0f us). %s\n' "$HELLO_WAIT_US" "$cal_text"
        printf 'Columns: target and offered utilization (rate sent x server-measured mean '
        printf 'service / servers), the server-measured service time (cv); cells: predicted '
        printf '(%s, then %s) / measured ±95%% CI in ms (error), * = prediction outside the CI; ' \
            "${MODEL_NAME[$primary]}" "${MODEL_NAME[$alt]}"
        printf 'server wait: model mean wait / the server'"'"'s measured queueing delay. '
        local runs="15 s (30 s from 0.7, 60 s from 0.8)"; [ -n "$duration" ] && runs="$duration s"
        printf 'Each run %s after a %s s warm-up. Load average %s.\n\n' "$runs" "$warmup" \
            "$(cut -d' ' -f1-3 /proc/loadavg)"
        echo "| util | offered | rate/s | service (cv) | requests | mean | p50 | p90 | p99 |" \
            "${MODEL_NAME[$alt]} mean | ${MODEL_NAME[$alt]} p90 | server wait | send lag |" \
            "others' CPU |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    } | tee -a "$OUT"
    rm -f "$TMP/rows.txt"
    for u in $utils; do
        for _ in $(seq 1 "$repeat"); do
            row "$u" "$per_util" "$nservers" "$primary" "$alt" "$url_path" "${serve_opts[@]}" \
                -- "$@"
        done
    done
    [ "$repeat" -gt 1 ] && [ -s "$TMP/rows.txt" ] && repeat_summary "$TMP/rows.txt" | tee -a "$OUT"
    return 0
}

# repeat_summary ROWS: per utilization, how many of the repeated runs met each target (mean and
# p90 within 10%, the prediction inside the p99's 95% interval), their median errors, and the
# pooled p99 error: the mean of the runs' p99 errors (each against its own prediction) with a
# 95% interval from their spread; * when that interval does not hold 0 (a biased model).
repeat_summary() {
    python3 - "$1" <<'PY'
import math, statistics as st, sys
T95 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131}
by = {}
for line in open(sys.argv[1]):
    u, em, e90, e99, pp99, mp99, hp99 = line.split()
    pp99, mp99 = float(pp99), float(mp99)
    inside = int(abs(mp99 - pp99) <= float(hp99))  # as cell() stars it
    by.setdefault(u, []).append((float(em), float(e90), float(e99), inside, pp99, mp99))
print()
print("| util | runs | mean within 10% | p90 within 10% | p99 inside its CI | median error mean / p90 / p99 | p99 predicted / measured (means of the runs) | p99 error pooled (mean of the runs' errors ±95% CI) |")
print("|---|---|---|---|---|---|---|---|")
for u, rs in by.items():
    n = len(rs)
    ok = lambda k: sum(1 for r in rs if abs(r[k]) <= 10)
    med = lambda k: st.median(r[k] for r in rs)
    errs = [r[2] for r in rs]  # each run against its own prediction (its own utilization)
    pooled = st.mean(errs)
    half = T95.get(n - 1, 1.96) * st.stdev(errs) / math.sqrt(n) if n > 1 else float("nan")
    star = "" if abs(pooled) <= half else "*"
    print(f"| {u} | {n} | {ok(0)}/{n} | {ok(1)}/{n} | {sum(r[3] for r in rs)}/{n} | "
          f"{med(0):+.0f}% / {med(1):+.0f}% / {med(2):+.0f}% | "
          f"{st.mean(r[4] for r in rs)/1e3:.3g} / {st.mean(r[5] for r in rs)/1e3:.3g} ms | "
          f"{pooled:+.1f}% ±{half:.1f}%{star} |")
PY
}

IFS=, read -ra model_list <<<"$models"
for m in "${model_list[@]}"; do
    case $m in
    mm1)
        run_config "M/G/1 and M/M/1: serve --arch epoll, keep-alive, /work?cpu_us=$mean_us&dist=exp" \
            1 "$mean_us" mg1 mm1 "/work?cpu_us=$mean_us&dist=exp" --arch epoll -- ;;
    mm1io)
        run_config "M/M/1 without CPU: serve --arch pool --threads 1, a connection per request, /work?io_us=$io_mean_us&dist=exp" \
            1 "$io_mean_us" mm1 mg1 "/work?io_us=$io_mean_us&dist=exp" \
            --arch pool --threads 1 -- --no-keepalive ;;
    poolka)
        run_config "NOT M/M/c (the lesson): serve --arch pool --threads $servers with keep-alive, /work?io_us=$io_mean_us&dist=exp" \
            "$servers" "$io_mean_us" mmc mgc "/work?io_us=$io_mean_us&dist=exp" \
            --arch pool --threads "$servers" -- ;;
    mmc)
        run_config "M/G/c and M/M/c, c = $servers: serve --arch pool --threads $servers, a connection per request, /work?io_us=$io_mean_us&dist=exp" \
            "$servers" "$io_mean_us" mgc mmc "/work?io_us=$io_mean_us&dist=exp" \
            --arch pool --threads "$servers" -- --no-keepalive ;;
    *) echo "validate-queueing: unknown model '$m' (mm1, mm1io, mmc or poolka)" >&2; exit 2 ;;
    esac
done

[ -n "$markdown" ] && cp "$OUT" "$markdown"
exit $STATUS

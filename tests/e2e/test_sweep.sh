#!/usr/bin/env bash
# `srvlab sweep` and `srvlab report`: a quick sweep of two architectures with tiny runs; the
# page, its tables and SVG plots; every summary number against the JSON it came from; rebuild
# without gnuplot; bad options; Ctrl-C; the page in headless Chromium when installed.
. "$(dirname "$0")/lib.sh"

ARCH_A=${SWEEP_ARCHS_A:-epoll}
ARCH_B=${SWEEP_ARCHS_B:-thread}
OUTD="$E2E_TMP/sweep"

# ---- one quick sweep ----
# nginx too when installed; --out relative, as users type it (peers need absolute paths).
PEERS=none; NSERVERS=2
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && { PEERS=nginx; NSERVERS=3; }
start=$(date +%s)
"$SRVLAB" sweep --quick --archs "$ARCH_A,$ARCH_B" --peers "$PEERS" --duration 300ms \
    --out "$(realpath --relative-to=. "$OUTD")/" >"$E2E_TMP/sweep.out" 2>"$E2E_TMP/sweep.err"
rc=$?
echo "# sweep of $ARCH_A,$ARCH_B and peers: $PEERS took $(( $(date +%s) - start ))s"
expect_eq "sweep exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$E2E_TMP/sweep.err" | tail -5
check "index.html written" test -s "$OUTD/index.html"
check "summary table on stdout" grep -q "^$ARCH_A " "$E2E_TMP/sweep.out"
check "sweep says how it pinned" grep -q "pinn" "$E2E_TMP/sweep.err"
check "page has the summary table" grep -q 'id="summary-table"' "$OUTD/index.html"
check "page has a row per server" \
    test "$(grep -c '<tr data-server=' "$OUTD/index.html")" -eq "$NSERVERS"
[ "$PEERS" = nginx ] && check "nginx peer measured" grep -q '^nginx .* ok$' "$E2E_TMP/sweep.out"
check "raw data kept (json, hgrm, csv)" \
    test -s "$(ls "$OUTD/runs/$ARCH_A/"*-low.json)" -a -s "$(ls "$OUTD/runs/$ARCH_A/"*-low.hgrm)" \
    -a -s "$(ls "$OUTD/runs/$ARCH_A/"*-low.csv)"

# Every plot the report promises, as a non-empty SVG file and embedded in the page.
svg_ok=1
for f in throughput cdf spectrum parts latency-$ARCH_A latency-$ARCH_B hist-$ARCH_A hist-$ARCH_B \
         rate-$ARCH_A rate-$ARCH_B; do
    if ! grep -q '<path' "$OUTD/plots/$f.svg" 2>/dev/null; then
        svg_ok=0; echo "# missing or empty plot: $f.svg"
    fi
done
expect_eq "every plot rendered as SVG" 1 "$svg_ok"
check "page embeds at least 10 SVGs" test "$(grep -o '<svg' "$OUTD/index.html" | wc -l)" -ge 10
check "a reading under each plot" test "$(grep -c 'class="reading"' "$OUTD/index.html")" -eq 7
check "server's /metrics split kept per run" python3 -c "
import json, math, sys
d = json.load(open('$OUTD/sweep.json'))
r = [r for r in d['servers'][0]['runs'] if r['step'] == 'common'][0]
sys.exit(0 if r['server_queue_mean_us'] is not None and r['server_service_mean_us'] > 0 else 1)"
check "page ends with command, machine and versions" \
    grep -q "Command: <code>srvlab sweep --quick" "$OUTD/index.html"

# Every number of the summary table, traced to the file it names (data-src).
check_numbers() {
    python3 - "$1" <<'PY'
import html, json, os, re, sys
d = sys.argv[1]
page = open(os.path.join(d, "index.html")).read()
sweep = json.load(open(os.path.join(d, "sweep.json")))
servers = {s["name"]: s for s in sweep["servers"]}
units = {"us": 1, "ms": 1e3, "s": 1e6, "KiB": 1, "MiB": 1024}
bad = 0
def load(stem): return json.load(open(os.path.join(d, stem)))
def run_of(server, stem):
    return next(r for r in server["runs"] if r["stem"] + ".json" == stem)
def expected(server, key, src):
    if key == "max_tput_per_s":
        closed = [load(r["stem"] + ".json")["throughput_per_s"] for r in server["runs"]
                  if r["step"] in ("low", "closed")]
        v = load(src)["throughput_per_s"]
        assert v == max(closed), (v, closed)
        return v
    if key == "p99_half_load_us":
        return load(src)["latency"]["percentiles"]["99"]
    if key == "cpu_per_req_us":
        r = run_of(server, src)
        return r["server_cpu_s"] * 1e6 / (load(src)["throughput_per_s"] * sweep["duration_s"])
    if key == "mem_per_conn_kib":
        one = next(r for r in server["runs"] if r["step"] == "low")
        many = next(r for r in server["runs"] if r["step"] == "closed" and r["connections"] == 1000)
        conns = load(many["stem"] + ".json")["connections_used_max"]
        return (many["server_rss_peak_kib"] - one["server_rss_peak_kib"]) / (conns - 1)
    if key == "slo_rate_per_s":   # highest open/search rate with p99 < 10ms that kept up
        best = None
        for r in server["runs"]:
            if r["step"] not in ("open", "search"): continue
            j = load(r["stem"] + ".json")
            if j["latency"]["count"] and j["latency"]["percentiles"]["99"] < 10000 and \
               j["throughput_per_s"] >= 0.9 * r["rate_per_s"]:
                best = max(best or 0, r["rate_per_s"])
        return best
rows = re.findall(r'<tr data-server="([^"]+)">(.*?)</tr>', page)
cells = 0
for name, row in rows:
    for key, value, src, text in re.findall(
            r'data-key="([^"]+)" data-value="([^"]+)" data-src="([^"]+)">([^<]*)', row):
        text = html.unescape(text).strip()
        if text == "-":
            continue
        cells += 1
        value = float(value)
        exp = expected(servers[name], key, src)
        num, unit = (text.split() + [""])[:2]
        shown = float(num) * units.get(unit, 1)
        if exp is None or abs(value - exp) > 1e-6 * max(1, abs(exp)) or \
           abs(shown - exp) > 0.01 * abs(exp) + 0.06:
            print(f"# {name} {key}: page {text} ({value}), {src} gives {exp}")
            bad += 1
print(f"# {cells} summary numbers checked")
sys.exit(1 if bad or cells < 2 * len(rows) else 0)
PY
}
check "every summary number matches its JSON" check_numbers "$OUTD"

# ---- live progress: only on a terminal ----
check "no progress line when stderr is not a terminal" \
    bash -c "! grep -q \$'\\r' '$E2E_TMP/sweep.err'"
if command -v script >/dev/null 2>&1; then
    script -qec "'$SRVLAB' sweep --quick --duration 200ms --archs $ARCH_A --peers none \
        --out '$E2E_TMP/tty'" /dev/null >"$E2E_TMP/tty.out" 2>&1 </dev/null
    check "progress line on a terminal (server, step, run N/M, time left)" \
        grep -qaE "\[$ARCH_A\] [a-z0-9-]+ +run [0-9]+/12 .*left" "$E2E_TMP/tty.out"
else
    skip "progress on a terminal: script(1) not installed"
fi

# ---- srvlab report: rebuild from the data ----
cp "$OUTD/index.html" "$E2E_TMP/first.html"
"$SRVLAB" report "$OUTD" >"$E2E_TMP/report.out" 2>&1
expect_eq "report DIR exits 0" 0 "$?"
t1=$(sed -n '/id="summary-table"/,/<\/table>/p' "$E2E_TMP/first.html")
t2=$(sed -n '/id="summary-table"/,/<\/table>/p' "$OUTD/index.html")
expect_eq "rebuilt page has the same summary table" "$t1" "$t2"

cp -r "$OUTD" "$E2E_TMP/noplot"
rm -rf "$E2E_TMP/noplot/plots"
SRVLAB_GNUPLOT=/nonexistent "$SRVLAB" report "$E2E_TMP/noplot" >"$E2E_TMP/np.out" 2>"$E2E_TMP/np.err"
expect_eq "report without gnuplot exits 0" 0 "$?"
check "without gnuplot: a clear message" grep -q "gnuplot is not installed" "$E2E_TMP/np.err"
check "without gnuplot: tables still there" grep -q 'id="summary-table"' "$E2E_TMP/noplot/index.html"
check "without gnuplot: no SVG" test "$(grep -c '<svg' "$E2E_TMP/noplot/index.html")" -eq 0

mkdir -p "$E2E_TMP/empty"
"$SRVLAB" report "$E2E_TMP/empty" >/dev/null 2>&1
expect_eq "report of a directory without data exits 1" 1 "$?"

# ---- bad options: one line, exit 2 ----
bad_opt() {
    local name=$1; shift
    "$SRVLAB" "$@" >/dev/null 2>"$E2E_TMP/bad.err"; local rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$E2E_TMP/bad.err")" -eq 1 ]; then ok "$name"
    else not_ok "$name (exit $rc, $(wc -l <"$E2E_TMP/bad.err") lines)"; fi
}
bad_opt "unknown architecture" sweep --archs nope --out "$E2E_TMP/x"
bad_opt "unknown peer" sweep --peers apache --out "$E2E_TMP/x"
bad_opt "bad duration" sweep --duration fast --out "$E2E_TMP/x"
bad_opt "bad workload" sweep --workload disk:1 --out "$E2E_TMP/x"
bad_opt "bad SLO" sweep --slo 'p99<<1' --out "$E2E_TMP/x"
bad_opt "missing --out" sweep --archs epoll
bad_opt "unknown option" sweep --frobnicate --out "$E2E_TMP/x"
bad_opt "report without DIR" report
"$SRVLAB" sweep --help | grep -q "^Usage: srvlab sweep"
expect_eq "sweep --help exits 0" 0 "$?"

# ---- Ctrl-C: every child killed, partial results kept ----
INT="$E2E_TMP/int"
"$SRVLAB" sweep --quick --archs "$ARCH_A,$ARCH_B" --peers none --duration 1s --out "$INT" \
    >"$E2E_TMP/int.out" 2>"$E2E_TMP/int.err" &
sweep_pid=$!
E2E_PIDS+=("$sweep_pid")
sleep 2.5
kill -INT "$sweep_pid"
for _ in $(seq 1 100); do kill -0 "$sweep_pid" 2>/dev/null || break; sleep 0.1; done
wait "$sweep_pid"; rc=$?
expect_eq "interrupted sweep exits 130" 130 "$rc"
left=0
for c in /proc/[0-9]*/cmdline; do
    grep -qaF "$INT/" "$c" 2>/dev/null && left=$((left + 1))
done
expect_eq "no child process left after Ctrl-C" 0 "$left"
check "partial results kept and marked" \
    python3 -c "import json,sys; d=json.load(open('$INT/sweep.json')); sys.exit(0 if d['interrupted'] and d['servers'][0]['runs'] else 1)"
check "partial report written" grep -q "interrupted" "$INT/index.html"

# ---- the page in a real browser ----
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1280,3000 --screenshot="$E2E_TMP/page.png" "file://$OUTD/index.html" \
        >/dev/null 2>&1
    check "Chromium screenshot of the page" test -s "$E2E_TMP/page.png"
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom \
        "file://$OUTD/index.html" >"$E2E_TMP/dom.html" 2>/dev/null
    n=$(python3 -c "
import re,sys; dom=open('$E2E_TMP/dom.html').read()
print(sum(1 for s in re.findall(r'<svg.*?</svg>', dom, re.S) if '<path' in s))")
    check "Chromium sees the SVGs, none empty ($n)" test "${n:-0}" -ge 10
else
    skip "Chromium screenshot: $CHROMIUM not installed (apt-get install chromium)"
fi
e2e_done

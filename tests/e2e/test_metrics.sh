#!/usr/bin/env bash
# GET /metrics on every architecture: valid Prometheus exposition, counters that match the
# requests sent, and a service-time histogram that sees /work's CPU time.
. "$(dirname "$0")/lib.sh"
ARCHS=${ARCHS:-$("$SRVLAB" serve --list-archs)}
PROM="python3 tests/e2e/prom.py"

for arch in $ARCHS; do
    if ! start_srvlab "$arch" --threads 2; then not_ok "$arch: server did not start"; continue; fi
    for _ in $(seq 1 25); do curl -s -o /dev/null "$SRV_URL/"; done
    for _ in $(seq 1 5); do curl -s -o /dev/null "$SRV_URL/nope"; done
    for _ in $(seq 1 20); do curl -s -o /dev/null "$SRV_URL/work?cpu_us=2000"; done
    m=$(curl -s "$SRV_URL/metrics")
    expect_eq "$arch: /metrics is valid Prometheus text" valid "$($PROM <<<"$m" | head -1)"
    expect_eq "$arch: 2xx counter matches requests sent" 45 \
        "$($PROM --get 'srvlab_requests_total{class="2xx"}' <<<"$m" | tail -1 | cut -d. -f1)"
    expect_eq "$arch: 4xx counter matches" 5 \
        "$($PROM --get 'srvlab_requests_total{class="4xx"}' <<<"$m" | tail -1 | cut -d. -f1)"
    expect_eq "$arch: service histogram counts every request" 50 \
        "$($PROM --get 'srvlab_service_time_seconds_count' <<<"$m" | tail -1 | cut -d. -f1)"
    # Only /work requests now: the median service time is the configured 2 ms of CPU.
    # One keep-alive connection from srvlab load, not a curl process per request: starting a
    # process per request competes with the server for the 2 cores and inflates the median.
    for _ in 1 2 3; do
        "$SRVLAB" load -c 1 -n 100 -q "$SRV_URL/work?cpu_us=2000" >/dev/null 2>&1
        p50=$(curl -s "$SRV_URL/metrics" | $PROM --get srvlab_service_time_seconds_p50 | tail -1)
        python3 -c "import sys; v=float('$p50'); sys.exit(0 if 0.0020 <= v <= 0.0023 else 1)" && break
    done
    timing_check "$arch: service p50 of cpu_us=2000 in [2.0, 2.3] ms (got $p50 s)" \
        python3 -c "import sys; v=float('$p50'); sys.exit(0 if 0.0020 <= v <= 0.0023 else 1)"
    stop_pid "$SRV_PID" >/dev/null
done
if start_srvlab thread --access-log "$E2E_TMP/access.log"; then
    curl -s -o /dev/null "$SRV_URL/"
    curl -s -o /dev/null "$SRV_URL/nope"
    stop_pid "$SRV_PID" >/dev/null
    check "--access-log: a common-log line per request" \
        grep -qE '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] "GET / HTTP/1\.1" 200 13 queue_us=[0-9.]+ handler_us=[0-9.]+$' "$E2E_TMP/access.log"
    check "--access-log: errors logged with their status" grep -q '"GET /nope HTTP/1.1" 404 ' "$E2E_TMP/access.log"
fi
# The address is looked up once per connection and kept by fd: a connection from 127.0.0.3 that
# gets the fd number a closed one from 127.0.0.2 had must still be logged as 127.0.0.3.
# Connection: close makes the server close first, so the second accept can reuse the fd.
for arch in $ARCHS; do
    if ! start_srvlab "$arch" --threads 2 --access-log "$E2E_TMP/peers-$arch.log"; then
        not_ok "$arch: server did not start"; continue
    fi
    for ip in 127.0.0.2 127.0.0.3 127.0.0.2; do
        curl -s -o /dev/null -m 5 --interface "$ip" -H 'Connection: close' "$SRV_URL/from-$ip"
        sleep 0.3 # the server's lingering close ends when curl has gone
    done
    stop_pid "$SRV_PID" >/dev/null
    log="$E2E_TMP/peers-$arch.log"
    expect_eq "$arch: --access-log: 127.0.0.3 after 127.0.0.2 on a reused fd" 1 \
        "$(grep -c '^127\.0\.0\.3 - - .*"GET /from-127\.0\.0\.3 HTTP/1\.1" 404 ' "$log")"
    expect_eq "$arch: --access-log: 127.0.0.2 before and after it" 2 \
        "$(grep -c '^127\.0\.0\.2 - - .*"GET /from-127\.0\.0\.2 HTTP/1\.1" 404 ' "$log")"
done
if start_srvlab pool --no-metrics; then
    expect_eq "--no-metrics: /metrics is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$SRV_URL/metrics")"
fi
e2e_done

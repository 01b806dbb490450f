#!/usr/bin/env bash
# The foundation's end-to-end cases, run against every architecture `srvlab serve --list-archs`
# prints (or those in $ARCHS): real process, real sockets, curl and raw requests.
. "$(dirname "$0")/lib.sh"
RAW="python3 tests/e2e/raw.py"
ARCHS=${ARCHS:-$("$SRVLAB" serve --list-archs)}

WWW="$E2E_TMP/www"
mkdir -p "$WWW/sub"
head -c 300000 /dev/urandom >"$WWW/blob.bin"
echo '<h1>hi</h1>' >"$WWW/sub/page.html"
echo secret >"$E2E_TMP/secret.txt"
ln -s "$E2E_TMP/secret.txt" "$WWW/escape"

# status URL [curl args]: prints the HTTP status code.
status() { local u=$1; shift; curl -s -o /dev/null -m 10 -w '%{http_code}' "$@" "$u"; }

case_basics() {
    local a=$1 u=$SRV_URL
    expect_eq "$a: GET / body" "Hello, World!" "$(curl -s -m 10 "$u/")"
    local head; head=$(curl -s -m 10 -I "$u/" | tr -d '\r')
    check "$a: HEAD has Content-Length 13" grep -q '^Content-Length: 13$' <<<"$head"
    check "$a: Date and Server headers" grep -q '^Server: srvlab' <<<"$head"
    expect_eq "$a: unknown path 404" 404 "$(status "$u/nope")"
    expect_eq "$a: wrong method 405" 405 "$(status "$u/" -X DELETE)"
    check "$a: 405 says Allow" grep -q '^Allow: GET, HEAD' < <(curl -s -m 10 -i -X PUT "$u/" | tr -d '\r')
    local v; v=$(curl -s -m 10 -0 -i "$u/" | tr -d '\r')
    check "$a: HTTP/1.0 answered and closed" grep -q '^Connection: close' <<<"$v"
    local reuse; reuse=$(curl -sv -m 10 "$u/" "$u/" 2>&1 | grep -c 'Re-using existing connection')
    expect_eq "$a: keep-alive reuses the connection" 1 "$reuse"
}

case_pipelining() {
    local a=$1 out
    out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfinalGET /work?cpu_us=10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
        | $RAW "$SRV_PORT" | tr -d '\r' | grep -E '^HTTP/1.1|^Hello|final|^cpu_us|^EOF' | tr '\n' ' ')
    local want="HTTP/1.1 200 OK Hello, World!HTTP/1.1 404 Not Found HTTP/1.1 200 OK finalHTTP/1.1 200 OK cpu_us=10 io_us=0 EOF "
    expect_eq "$a: pipelined requests answered in order" "$want" "$out"
    out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
        | $RAW "$SRV_PORT" --split 1 | grep -o 'HTTP/1.1 200' | wc -l)
    expect_eq "$a: requests sent byte by byte" 2 "$out"
}

case_static_and_echo() {
    local a=$1 u=$SRV_URL
    curl -s -m 10 -o "$E2E_TMP/got.bin" "$u/static/blob.bin"
    check "$a: static file byte-exact" cmp -s "$WWW/blob.bin" "$E2E_TMP/got.bin"
    local ct; ct=$(curl -s -m 10 -I "$u/static/sub/page.html" | tr -d '\r')
    check "$a: static Content-Type by extension" grep -q '^Content-Type: text/html' <<<"$ct"
    check "$a: static Last-Modified" grep -q '^Last-Modified: ' <<<"$ct"
    expect_eq "$a: symlink out of root 404" 404 "$(status "$u/static/escape")"
    expect_eq "$a: %2e%2e escape refused" 400 "$(status "$u/static/%2e%2e/secret.txt" --path-as-is)"
    expect_eq "$a: .. escape refused" 400 "$(status "$u/static/../secret.txt" --path-as-is)"
    curl -s -m 10 --data-binary @"$WWW/blob.bin" -H 'Content-Type: application/octet-stream' \
        -o "$E2E_TMP/echo.bin" "$u/echo"
    check "$a: POST /echo returns the body" cmp -s "$WWW/blob.bin" "$E2E_TMP/echo.bin"
}

case_bad_input() {
    local a=$1 out big
    out=$(printf 'BLAH\r\n\r\n' | $RAW "$SRV_PORT" | head -1 | tr -d '\r')
    expect_eq "$a: garbage gets 400" "HTTP/1.0 400 Bad Request" "$out"
    big=$(head -c 9000 /dev/zero | tr '\0' a)
    out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$big" | $RAW "$SRV_PORT" | head -1 | tr -d '\r')
    expect_eq "$a: header over 8 KiB gets 431" "HTTP/1.1 431 Request Header Fields Too Large" "$out"
    out=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n' | $RAW "$SRV_PORT" | head -1 | tr -d '\r')
    expect_eq "$a: body over --max-body gets 413" "HTTP/1.1 413 Content Too Large" "$out"
    printf 'GET / HTTP/1.1\r\nHost: x\r\nContent-Len' | $RAW "$SRV_PORT" --idle 0.2 >/dev/null
    expect_eq "$a: still serving after bad clients" "Hello, World!" "$(curl -s -m 10 "$SRV_URL/")"
}

case_concurrency() {
    local a=$1 r ms
    r=$(python3 tests/e2e/concurrent.py "$SRV_PORT" / 100 20)
    expect_eq "$a: 100 concurrent clients all answered" "ok=100 n=100" "${r% ms=*}"
    # Timing on a shared machine: the best of three attempts counts (a preempted run is slow,
    # never fast, so the best attempt is the architecture's own figure).
    local best=999999 got=""
    for _ in 1 2 3; do
        r=$(python3 tests/e2e/concurrent.py "$SRV_PORT" "/work?io_us=20000" 8 20)
        got=${r% ms=*}; ms=${r##*ms=}
        [ "$got" = "ok=8 n=8" ] && [ "$ms" -lt "$best" ] && best=$ms
        [ "$a" != iterative ] && [ "$best" -lt 120 ] && break
    done
    if [ "$a" = iterative ]; then
        # One client at a time: the eight 20 ms waits add up. That is the lesson.
        timing_check "$a: 8 io waits are serialized (${best} ms >= 160)" [ "$best" -ge 160 -a "$best" -lt 999999 ]
    else
        timing_check "$a: 8 io waits overlap (${best} ms, serial would be 160)" [ "$best" -lt 120 ]
    fi
}

case_sigterm_drain() {
    local a=$1 r
    rm -f "$E2E_TMP/drain.ready"
    python3 tests/e2e/concurrent.py "$SRV_PORT" "/work?io_us=600000" 4 20 "$E2E_TMP/drain.ready" \
        >"$E2E_TMP/drain.out" &
    local cpid=$!
    # Signal only once all four requests are on the wire, then give the server 150 ms to read
    # them (600 ms waits are still in flight when the signal lands).
    for _ in $(seq 1 200); do [ -e "$E2E_TMP/drain.ready" ] && break; sleep 0.05; done
    sleep 0.15
    kill -TERM "$SRV_PID"
    wait "$cpid"
    r=$(cat "$E2E_TMP/drain.out")
    expect_eq "$a: SIGTERM lets in-flight requests finish" "ok=4 n=4" "${r% ms=*}"
    local rc=0
    for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
    wait "$SRV_PID"; rc=$?
    expect_eq "$a: exit status 0 after SIGTERM" 0 "$rc"
}

for arch in $ARCHS; do
    if ! start_srvlab "$arch" --root "$WWW" --threads 8; then
        not_ok "$arch: server did not start: $(cat "$E2E_TMP/serve.err")"
        continue
    fi
    case_basics "$arch"
    case_pipelining "$arch"
    case_static_and_echo "$arch"
    case_bad_input "$arch"
    case_concurrency "$arch"
    case_sigterm_drain "$arch"
done
e2e_done

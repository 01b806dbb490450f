#!/usr/bin/env bash
# make valgrind: each architecture (or those in $ARCHS) runs under
# `valgrind --leak-check=full --error-exitcode=99` for a short end-to-end run: keep-alive,
# pipelining, a static file, an echo, errors, then SIGTERM. Passes when valgrind reports no
# errors and "definitely lost: 0" (or frees everything). Logs: build/valgrind/ARCH.log.
. "$(dirname "$0")/e2e/lib.sh"
command -v valgrind >/dev/null || { echo "valgrind: not installed (make deps)"; exit 1; }
ARCHS=${ARCHS:-$("$SRVLAB" serve --list-archs)}
LOGS=build/valgrind
mkdir -p "$LOGS"
WWW="$E2E_TMP/www"
mkdir -p "$WWW"
head -c 200000 /dev/urandom >"$WWW/blob.bin"

# The requests: a handful, each kind once, so every path allocates and frees at least once.
exercise() {
    local u=$1 port=$2
    curl -s -m 20 "$u/" "$u/work?cpu_us=100&io_us=1000" "$u/nope" >/dev/null   # keep-alive
    printf '%s\r\n' 'GET / HTTP/1.1' 'Host: x' '' 'HEAD / HTTP/1.1' 'Host: x' '' \
        'POST /echo HTTP/1.1' 'Host: x' 'Content-Length: 3' '' 'abcGET / HTTP/1.1' 'Host: x' \
        'Connection: close' '' | python3 tests/e2e/raw.py "$port" --idle 5 --max 20 >/dev/null
    curl -s -m 20 -o "$E2E_TMP/got.bin" "$u/static/blob.bin"
    cmp -s "$WWW/blob.bin" "$E2E_TMP/got.bin" || echo "static file differs"
    printf '%s\r\n' 'POST /echo HTTP/1.1' 'Host: x' 'Transfer-Encoding: chunked' '' 3 abc 0 '' \
        | python3 tests/e2e/raw.py "$port" --idle 2 --max 20 >/dev/null
    printf 'BLAH\r\n\r\n' | python3 tests/e2e/raw.py "$port" --idle 2 --max 20 >/dev/null
    curl -s -m 20 -o /dev/null "$u/metrics"
    curl -s -m 20 --data-binary @"$WWW/blob.bin" -o /dev/null "$u/echo"
    # A keep-alive connection left idle: SIGTERM must close it.
    printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' \
        | python3 tests/e2e/raw.py "$port" --idle 30 --max 30 >/dev/null &
    sleep 0.5
}

# uring runs too: it marks what the kernel writes as defined and, under valgrind, waits in
# poll(2) rather than io_uring_enter (docs/reliability.md, "Valgrind").
for arch in $ARCHS; do
    log="$LOGS/$arch.log"
    pf="$E2E_TMP/port.$arch"
    # --fair-sched keeps the threaded architectures moving; fibers switch stacks on purpose.
    valgrind --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite \
        --fair-sched=yes --max-stackframe=8388608 --log-file="$log" \
        "$SRVLAB" serve --arch "$arch" --port 0 --port-file "$pf" --root "$WWW" --threads 2 -q &
    pid=$!
    E2E_PIDS+=("$pid")
    for _ in $(seq 1 600); do [ -s "$pf" ] && break; sleep 0.05; done
    port=$(cat "$pf" 2>/dev/null)
    if [ -z "$port" ] || ! wait_port "$port"; then
        not_ok "$arch: did not start under valgrind ($(tail -3 "$log" | tr '\n' ' '))"
        continue
    fi
    problems=$(exercise "http://127.0.0.1:$port" "$port")
    kill -TERM "$pid"
    rc=0
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null   # still running after 30 s: counted as a failure
    wait "$pid"; rc=$?
    errors=$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$log" | tail -1)
    lost=$(sed -nE 's/.*definitely lost: ([0-9,]+) bytes.*/\1/p' "$log" | tail -1)
    grep -q "All heap blocks were freed" "$log" && lost=0
    line="$arch: exit $rc, ${errors:-?} errors, definitely lost ${lost:-?} bytes"
    check "$line${problems:+, $problems}" \
        [ "$rc" = 0 -a "${errors:-1}" = 0 -a "${lost:-1}" = 0 -a -z "$problems" ]
done
e2e_done

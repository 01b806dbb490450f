#!/usr/bin/env bash
# Hostile input against every architecture `srvlab serve --list-archs` prints (or $ARCHS):
# smuggling and framing attacks, limits, static-file escapes, timeouts, --max-conns, EMFILE,
# signals, then slowloris. After each attack the server must still answer a normal request.
# The per-architecture cases run in parallel (one background job per architecture) so the
# file stays under 90 s; slowloris runs last, on its own, because it measures latency.
. "$(dirname "$0")/lib.sh"
RAW="python3 tests/e2e/raw.py"
HOSTILE="python3 tests/e2e/hostile.py"
ARCHS=${ARCHS:-$("$SRVLAB" serve --list-archs)}
# Slowloris must not delay a normal client on these (one loop watches every connection).
EVENT_ARCHS=" epoll reactors uring green poll select epoll+pool "
BIG_BYTES=33554432

WWW="$E2E_TMP/www"
mkdir -p "$WWW/sub"
truncate -s "$BIG_BYTES" "$WWW/big.bin"
echo '<h1>hi</h1>' >"$WWW/sub/page.html"
echo hidden >"$WWW/.hidden"
echo secret >"$E2E_TMP/secret.txt"
ln -s "$E2E_TMP/secret.txt" "$WWW/escape"
chmod 755 "$E2E_TMP" "$WWW" "$WWW/sub"

# Jobs run in subshells, which do not share E2E_PIDS: every server PID also goes to a file
# that the exit trap reads.
hostile_cleanup() {
    local p
    while read -r p; do E2E_PIDS+=("$p"); done < <(cat "$E2E_TMP"/pids.* 2>/dev/null)
    e2e_cleanup
}
trap hostile_cleanup EXIT INT TERM

# hstart TAG ARCH [serve options...]: like start_srvlab, with files of its own (jobs run in
# parallel). Prefix the command with $LAUNCH (e.g. prlimit) when set.
hstart() {
    local tag=$1 arch=$2; shift 2
    local pf="$E2E_TMP/port.$tag"
    rm -f "$pf"
    ${LAUNCH:-} "$SRVLAB" serve --arch "$arch" --port 0 --port-file "$pf" "$@" \
        >"$E2E_TMP/out.$tag" 2>"$E2E_TMP/err.$tag" &
    SRV_PID=$!
    echo "$SRV_PID" >>"$E2E_TMP/pids.$arch"
    for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
    SRV_PORT=$(cat "$pf" 2>/dev/null)
    SRV_URL="http://127.0.0.1:$SRV_PORT"
    [ -n "$SRV_PORT" ] && wait_port "$SRV_PORT"
}

hello() { curl -s -m 5 "$SRV_URL/"; }
still_serving() { expect_eq "$1" "Hello, World!" "$(hello)"; }

# ---- attacks: "status|name|request" (printf format); each must close the connection ----------
ATTACKS=$(cat <<'EOF'
400|CL and TE|POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n
400|two differing CLs|POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!
400|TE gzip (chunked not last)|POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc
400|TE chunked, gzip|POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n
400|obs-fold|GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n
400|space before colon|POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello
400|bare CR|GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n
400|NUL byte|GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n
400|chunk size not hex|POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n
400|chunk size overflow|POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n
400|negative Content-Length|POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n
413|body over --max-body|POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n
EOF
)

# attack ARCH STATUS NAME BYTES-FILE: the first status line and a closed connection.
attack() {
    local a=$1 want=$2 name=$3 file=$4 out got
    out=$($RAW "$SRV_PORT" --idle 3 <"$file" | tr -d '\r')
    got=$(head -1 <<<"$out" | cut -d' ' -f2)
    check "$a: $name -> $want and close (got ${got:-nothing})" \
        [ "$got" = "$want" -a "$(tail -1 <<<"$out")" = EOF ]
}

case_attacks() {
    local a=$1 i=0 want name fmt f
    while IFS='|' read -r want name fmt; do
        f="$E2E_TMP/attack.$a.$((i++))"
        printf "$fmt" >"$f"
        attack "$a" "$want" "$name" "$f"
    done <<<"$ATTACKS"
    f="$E2E_TMP/attack.$a.big"
    local a9k; a9k=$(head -c 9000 /dev/zero | tr '\0' a)
    printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$a9k" >"$f"
    attack "$a" 431 "header over --max-header-bytes" "$f"
    { printf 'GET / HTTP/1.1\r\nHost: x\r\n'; printf 'X-%d: a\r\n' $(seq 1 101); printf '\r\n'; } \
        >"$f"
    attack "$a" 431 "101 headers (over --max-headers)" "$f"
    printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$a9k" >"$f"
    attack "$a" 414 "request line of 9 KB" "$f"
    still_serving "$a: serving after every attack"
    local body
    body=$(printf '%s\r\n' 'POST /echo HTTP/1.1' 'Host: x' 'Transfer-Encoding: chunked' \
        'Connection: close' '' 5 hello '6;x=y' ' world' 0 '' \
        | $RAW "$SRV_PORT" | tr -d '\r' | tail -2 | head -1)
    expect_eq "$a: chunked request body echoed" "hello world" "$body"
}

case_static() {
    local a=$1 u=$SRV_URL
    st() { curl -s -o /dev/null -m 5 -w '%{http_code}' --path-as-is "$u$1"; }
    expect_eq "$a: dotfile 404" 404 "$(st /static/.hidden)"
    expect_eq "$a: directory, no listing: 404" 404 "$(st /static/sub/)"
    expect_eq "$a: symlink out of --root 404" 404 "$(st /static/escape)"
    expect_eq "$a: ../ out of --root 400" 400 "$(st /static/../secret.txt)"
    expect_eq "$a: regular file 200" 200 "$(st /static/sub/page.html)"
}

# Each timeout on its own server with short values; report which ones close without 408.
case_timeouts() {
    local a=$1 line kind res detail serial=()
    [ "$a" = iterative ] && serial=(--serial "$a")
    hstart "$a.to" "$a" --root "$WWW" --threads 4 -q --header-timeout 1s --body-timeout 1s \
        --idle-timeout 8s --send-timeout 1s || { not_ok "$a: timeouts server: no start"; return; }
    while read -r _ kind res detail; do
        check "$a: $kind timeout: $detail" [ "$res" = ok ]
    done < <($HOSTILE timeouts "$a:$SRV_PORT" "${serial[@]}" --header 1 --body 1 --idle 8 --send 1 \
        --big /static/big.bin --size "$BIG_BYTES")
    still_serving "$a: serving after the timeouts"
    stop_pid "$SRV_PID" >/dev/null
}

# --max-conns 10: ten held connections are served, the eleventh gets 503 and is closed.
case_max_conns() {
    local a=$1 r user=()
    if [ "$a" = iterative ]; then
        skip "$a: --max-conns (one connection at a time; the rest wait in the backlog)"
        return
    fi
    [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && user=(--user nobody)
    hstart "$a.mc" "$a" --threads 16 -q --max-conns 10 "${user[@]}" \
        || { not_ok "$a: --max-conns server did not start"; return; }
    if [ ${#user[@]} -gt 0 ]; then
        expect_eq "$a: --user nobody drops root" "$(id -u nobody)" \
            "$(awk '/^Uid:/ {print $3}' "/proc/$SRV_PID/status")"
    fi
    exec 7< <($HOSTILE hold "$SRV_PORT" 10 --request --until "$E2E_TMP/go.$a.mc")
    read -r r <&7
    expect_eq "$a: 10 connections under --max-conns 10 served" \
        "held ok=10 refused=0 closed=0 waiting=0" "$r"
    local out
    out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | $RAW "$SRV_PORT" --idle 3 | tr -d '\r')
    # Closed at once, so the unread request may turn the close into a reset.
    local end; end=$(tail -1 <<<"$out" | grep -xE "EOF|RESET")
    check "$a: the 11th gets 503 and is closed" \
        [ "$(head -1 <<<"$out")" = "HTTP/1.1 503 Service Unavailable" -a -n "$end" ]
    touch "$E2E_TMP/go.$a.mc"
    exec 7<&-
    sleep 0.3
    still_serving "$a: serving once they close"
    stop_pid "$SRV_PID" >/dev/null
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# Under 64 file descriptors, 100 connections: no spinning, 503 for the excess, and serving
# again once they close.
case_emfile() {
    local a=$1 r t0 t1
    LAUNCH="prlimit --nofile=64:64" hstart "$a.fd" "$a" --threads 4 -q \
        || { not_ok "$a: server under prlimit did not start"; return; }
    exec 7< <($HOSTILE hold "$SRV_PORT" 100 --request --until "$E2E_TMP/go.$a.fd")
    read -r r <&7
    t0=$(cpu_ticks "$SRV_PID")
    sleep 2
    t1=$(cpu_ticks "$SRV_PID")
    local ms=$(( (t1 - t0) * 1000 / $(getconf CLK_TCK) ))
    if [ "$a" = nonblock ]; then
        ok "$a: 100 connections at 64 fds: $r, ${ms} ms CPU in 2 s (busy polling by design)"
    else
        timing_check "$a: 100 connections at 64 fds: $r, ${ms} ms CPU in 2 s (no spinning)" \
            [ "$ms" -lt 400 ]
    fi
    touch "$E2E_TMP/go.$a.fd"
    exec 7<&-
    local got=""
    for _ in $(seq 1 30); do got=$(hello); [ "$got" = "Hello, World!" ] && break; sleep 0.1; done
    expect_eq "$a: serving again once they close" "Hello, World!" "$got"
    stop_pid "$SRV_PID" >/dev/null
}

# wait_exit PID SECONDS: waits for PID (a child of this shell) to exit; sets EXIT_RC (999 when
# it is still running) and EXIT_MS.
wait_exit() {
    local pid=$1 t0; t0=$(date +%s%N)
    for _ in $(seq 1 $(( $2 * 20 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    EXIT_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
    if kill -0 "$pid" 2>/dev/null; then EXIT_RC=999; return; fi
    wait "$pid" 2>/dev/null
    EXIT_RC=$?
}

case_signals() {
    local a=$1
    # Idle keep-alive connections do not hold up a graceful exit.
    hstart "$a.sig1" "$a" --threads 8 -q || { not_ok "$a: server did not start"; return; }
    exec 7< <($HOSTILE hold "$SRV_PORT" 5 --request --until "$E2E_TMP/go.$a.sig1")
    read -r _ <&7
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 5
    timing_check "$a: SIGTERM with 5 idle keep-alive connections: exit $EXIT_RC after $EXIT_MS ms" \
        [ "$EXIT_RC" = 0 ]
    touch "$E2E_TMP/go.$a.sig1"
    exec 7<&-
    # A request in flight past --drain-timeout: the server exits anyway.
    hstart "$a.sig2" "$a" --threads 8 -q --drain-timeout 1s || return
    curl -s -m 10 -o /dev/null "$SRV_URL/work?io_us=8000000" &
    sleep 0.3
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 5
    timing_check "$a: --drain-timeout 1s with a request in flight: exit $EXIT_RC after $EXIT_MS ms" \
        [ "$EXIT_RC" != 999 -a "$EXIT_MS" -lt 3000 ]
    # A second SIGTERM exits at once, status 1.
    hstart "$a.sig3" "$a" --threads 8 -q || return
    curl -s -m 10 -o /dev/null "$SRV_URL/work?io_us=8000000" &
    sleep 0.3
    kill -TERM "$SRV_PID"
    sleep 0.3
    local is_alive=0; kill -0 "$SRV_PID" 2>/dev/null && is_alive=1
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 5
    # "At once" is milliseconds; the bound leaves room for TSan, which defers signal handlers.
    timing_check "$a: draining, a second SIGTERM exits at once: exit $EXIT_RC after $EXIT_MS ms" \
        [ "$is_alive" = 1 -a "$EXIT_RC" = 1 -a "$EXIT_MS" -lt 2000 ]
}

arch_job() {
    local a=$1
    if ! hstart "$a" "$a" --root "$WWW" --threads 8 -q; then
        not_ok "$a: server did not start: $(cat "$E2E_TMP/err.$a")"
        return
    fi
    case_attacks "$a"
    case_static "$a"
    still_serving "$a: serving after the static-file probes"
    stop_pid "$SRV_PID" >/dev/null
    case_timeouts "$a"
    case_max_conns "$a"
    case_emfile "$a"
    case_signals "$a"
}

# ---- slowloris: 500 connections per server dripping a header byte every 5 s ------------------
# The blocking and busy-polling architectures run during the per-architecture jobs (their
# latency is only reported); the event-driven ones run alone at the end (it is asserted).
slowloris() {
    local group=$1; shift
    local specs=() a
    for a in "$@"; do
        hstart "$a.sl" "$a" --threads 8 -q || { not_ok "$a: slowloris server: no start"; continue; }
        specs+=("$a:$SRV_PORT")
        echo "$SRV_PID" >"$E2E_TMP/slpid.$a"
    done
    [ ${#specs[@]} -eq 0 ] && return
    local name p50 max rest
    while read -r name p50 max rest; do
        p50=${p50#p50_ms=}; max=${max#max_ms=}
        local line="$name: slowloris, a normal client served in $p50 ms (median), $max ms (max)"
        [ "$p50" = -1.0 ] && line="$name: slowloris, a normal client never served (probes: 5 s)"
        line+="; $rest"
        if [ "$group" = event ]; then
            timing_check "$line" awk -v m="$max" -v r="$rest" \
                'BEGIN { exit !(m >= 0 && m < 50 && r ~ /failed=0 /) }'
        else
            ok "$line (not asserted)"
        fi
    done < <($HOSTILE slowloris "${specs[@]}" --conns 500 --interval 5 --duration 15 --settle 2)
    for a in "$@"; do
        [ -s "$E2E_TMP/slpid.$a" ] && stop_pid "$(cat "$E2E_TMP/slpid.$a")" >/dev/null
    done
}
ev=(); other=()
for arch in $ARCHS; do
    if [[ "$EVENT_ARCHS" == *" $arch "* ]]; then ev+=("$arch"); else other+=("$arch"); fi
done
[ ${#other[@]} -gt 0 ] && slowloris other "${other[@]}" >"$E2E_TMP/tap.slowloris" 2>&1 &
sl_pid=$!

jobs_pids=()
for arch in $ARCHS; do
    arch_job "$arch" >"$E2E_TMP/tap.$arch" 2>&1 &
    jobs_pids+=($!)
done
wait "${jobs_pids[@]}" "$sl_pid"
for f in $ARCHS slowloris; do
    [ -f "$E2E_TMP/tap.$f" ] || continue
    grep -E '^(ok|not ok|skip)' "$E2E_TMP/tap.$f"
    grep -q '^not ok' "$E2E_TMP/tap.$f" && E2E_FAILED=1
done
[ ${#ev[@]} -gt 0 ] && slowloris event "${ev[@]}"
e2e_done

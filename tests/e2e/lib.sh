#!/usr/bin/env bash
# Shared helpers for end-to-end tests: start servers on free ports, TAP-style results,
# and a trap that kills every process the test started (by PID, never by name).
# Source it: . "$(dirname "$0")/lib.sh"
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SRVLAB=${SRVLAB:-./srvlab}
E2E_TMP=$(mktemp -d /tmp/srvlab-e2e.XXXXXX)
E2E_PIDS=()
E2E_FAILED=0

e2e_cleanup() {
    # TERM first so that servers with worker processes (nginx, fork) take their children along.
    for pid in "${E2E_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${E2E_PIDS[@]}"; do
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT INT TERM

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; E2E_FAILED=1; }
skip()   { echo "skip - $*"; }
# check NAME CMD...: runs CMD, ok when it exits 0.
check()  { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# timing_check NAME CMD...: a check about elapsed time. Under sanitizers (SRVLAB_SAN set by
# `make test SAN=...`) the server runs several times slower, so a miss there is reported as a
# skip, not judged: those runs are about memory errors and races, not speed.
timing_check() {
    if [ -z "${SRVLAB_SAN:-}" ]; then check "$@"; return; fi
    local name=$1; shift
    if "$@"; then ok "$name"; else skip "$name (timing not judged under -fsanitize=$SRVLAB_SAN)"; fi
}
# expect_eq NAME EXPECTED ACTUAL
expect_eq() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi; }
e2e_done() { exit $E2E_FAILED; }

# wait_port PORT [HOST]: waits up to 5 s until something accepts on HOST:PORT.
wait_port() {
    local host=${2:-127.0.0.1}
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# free_port: prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_srvlab ARCH [serve options...]: starts `srvlab serve` on a free port.
# Sets SRV_PID, SRV_PORT, SRV_URL; server stderr goes to $E2E_TMP/serve-$SRV_PID.log.
start_srvlab() {
    local arch=$1; shift
    local pf="$E2E_TMP/port.$RANDOM$RANDOM"
    "$SRVLAB" serve --arch "$arch" --port 0 --port-file "$pf" "$@" \
        >"$E2E_TMP/serve.out" 2>"$E2E_TMP/serve.err" &
    SRV_PID=$!
    E2E_PIDS+=("$SRV_PID")
    for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
    SRV_PORT=$(cat "$pf" 2>/dev/null)
    SRV_URL="http://127.0.0.1:$SRV_PORT"
    [ -n "$SRV_PORT" ] && wait_port "$SRV_PORT"
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL. Prints the exit status.
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo $?
}

# start_nginx [WORKERS]: starts Debian's nginx on a free port serving the 13-byte hello body.
# Sets NGINX_PID, NGINX_PORT. Returns 1 (test should skip) when nginx is not installed.
start_nginx() {
    local workers=${1:-1}
    local nginx_bin; nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx_bin" ] || return 1
    NGINX_PORT=$(free_port)
    local dir="$E2E_TMP/nginx.$NGINX_PORT"; mkdir -p "$dir/logs"
    sed -e "s/@PORT@/$NGINX_PORT/" -e "s/@WORKERS@/$workers/" -e "s#@DIR@#$dir#" \
        peers/nginx.conf >"$dir/nginx.conf"
    "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
        >"$dir/logs/stdout" 2>&1 </dev/null &
    NGINX_PID=$!
    E2E_PIDS+=("$NGINX_PID")
    wait_port "$NGINX_PORT"
}

# json FILE EXPR: prints the Python expression EXPR over FILE's JSON document, named d
# (e.g. json r.json 'd["ok"]'); nothing when FILE is missing or is not JSON.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

# load_quiet [load options] URL: `srvlab load --quiet`, killed after $GUARD seconds (30 unless
# the test sets GUARD). Its stdout goes to $E2E_TMP/out, its stderr to $E2E_TMP/err; sets RC.
load_quiet() {
    timeout -s KILL "${GUARD:-30}" "$SRVLAB" load --quiet "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    RC=$?
}

# need_srvlab ARCH [serve options...]: start_srvlab, or, when the server does not start, a
# failed check and the end of the test.
need_srvlab() {
    start_srvlab "$@" && return 0
    not_ok "srvlab serve --arch $1 starts"
    e2e_done
}

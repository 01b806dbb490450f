#!/usr/bin/env bash
# --procs N: a master and N worker processes on one port. Connections spread over the workers,
# more connections than one process's fd limit are held and answered, SIGTERM drains every
# worker and the master exits 0 with none left behind, a second SIGTERM exits at once, a
# killed worker is reported and replaced, --stats comes from the master, bad values exit 2.
. "$(dirname "$0")/lib.sh"

workers() { ps --ppid "$1" -o pid= 2>/dev/null | tr -d ' ' | sort -n; }
nworkers() { workers "$1" | grep -c .; }
# term_wait PID: SIGTERM, wait up to 10 s (then SIGKILL); sets RC.
term_wait() {
    kill -TERM "$1"
    for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$1" 2>/dev/null
    wait "$1"; RC=$?
}
# none_left PIDS...: true when none of PIDS is still running.
none_left() { for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
# exited RC PIDS...: true when the server's status was RC and none of PIDS is left.
exited() { local want=$1; shift; [ "$RC" = "$want" ] && none_left "$@"; }
socks_of() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'socket:'; }

# Bad values: one line, exit 2.
for v in 0 -1 1025 x ''; do
    "$SRVLAB" serve --procs "$v" --port 0 >/dev/null 2>"$E2E_TMP/bad.err"; rc=$?
    expect_eq "--procs '$v' exits 2" 2 "$rc"
done
check "--procs 0 says why in one line" \
    [ "$(wc -l <"$E2E_TMP/bad.err")" = 1 -a "$(grep -c 'process count' "$E2E_TMP/bad.err")" = 1 ]

# Every architecture runs under --procs 2: it answers, and SIGTERM drains both workers.
for a in $("$SRVLAB" serve --list-archs); do
    start_srvlab "$a" --procs 2 -q || { not_ok "$a --procs 2: starts"; continue; }
    ws=$(workers "$SRV_PID")
    body=$(curl -s -m 5 "$SRV_URL/")
    if [ "$a" = uring ] && ! kill -0 "$SRV_PID" 2>/dev/null; then
        wait "$SRV_PID"; skip "uring --procs 2 (io_uring unavailable here: exit $?)"; continue
    fi
    expect_eq "$a --procs 2: two workers, one answer" "2 Hello, World!" "$(echo "$ws" | grep -c .) $body"
    term_wait "$SRV_PID"
    check "$a --procs 2: SIGTERM exits 0, no worker left" exited 0 $ws
done
start_srvlab reactors --procs 2 --listener exclusive -q
expect_eq "reactors --listener exclusive --procs 2 answers" "Hello, World!" "$(curl -s -m 5 "$SRV_URL/")"
term_wait "$SRV_PID"
expect_eq "reactors --listener exclusive --procs 2: exit 0" 0 "$RC"

# More connections than one process may have fds: the hard and soft limit lowered to 1024
# for the server, 3,000 idle keep-alive connections over 4 workers, then all answered again.
# The banner shows the per-process limit; every worker holds a share and none holds 1024.
pf="$E2E_TMP/big.port"
(ulimit -n 1024 && exec "$SRVLAB" serve --arch green --procs 4 --port 0 --port-file "$pf") \
    >"$E2E_TMP/big.out" 2>"$E2E_TMP/big.err" &
big=$!
E2E_PIDS+=("$big")
for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
port=$(cat "$pf")
check "banner: procs=4, nofile=1024 per process" grep -q 'procs=4 .*nofile=1024 per process' "$E2E_TMP/big.out"
go="$E2E_TMP/go"
python3 tests/e2e/idleconns.py "$port" 3000 --sources 2 --go-file "$go" --timeout 20 \
    >"$E2E_TMP/idle.out" 2>&1 &
client=$!
for _ in $(seq 1 300); do grep -q '^ready' "$E2E_TMP/idle.out" && break; sleep 0.1; done
expect_eq "3,000 idle connections held by 4 workers of 1,024 fds" "ready n=3000 ok=3000" \
    "$(grep '^ready' "$E2E_TMP/idle.out")"
ws=$(workers "$big")
shares=$(for w in $ws; do socks_of "$w"; done | tr '\n' ' ')
echo "# sockets per worker (listeners included): $shares"
spread() {
    local n=0
    for s in $shares; do [ "$s" -ge 300 ] && [ "$s" -lt 1024 ] || return 1; n=$((n + 1)); done
    [ "$n" = 4 ]
}
check "each of the 4 workers holds 300..1023 of them ($shares)" spread
touch "$go"
wait "$client"
check "every one answered again" grep -q '^again ok=3000 ' "$E2E_TMP/idle.out"
requests=$(curl -s -m 5 "http://127.0.0.1:$port/metrics" | awk '$1 ~ /^srvlab_requests_total/ && /2xx/ {print $2}')
expect_eq "/metrics from any worker counts all workers' requests" 6000 "$requests"
term_wait "$big"
check "SIGTERM: exit 0, no worker left" exited 0 $ws

# A worker killed by a signal is reported (even with -q) and replaced; the server keeps serving
# and still exits 0 when told to stop.
start_srvlab epoll --procs 3 -q
ws=$(workers "$SRV_PID")
victim=$(echo "$ws" | head -1)
kill -KILL "$victim"
for _ in $(seq 1 100); do
    [ "$(nworkers "$SRV_PID")" = 3 ] && ! workers "$SRV_PID" | grep -qx "$victim" && break
    sleep 0.05
done
check "killed worker reported with its signal" \
    grep -q "worker $victim killed by signal 9" "$E2E_TMP/serve.err"
check "killed worker replaced: 3 workers again" [ "$(nworkers "$SRV_PID")" = 3 ]
expect_eq "still answers after a worker died" "Hello, World!" "$(curl -s -m 5 "$SRV_URL/")"
ws=$(workers "$SRV_PID")
term_wait "$SRV_PID"
check "then SIGTERM: exit 0, no worker left" exited 0 $ws

# A worker that cannot start (here: 6 descriptors leave green no room for its second
# scheduler's listener) is not replaced: the master stops the others and exits with its status.
(ulimit -n 6 && exec "$SRVLAB" serve --arch green --threads 2 --procs 2 --port 0 -q) \
    >/dev/null 2>"$E2E_TMP/nostart.err" </dev/null
rc=$?
if grep -q 'listen on' "$E2E_TMP/nostart.err"; then
    skip "worker that cannot start (the master itself had no descriptor left here)"
else
    check "a worker that cannot start: reported, not replaced, exit 1 (got $rc)" \
        [ "$rc" = 1 -a "$(grep -c 'cannot start is not replaced' "$E2E_TMP/nostart.err")" = 1 ]
fi

# Drain: a request in flight at SIGTERM is answered; a second SIGTERM exits at once (status 1)
# and takes the workers along.
start_srvlab epoll --procs 2 -q
ws=$(workers "$SRV_PID")
curl -s -m 10 -o /dev/null -w '%{http_code}' "$SRV_URL/work?io_us=1000000" >"$E2E_TMP/drain.code" &
c=$!
sleep 0.3
term_wait "$SRV_PID"
wait "$c"
expect_eq "SIGTERM with a request in flight: it is answered" 200 "$(cat "$E2E_TMP/drain.code")"
check "SIGTERM with a request in flight: exit 0, no worker left" exited 0 $ws
start_srvlab epoll --procs 2 -q
ws=$(workers "$SRV_PID")
curl -s -m 10 -o /dev/null "$SRV_URL/work?io_us=5000000" &
c=$!
sleep 0.3
kill -TERM "$SRV_PID"; sleep 0.2; t0=$(date +%s%N)
term_wait "$SRV_PID"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$c"
check "second SIGTERM: exit 1, no worker left" exited 1 $ws
timing_check "second SIGTERM: at once (${ms} ms; the request in flight had 5 s)" [ "$ms" -lt 2000 ]

# --stats is printed by the master, from every worker's counts.
start_srvlab epoll --procs 2 --stats 200ms
for _ in $(seq 1 20); do curl -s -m 5 -o /dev/null "$SRV_URL/"; done
sleep 0.5
check "--stats: the master's lines count the workers' requests" \
    grep -qE 'stats: [1-9][0-9]* req/s' "$E2E_TMP/serve.err"
term_wait "$SRV_PID"
expect_eq "--stats --procs 2: exit 0" 0 "$RC"

e2e_done

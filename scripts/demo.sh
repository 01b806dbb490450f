#!/usr/bin/env bash
# make demo (after deps and build): every srvlab architecture and nginx, measured the same way
# by `srvlab sweep --quick` (about 3 minutes on 2 cores), then where the report is and the
# summary table. OUT=dir changes where it goes (default report/).
set -u
cd "$(dirname "$0")/.."
out=${OUT:-report}
if ! ./srvlab sweep --help >/dev/null 2>&1; then
    # Fallback for a tree where sweep is not built: one architecture, one load run.
    echo "demo: srvlab sweep is not available in this build; running one load instead" >&2
    ./srvlab serve --arch epoll --port 0 --port-file /tmp/srvlab-demo.port --quiet &
    pid=$!
    for _ in $(seq 1 50); do [ -s /tmp/srvlab-demo.port ] && break; sleep 0.1; done
    ./srvlab load -c 10 -d 3s "http://127.0.0.1:$(cat /tmp/srvlab-demo.port)/"
    kill -TERM "$pid"; wait "$pid"
    exit 0
fi
# The sweep prints the summary table itself; 130 means Ctrl-C (partial report kept).
./srvlab sweep --quick --archs all --peers nginx --out "$out/"
rc=$?
if [ -f "$out/index.html" ]; then
    echo
    echo "demo: the report is $(cd "$out" && pwd)/index.html"
    echo "demo: raw data beside it (sweep.json, runs/*/), rebuild with: ./srvlab report $out"
fi
exit "$rc"

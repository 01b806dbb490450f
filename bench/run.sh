#!/usr/bin/env bash
# make bench: every benchmark in bench/, one after the other, their markdown tables collected in
# build/bench-DATE.md (docs/benchmarks.md holds the curated results with their commands).
# Not a test and not run by CI: these take several minutes and want a quiet machine.
# Usage: bench/run.sh [--quick]
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
out="build/bench-$(date -u +%Y%m%dT%H%M%SZ).md"
mkdir -p build
{
    echo "# srvlab benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(machine)."
    echo
} >"$out"
for b in server_vs_nginx.sh uring.sh fiber.sh observability.sh load_vs_wrk.sh validate-queueing.sh; do
    echo "== bench/$b $*" | tee -a "$out"
    bash "bench/$b" "$@" 2>&1 | tee -a "$out"
    echo >>"$out"
done
echo "bench: tables written to $out (copy the ones you keep into docs/benchmarks.md)"

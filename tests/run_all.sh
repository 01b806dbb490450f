#!/usr/bin/env bash
# make test: unit tests (sanitized binaries given as arguments), then end-to-end tests.
# Prints the combined closing line "N passed, N failed" that CI reads.
set -u
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tests/run_unit.sh "$@" | tee build/unit.log; urc=${PIPESTATUS[0]}
bash tests/e2e/run.sh | tee build/e2e.log; erc=${PIPESTATUS[0]}
read -r up uf < <(sed -nE 's/^unit: ([0-9]+) passed, ([0-9]+) failed/\1 \2/p' build/unit.log)
read -r ep ef < <(sed -nE 's/^e2e: ([0-9]+) passed, ([0-9]+) failed/\1 \2/p' build/e2e.log)
echo "tests took $(( $(date +%s) - start ))s"
echo "$(( ${up:-0} + ${ep:-0} )) passed, $(( ${uf:-1} + ${ef:-1} )) failed"
[ "$urc" -eq 0 ] && [ "$erc" -eq 0 ]

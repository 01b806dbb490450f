#!/usr/bin/env bash
# Runs each cmocka unit-test binary given as an argument and prints one closing line:
# "unit: N passed, N failed". Exit status is non-zero when any test failed.
set -u
passed=0; failed=0; bad_bins=()
for bin in "$@"; do
    out=$(timeout 300 "$bin" 2>&1); rc=$?
    p=$(grep -Eo '\[  PASSED  \] [0-9]+' <<<"$out" | awk '{s+=$4} END {print s+0}')
    f=$(grep -Eo '\[  FAILED  \] [0-9]+ test' <<<"$out" | awk '{s+=$4} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ]; then
        bad_bins+=("$bin"); echo "$out" | grep -vE '^\[ (RUN|       OK) ' | tail -40
    fi
done
[ ${#bad_bins[@]} -gt 0 ] && echo "unit: failing: ${bad_bins[*]}"
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

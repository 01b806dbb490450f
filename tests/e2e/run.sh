#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh (or those named as arguments) against ./srvlab.
# Each test script prints "ok - NAME" / "not ok - NAME" lines (TAP style) and exits non-zero on failure.
# Closing line: "e2e: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(tests/e2e/test_*.sh)
passed=0; failed=0
for t in "${tests[@]}"; do
    echo "== $t"
    out=$(timeout 600 bash "$t" 2>&1); rc=$?
    echo "$out" | grep -E '^(ok|not ok|skip|#)' || true
    p=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^not ok ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1; echo "not ok - $t exited $rc"; echo "$out" | tail -20
    fi
    passed=$((passed + p)); failed=$((failed + f))
done
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

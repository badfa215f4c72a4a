#!/usr/bin/env bash
# scripts/run-tests.sh - run test suites and add up their results.
#
#   scripts/run-tests.sh heap-unit qemu-boot      (what `make test` runs)
#
# Each suite is a make target whose output ends with "N passed, N failed".
# Its output goes to the terminal and to build/test-logs/SUITE.log. A suite
# that fails without that line, or exits non-zero while reporting 0 failed,
# counts as 1 failed. Prints one summary line per suite, then the totals as
# "N passed, N failed"; exits 1 when anything failed.
set -u

cd "$(dirname "$0")/.." || exit 2
LOG_DIR=${BUILD:-build}/test-logs
RESULT_LINE='^[0-9]+ passed, [0-9]+ failed$'

total_passed=0
total_failed=0
summary=()

# Run one suite; add its counts to the totals and a line to the summary.
run_suite() {
    local suite=$1
    local log=$LOG_DIR/$suite.log
    local status result passed failed note=""

    echo "== $suite"
    make -s --no-print-directory "$suite" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    result=$(grep -E "$RESULT_LINE" "$log" | tail -n 1)

    if [ -z "$result" ]; then
        passed=0 failed=1
        note=" (exit status $status and no \"N passed, N failed\" line; see $log)"
    else
        passed=${result%% passed*}
        failed=${result#*passed, }
        failed=${failed%% failed}
        if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
            failed=1
            note=" (exit status $status although it reported 0 failed; see $log)"
        fi
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+=("  $suite: $passed passed, $failed failed$note")
}

if [ $# -eq 0 ]; then
    echo "usage: $0 SUITE..." >&2
    exit 2
fi
mkdir -p "$LOG_DIR" || exit 2
for suite in "$@"; do
    run_suite "$suite"
done

echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

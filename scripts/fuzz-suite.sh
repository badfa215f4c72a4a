#!/bin/sh
# scripts/fuzz-suite.sh - one fuzzer as a test suite, two checks: every saved
# input replays without a violation, and a bounded session started from them
# finds none. Used by make heap-fuzz and make slab-fuzz.
#
#   scripts/fuzz-suite.sh PROGRAM CORPUS WORKDIR 'OPTIONS' 'SESSION'
#
# OPTIONS go to every run (input limit, where crashing inputs go), SESSION
# only to the bounded one (seed and limits). New inputs of the session stay
# in WORKDIR/session, the logs in WORKDIR. Ends "N passed, N failed".
set -u
program=$1 corpus=$2 workdir=$3 options=$4 session=$5
passed=0 failed=0

rm -rf "$workdir/session" && mkdir -p "$workdir/session"

# pass NAME / fail NAME LOG: one test's result.
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { tail -n 25 "$2"; echo "FAIL $1 (log: $2)"; failed=$((failed + 1)); }

log=$workdir/replay.log
name="the saved corpus replays without a violation ($(ls "$corpus" | wc -l) inputs)"
# shellcheck disable=SC2086  # the options are words
if "$program" $options -runs=0 "$corpus" > "$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi

log=$workdir/session.log
name="a bounded fuzzing session finds no violation"
# shellcheck disable=SC2086
if "$program" $options $session "$workdir/session" "$corpus" > "$log" 2>&1; then
    pass "$name ($(grep -o 'Done [0-9]* runs in [0-9]* s' "$log" | cut -c6-))"
else
    fail "$name" "$log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

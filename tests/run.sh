#!/usr/bin/env bash
# tests/run.sh BUILD ASAN_BUILD — everything `make test` runs, in order:
#   1. the format check (clang-format --dry-run --Werror over tracked C)
#   2. the whole CTest suite in BUILD (unit, fuzz replays, integration, qemu)
#   3. the suite again in ASAN_BUILD under ASan+UBSan (qemu boots excluded:
#      the node image is freestanding and is not instrumented)
#   4. the benchmark smoke run, when bench/bench.mk provides it
# Ends with one line "tests: N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

build=${1:?usage: tests/run.sh BUILD ASAN_BUILD}
asan=${2:?usage: tests/run.sh BUILD ASAN_BUILD}
jobs=${JOBS:-2}
passed=0
failed=0
failures=()

# Adds a ctest run's counts from its summary line.
count_ctest() {
	local log=$1 what=$2 line total nfail
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		failures+=("$what: no ctest summary (see $log)")
		return
	fi
	nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/')
	total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
	passed=$((passed + total - nfail))
	failed=$((failed + nfail))
	[ "$nfail" -eq 0 ] || failures+=("$what: $nfail failed (see $log)")
}

step() { printf '\n== %s\n' "$*"; }

step "format check"
if make --no-print-directory format-check; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	failures+=("format: run 'make format'")
fi

step "suite ($build)"
(cd "$build" && ctest --output-on-failure -j"$jobs") 2>&1 | tee "$build/test.log"
count_ctest "$build/test.log" "suite"

step "suite under ASan+UBSan ($asan)"
(cd "$asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j"$jobs" -LE qemu) 2>&1 | tee "$asan/test.log"
count_ctest "$asan/test.log" "asan suite"

if make --no-print-directory -n bench-smoke >/dev/null 2>&1; then
	step "benchmark smoke run"
	if make --no-print-directory bench-smoke BUILD="$build"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("bench-smoke")
	fi
fi

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# The whole test suite: unit and end-to-end tests on a normal build, then
# again under AddressSanitizer + UndefinedBehaviorSanitizer.  Prints
# "N passed, N failed" last and exits non-zero if anything failed.
#   scripts/test.sh            both builds
#   scripts/test.sh --quick    the normal build only
set -u
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

passed=0
failed=0
status=0

run_suite() {	# $1 build dir, $2.. meson setup options
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null || { echo "meson setup $dir failed"; status=1; return; }
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir" | tail -30; echo "build $dir failed"; status=1; failed=$((failed + 1)); return; }
	meson test -C "$dir" --print-errorlogs --num-processes 2 --no-rebuild
	rc=$?
	[ $rc -eq 0 ] || status=1
	log="$dir/meson-logs/testlog.json"
	if [ -f "$log" ]; then
		p=$(grep -c '"result": "OK"' "$log")
		f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
		passed=$((passed + p))
		failed=$((failed + f))
	fi
	# Criterion runs tests in worker processes whose sanitizer reports do
	# not change its exit status: read the logs instead.
	txt="$dir/meson-logs/testlog.txt"
	if [ -f "$txt" ] && grep -qE 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$txt"; then
		echo "sanitizer reports in $txt:"
		grep -nE 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$txt" | head -20
		failed=$((failed + 1))
		status=1
	fi
}

run_suite build
if [ $quick -eq 0 ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp \
		run_suite build-asan -Db_sanitize=address,undefined -Dbuildtype=debug
fi
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ] || status=1
exit $status

#!/usr/bin/env bash
# Run the unit-test binary once per suite (CK_RUN_SUITE), each in a fresh
# process, and print one total line.  One process for all suites forks
# every test from an ever larger (under ASan: much larger) address space,
# which made the sanitizer run 2.5 times slower.  The suites are the
# *_suite() declarations in tests/suites.h.
#   tests/run_unit.sh BINARY
set -u
bin=$1
dir=$(dirname "$0")
checks=0 failures=0 errors=0 bad=0
for s in $(sed -n 's/^Suite \*\([a-z_0-9]*\)_suite(void);$/\1/p' "$dir/suites.h"); do
	out=$(CK_RUN_SUITE=$s CK_VERBOSITY=normal "$bin" 2>&1)
	rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out"
		echo "unit: suite $s: no summary (exit $rc)"
		bad=1
		continue
	fi
	# "100%: Checks: 68, Failures: 0, Errors: 0"
	set -- $(printf '%s\n' "$line" | sed 's/[^0-9 ]//g')
	checks=$((checks + $2)) failures=$((failures + $3)) errors=$((errors + $4))
	if [ $rc -ne 0 ] || [ "$3" != 0 ] || [ "$4" != 0 ]; then
		printf '%s\n' "$out" | grep -vE '^Running suite' 
		bad=1
	else
		printf '%s\n' "$out" | grep -vE '^Running suite|^[0-9]+%: Checks: '
		echo " $s: $2 checks ok"
	fi
done
echo "unit: $checks checks, $failures failures, $errors errors"
[ $bad -eq 0 ] && [ $failures -eq 0 ] && [ $errors -eq 0 ]

#!/usr/bin/env bash
# Run every integration test (t_*.sh) in its own process; print one line per
# check and a closing "integration: N passed, N failed" line.
set -u
cd "$(dirname "$0")"
passed=0
failed=0
times=""
for t in ${VIGIL_TESTS:-t_*.sh}; do   # VIGIL_TESTS="t_a.sh t_b.sh": only those
	echo "-- $t"
	t0=$SECONDS
	out=$(timeout 240 bash "$t" 2>&1)
	rc=$?
	times="$times ${t%.sh}=$((SECONDS - t0))s"
	echo "$out" | grep -v '^RESULT '
	res=$(echo "$out" | grep '^RESULT ' | tail -1)
	if [ -n "$res" ]; then
		set -- $res
		passed=$((passed + $3 - $4))
		failed=$((failed + $4))
	fi
	if [ $rc -ne 0 ] && { [ -z "$res" ] || [ "${4:-0}" -eq 0 ]; }; then
		echo "  [$t] FAIL: exited with status $rc (see ${VIGIL_TEST_LOGS:-tests/integration/logs}/)"
		failed=$((failed + 1))
	fi
done
echo "integration: $passed passed, $failed failed (${SECONDS}s:$times)"
[ $failed -eq 0 ]

#!/bin/sh
# Runs every fuzz target of nook for FUZZTIME each (default 30s; any value
# `go test -fuzztime` takes: 30s, 2m, 10000x). A target that finds a crash or
# a broken property writes the input to <package>/testdata/fuzz/<Target>/ and
# makes this script fail; the others still run. Seed corpora live in the same
# directories and run as ordinary tests with `go test`.
#
#   tests/fault/fuzz.sh            # 4 targets x 30s
#   FUZZTIME=5m tests/fault/fuzz.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
# target package, one per line
TARGETS='FuzzLoad ./spec/
FuzzMountOptions ./libcontainer/rootfs/
FuzzParseSignal ./cli/
FuzzCompile ./seccomp/'

failed=""
passed=0
echo "$TARGETS" | {
	while read -r target pkg; do
		echo "fuzz: $target ($pkg) for $FUZZTIME"
		log=$(mktemp) || exit 1
		ok=0
		"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1 && ok=1
		# Go's fuzzing engine sometimes fails to stop its workers in time on
		# a loaded machine ("context deadline exceeded", no input written):
		# that is not a finding, run the target once more.
		if [ $ok = 0 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
			echo "fuzz: $target: the fuzzing engine timed out stopping its workers (no failing input); once more"
			"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1 && ok=1
		fi
		if [ $ok = 0 ]; then
			tail -n 30 "$log"
			failed="$failed $target"
		else
			tail -n 1 "$log"
			passed=$((passed + 1))
		fi
		rm -f "$log"
	done
	# The counts, for make test's summary (tests/summary).
	echo "fuzz: $passed passed, $(echo $failed | wc -w) failed"
	if [ -n "$failed" ]; then
		echo "fuzz: FAILED:$failed (inputs saved under <package>/testdata/fuzz/<target>/)"
		exit 1
	fi
	echo "fuzz: all targets passed"
}

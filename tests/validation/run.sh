#!/usr/bin/env bash
# OCI runtime-tools v0.9.0 validation harness for nook (or any runc-compatible runtime).
#
#   RUNTIME=/path/to/runtime tests/validation/run.sh [test ...]
#
# No test names: every validation test. See tests/validation/README.md.
#
# Environment:
#   RUNTIME                      runtime to test (name or path; required)
#   NOOK_VALIDATION_CACHE        build cache       (default /var/cache/nook-validation)
#   NOOK_VALIDATION_OUT          results root      (default /tmp/nook-validation)
#   NOOK_VALIDATION_TIMEOUT      seconds per test  (default 120)
#   NOOK_VALIDATION_LOCK         suite lock file   (default /run/lock/nook-validation.lock)
#   NOOK_VALIDATION_REPORT_ONLY  1: always exit 0  (e.g. to run runc for comparison)
#   NOOK_VALIDATION_KEEP_TMP     1: keep each test's TMPDIR (bundles) for debugging
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
EXPECTED_FILE="$SCRIPT_DIR/expected-pass.txt"

CACHE=${NOOK_VALIDATION_CACHE:-/var/cache/nook-validation}
OUT_ROOT=${NOOK_VALIDATION_OUT:-/tmp/nook-validation}
TEST_TIMEOUT=${NOOK_VALIDATION_TIMEOUT:-120}
LOCK_FILE=${NOOK_VALIDATION_LOCK:-/run/lock/nook-validation.lock}
REPORT_ONLY=${NOOK_VALIDATION_REPORT_ONLY:-0}

# The throw-away module's requirements (see shared/VALIDATION-NOTES.md). runtime-tools v0.9.0 has no
# go.mod and its Godeps revisions are not served, so these pins are the ones known to build with Go 1.26.
RT_MOD=github.com/opencontainers/runtime-tools
REQUIRES='
github.com/opencontainers/runtime-tools v0.9.0
github.com/opencontainers/runtime-spec v1.0.2
github.com/mndrix/tap-go v0.0.0-20171203230836-629fa407e90b
github.com/satori/go.uuid v1.2.0
github.com/mrunalp/fileutils v0.5.0
github.com/syndtr/gocapability v0.0.0-20180916011248-d98352740cb2
github.com/hashicorp/go-multierror v1.0.0
github.com/sirupsen/logrus v1.8.1
github.com/opencontainers/selinux v1.9.1
github.com/xeipuuv/gojsonschema v1.2.0
github.com/blang/semver v3.5.1+incompatible
github.com/urfave/cli v1.19.1
golang.org/x/sys v0.1.0
'

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 2; }

[[ -n "${RUNTIME:-}" ]] || die "set RUNTIME=/path/to/runtime"
if [[ "$RUNTIME" == */* ]]; then
	RUNTIME_PATH=$(readlink -f "$RUNTIME")
else
	RUNTIME_PATH=$(command -v "$RUNTIME") || die "runtime '$RUNTIME' not found in PATH"
fi
[[ -x "$RUNTIME_PATH" ]] || die "runtime '$RUNTIME_PATH' is not executable"
RT_NAME=$(basename "$RUNTIME_PATH")
for tool in go flock timeout tar sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' is required"
done

# ---------------------------------------------------------------------------------------------------------
# Build (cached, keyed by this script's content + the Go toolchain)
# ---------------------------------------------------------------------------------------------------------

build_suite() {
	local tmp start end moddir
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/.build-XXXXXX")
	moddir="$tmp/mod"
	mkdir -p "$moddir" "$tmp/bin"
	{
		echo "module nookvalidation"
		echo
		echo "go 1.21"
		echo
		echo "require ("
		awk 'NF { print "\t" $0 }' <<<"$REQUIRES"
		echo ")"
	} >"$moddir/go.mod"
	start=$(date +%s)
	log "run.sh: building runtime-tools v0.9.0 validation suite into $BUILD (one-time, ~45 s)"
	(
		cd "$moddir"
		# Throw-away module only: old versions may be refused by the checksum DB, go.sum is filled here.
		export GOWORK=off GOTOOLCHAIN=local GOSUMDB=off GONOSUMDB='*' GONOSUMCHECK=1 GOFLAGS='-mod=mod -buildvcs=false'
		export CGO_ENABLED=0
		# The suite as its authors built it: not with the experiments nook is built with.
		unset GOEXPERIMENT
		go mod download "$RT_MOD"
		go build -trimpath -ldflags='-s -w' -o "$tmp/bin/" "$RT_MOD/validation/..."
		go build -trimpath -ldflags='-s -w' -o "$tmp/runtimetest" "$RT_MOD/cmd/runtimetest"
		src=$(go list -m -f '{{.Dir}}' "$RT_MOD")
		cp "$src/rootfs-$(go env GOARCH).tar.gz" "$tmp/"
	) >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; rm -rf "$tmp"; die "build failed"; }
	end=$(date +%s)
	echo "$((end - start))" >"$tmp/build-seconds"
	chmod -R u+w "$tmp"
	rm -rf "$BUILD"
	mv "$tmp" "$BUILD"
	log "run.sh: build done in $((end - start)) s"
}

# Cache key: the requirement list, the build recipe (this function's own text) and the Go toolchain, so
# edits elsewhere in this script do not force the ~45 s rebuild.
GO_VERSION=$(GOTOOLCHAIN=local go env GOVERSION)
KEY=$( { echo "$REQUIRES"; declare -f build_suite; echo "$GO_VERSION $(go env GOOS)/$(go env GOARCH)"; } |
	sha256sum | cut -c1-16)
BUILD="$CACHE/build-$KEY"

mkdir -p "$CACHE"
(
	flock 8
	[[ -f "$BUILD/build-seconds" ]] || build_suite
	touch "$BUILD"
	# Drop builds of other recipes not used for a week.
	find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'build-*' ! -path "$BUILD" \
		! -newermt "7 days ago" -exec rm -rf {} + 2>/dev/null || true
	find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name '.build-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
) 8>"$CACHE/build.lock"
GOARCH_=$(go env GOARCH)
[[ -f "$BUILD/rootfs-$GOARCH_.tar.gz" && -x "$BUILD/runtimetest" ]] || die "incomplete build in $BUILD"

# ---------------------------------------------------------------------------------------------------------
# Test selection
# ---------------------------------------------------------------------------------------------------------
mapfile -t ALL_TESTS < <(find "$BUILD/bin" -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
if (($# == 0)); then
	TESTS=("${ALL_TESTS[@]}")
else
	TESTS=()
	for t in "$@"; do
		[[ -x "$BUILD/bin/$t" ]] || die "unknown test '$t' (known: ${ALL_TESTS[*]})"
		TESTS+=("$t")
	done
fi

declare -A EXPECTED=()
if [[ -f "$EXPECTED_FILE" ]]; then
	while read -r name _; do
		[[ -z "$name" || "$name" == \#* ]] && continue
		EXPECTED[$name]=1
	done <"$EXPECTED_FILE"
fi

# ---------------------------------------------------------------------------------------------------------
# Run (serialised: the tests use fixed cgroup paths)
# ---------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$LOCK_FILE")"
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
	log "run.sh: another validation suite holds $LOCK_FILE; waiting"
	flock 9
fi

OUT="$OUT_ROOT/$RT_NAME"
mkdir -p "$OUT"
RUN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nook-validation-run.XXXXXX")
# Lazily detach mounts left under a directory. A container without its own mount namespace (e.g.
# linux_ns_itype) gets its rootfs mounts in ours, and they outlive `delete`. Deepest first.
unmount_under() {
	local dir=$1 m n=0
	while read -r m; do
		umount -l "$m" 2>/dev/null && n=$((n + 1))
	done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	((n == 0)) || log "run.sh: detached $n mount(s) left under $dir"
}
cleanup_run() {
	unmount_under "$RUN_TMP"
	rm -rf --one-file-system "$RUN_TMP" 2>/dev/null || true
}
trap cleanup_run EXIT
WORK="$RUN_TMP/work"
mkdir -p "$WORK"
cp "$BUILD/runtimetest" "$BUILD/rootfs-$GOARCH_.tar.gz" "$WORK/"

# Containers the runtime lists; empty (and no error) if `list` is unsupported.
list_containers() { "$RUNTIME_PATH" list -q 2>/dev/null | awk 'NF' | sort -u || true; }

# Force-delete containers that appeared during a test (never touch ones that existed before it).
cleanup_containers() {
	local before=$1 id
	while read -r id; do
		[[ -z "$id" ]] && continue
		log "run.sh: leftover container $id after $2: $RT_NAME delete --force"
		timeout 30 "$RUNTIME_PATH" delete --force "$id" >/dev/null 2>&1 || true
	done < <(comm -13 "$before" <(list_containers))
}

SUMMARY="$OUT/summary.txt"
TOTALS="$OUT/totals.tsv"
printf 'test\tstatus\tpassed\tfailed\tskipped\tplan\texit\tseconds\n' >"$TOTALS"
: >"$SUMMARY"
emit() { printf '%s\n' "$*"; printf '%s\n' "$*" >>"$SUMMARY"; }

KNOWN_FILE="$SCRIPT_DIR/known-failures.txt"
# all_known TEST TAPFILE: true if every "not ok" description of TEST contains
# one of the substrings known-failures.txt lists for TEST.
all_known() {
	local t=$1 tap=$2 line desc pat ok
	[[ -f "$KNOWN_FILE" ]] || return 1
	while IFS= read -r line; do
		desc=${line#not ok }
		desc=${desc#* - }
		ok=0
		while IFS='|' read -r kt pat _; do
			[[ "$kt" == "$t" && -n "$pat" && "$desc" == *"$pat"* ]] && { ok=1; break; }
		done < <(grep -v '^[[:space:]]*#' "$KNOWN_FILE")
		((ok)) || return 1
	done < <(grep -E '^not ok( |$)' "$tap")
	return 0
}

total_pass=0 total_fail=0
failed_tests=() unexpected=()
run_start=$(date +%s)
for t in "${TESTS[@]}"; do
	tdir=$(mktemp -d "$RUN_TMP/tmp-$t.XXXXXX")
	before="$RUN_TMP/before-$t"
	list_containers >"$before"
	t0=$(date +%s)
	rc=0
	(cd "$WORK" && exec env RUNTIME="$RUNTIME_PATH" TMPDIR="$tdir" \
		timeout -k 10 "$TEST_TIMEOUT" "$BUILD/bin/$t") >"$OUT/$t.tap" 2>"$OUT/$t.stderr" </dev/null || rc=$?
	secs=$(($(date +%s) - t0))
	cleanup_containers "$before" "$t"
	unmount_under "$tdir"
	if [[ "${NOOK_VALIDATION_KEEP_TMP:-0}" == 1 ]]; then
		log "run.sh: kept $tdir"
	else
		rm -rf --one-file-system "$tdir" 2>/dev/null || log "run.sh: could not remove $tdir (mounts left?)"
	fi

	# TAP counts. "ok N # SKIP" counts as skipped, not passed (as in VALIDATION-NOTES' reference totals). runtimetest's own results appear either
	# as the test's TAP (tests that run it as the container process) or JSON-quoted in a YAML diagnostic.
	read -r pass fail skip plan < <(awk '
		/^ok( |$)/      { if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) s++; else p++ }
		/^not ok( |$)/  { f++ }
		/^1\.\.[0-9]+/  { split($1, a, "\\.\\."); plan += a[2]; seen = 1 }
		END { printf "%d %d %d %s\n", p, f, s, (seen ? plan : "-") }' "$OUT/$t.tap")
	ran=$((pass + fail + skip))

	# Some tests print several TAP streams (one per sub-case): their plans are added up.
	status=ok note="" abnormal=""
	if ((rc == 0 && ran == 0)) && [[ "$plan" == 0 || "$plan" == - ]]; then
		# Plan 1..0 (hooks, prestart, ...) or no TAP at all (process_rlimits_fail when the runtime
		# rightly refuses): the test asserts nothing, its verdict is at most a YAML "error:" line.
		status=NOASSERT
		if [[ "$plan" == - ]]; then note=" # no TAP output"; fi
		err=$(grep -m1 -E '^[[:space:]]*"?error"?:' "$OUT/$t.tap" | sed -E 's/^[[:space:]]*//; s/\\n.*/"/' || true)
		if [[ -n "$err" ]]; then note=" # ${err:0:160}"; fi
	else
		abnormal=""
		if ((rc == 124 || rc == 137)); then
			abnormal="timeout after ${TEST_TIMEOUT}s"
		elif ((rc != 0)); then
			abnormal="exit $rc"
		elif [[ "$plan" == - ]]; then
			abnormal="no TAP plan"
		elif ((ran < plan)); then
			abnormal="ran $ran of $plan planned"
		fi
		if [[ -n "$abnormal" ]]; then
			# A crash / timeout / short run is a failure even if no "not ok" was printed.
			missing=0
			if [[ "$plan" != - ]] && ((plan > ran)); then missing=$((plan - ran)); fi
			if ((missing == 0 && fail == 0)); then missing=1; fi
			fail=$((fail + missing))
			note=" # $abnormal"
		fi
		if ((fail > 0)); then status=FAIL; fi
		# KNOWN: the test ran normally and every failed assertion is one that
		# known-failures.txt explains (a test bug, or what this machine lacks).
		if [[ "$status" == FAIL && -z "$abnormal" ]] && all_known "$t" "$OUT/$t.tap"; then
			status=KNOWN
			note=" # every failure is listed in known-failures.txt"
		fi
	fi

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	if [[ "$status" == FAIL ]]; then failed_tests+=("$t"); fi
	# A NOASSERT test whose only verdict (its YAML error line) is absent passed.
	passed=0
	if [[ "$status" == ok || "$status" == KNOWN || ("$status" == NOASSERT && "$note" != *'error'*) ]]; then passed=1; fi
	if [[ -n "${EXPECTED[$t]:-}" ]] && ((!passed)); then unexpected+=("$t"); fi
	printf '%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\n' "$t" "$status" "$pass" "$fail" "$skip" "$plan" "$rc" "$secs" >>"$TOTALS"
	emit "$status $t passed=$pass failed=$fail$note"
done
run_secs=$(($(date +%s) - run_start))

emit "run: ${#TESTS[@]} tests in ${run_secs}s; TAP in $OUT/ (summary.txt, totals.tsv)"
emit "tests with failures: ${failed_tests[*]:-none}"
if ((${#unexpected[@]})); then
	emit "expected-pass tests not passing: ${unexpected[*]}"
fi
emit "validation $RT_NAME totals: $total_pass assertions passed, $total_fail assertions failed"

if [[ "$REPORT_ONLY" == 1 ]]; then
	exit 0
fi
((${#unexpected[@]} == 0))

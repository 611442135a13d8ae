#!/usr/bin/env bash
# End-to-end tests of nook under real engines: podman (with conmon) and containerd (with its runc v2 shim),
# every scenario run with runc and with nook in the same run, side by side.
#
#   tests/engines/run.sh            # as root, from anywhere; `make e2e` runs it after `make build`
#
# Steps: install the engines from Debian's packages if missing (install.sh), build a busybox image from the
# host's /bin/busybox (image.sh), set up a private podman and a private containerd under one temp dir, run
# the scenarios (podman.sh, containerd.sh) with each runtime, print the table, clean everything up (also on
# failure or Ctrl-C). Exit status: 0 when every scenario that passes with runc passes with nook too;
# 1 when one does not; 2 when the set-up itself failed (install, image, engine start).
#
# Environment:
#   NOOK                 nook binary            (default: the repository's ./nook)
#   RUNC                 reference runtime      (default /usr/sbin/runc)
#   NOOK_E2E_ENGINES     engines to test        (default "podman containerd")
#   NOOK_E2E_RUNTIMES    runtimes to compare    (default "runc nook")
#   NOOK_E2E_FILTER      extended regexp on "engine/scenario" (default: all)
#   NOOK_E2E_TIMEOUT     seconds per scenario   (default 60)
#   NOOK_E2E_KEEP        1: keep the temp dir (logs, configs) after the run
#   NOOK_E2E_NO_INSTALL  1: do not run apt-get (fail if an engine is missing)
set -uo pipefail

E2E_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
REPO=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=lib.sh
source "$E2E_DIR/lib.sh"

NOOK=$(readlink -f "${NOOK:-$REPO/nook}")
RUNC=$(readlink -f "${RUNC:-/usr/sbin/runc}")
ENGINES=${NOOK_E2E_ENGINES:-podman containerd}
RUNTIMES=${NOOK_E2E_RUNTIMES:-runc nook}
FILTER=${NOOK_E2E_FILTER:-}
SCENARIO_TIMEOUT=${NOOK_E2E_TIMEOUT:-60}
KEEP=${NOOK_E2E_KEEP:-0}

((EUID == 0)) || die "must run as root (engines run rootful containers)"
[[ -x "$NOOK" ]] || die "no nook binary at $NOOK: run 'make build' first"

t_all=$(now_ms)
declare -A TIMES=()

# 1. Engines.
t0=$(now_ms)
if [[ "${NOOK_E2E_NO_INSTALL:-0}" != 1 ]]; then
	bash "$E2E_DIR/install.sh" || die "installing the engines failed"
fi
TIMES[install]=$(secs_since "$t0")
[[ -x "$RUNC" ]] || die "no runc at $RUNC"

# Everything this run makes lives under T, and under cgroups, a containerd namespace and names starting
# with TAG: unique, so several runs (or other tests on this shared machine) never meet.
T=$(mktemp -d /tmp/nook-e2e.XXXXXX)
TAG=nook-e2e-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The binary under test is copied, so a rebuild during the run cannot mix two versions of nook.
NOOK_SRC=$NOOK
NOOK=$T/bin/nook
export T TAG NOOK RUNC
# conmon writes an "oom" file into its working directory when a container is OOM-killed: keep that
# (and anything else an engine drops) out of the caller's directory, e.g. a repository checkout.
cd "$T" || die "cd $T"

for e in $ENGINES; do
	# shellcheck disable=SC1090
	source "$E2E_DIR/$e.sh"
done

cleanup() {
	local e
	trap - EXIT INT TERM
	for e in $ENGINES; do
		"${e}_teardown" 2>/dev/null
	done
	remove_cgroup_tree "$TAG"
	unmount_under "$T"
	if [[ "$KEEP" == 1 ]]; then
		log "engines: kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$T/logs" "$T/bin"
cp "$NOOK_SRC" "$NOOK" || die "cannot copy $NOOK_SRC"

echo "engines: nook $("$NOOK" --version | head -n 1 | awk '{print $3}') $("$NOOK" --version | awk '/^commit:/ {print $2}') ($NOOK_SRC) against runc $("$RUNC" --version | head -n 1 | awk '{print $3}') ($RUNC)"
echo "engines: $(env -u CONTAINERS_CONF -u CONTAINERS_STORAGE_CONF podman --version 2>/dev/null), conmon $(conmon --version 2>/dev/null | head -n 1 | awk '{print $3}'), containerd $(containerd --version 2>/dev/null | awk '{print $3}')"
echo "engines: temp dir $T, tag $TAG"

# 2. Image.
t0=$(now_ms)
bash "$E2E_DIR/image.sh" "$T/image" docker.io/library/nook-e2e-busybox:latest >"$T/logs/image.log" 2>&1 ||
	{ cat "$T/logs/image.log" >&2; die "building the image failed"; }
TIMES[image]=$(secs_since "$t0")

# 3. Scenarios, engine by engine; each with every runtime before the next scenario.
declare -A RESULT=() DURATION=()
ORDER=()
SETUP_FAILED=()
for e in $ENGINES; do
	t0=$(now_ms)
	if ! "${e}_setup" >"$T/logs/$e-setup.log" 2>&1; then
		cat "$T/logs/$e-setup.log" >&2
		log "engines: $e set-up failed: its scenarios are not run"
		SETUP_FAILED+=("$e")
		continue
	fi
	TIMES[$e-setup]=$(secs_since "$t0")
	t_engine=$(now_ms)
	declare -n list="${e^^}_SCENARIOS"
	for s in "${list[@]}"; do
		key="$e/$s"
		[[ -z "$FILTER" || "$key" =~ $FILTER ]] || continue
		ORDER+=("$key")
		for rt in $RUNTIMES; do
			logf="$T/logs/$e-$s-$rt.log"
			t0=$(now_ms)
			timeout -k 10 "$SCENARIO_TIMEOUT" bash "$E2E_DIR/scenario.sh" "$e" "$s" "$rt" </dev/null >"$logf" 2>&1
			rc=$?
			DURATION[$key/$rt]=$(secs_since "$t0")
			case $rc in
			0) RESULT[$key/$rt]=pass ;;
			124 | 137)
				RESULT[$key/$rt]=TIMEOUT
				echo "TIMEOUT after ${SCENARIO_TIMEOUT}s" >>"$logf"
				timeout 60 bash "$E2E_DIR/scenario.sh" "$e" "$s" "$rt" --cleanup </dev/null >>"$logf" 2>&1
				;;
			*) RESULT[$key/$rt]=FAIL ;;
			esac
			printf '  %-40s %-5s %-8s %5ss\n' "$key" "$rt" "${RESULT[$key/$rt]}" "${DURATION[$key/$rt]}"
		done
	done
	unset -n list
	TIMES[$e-scenarios]=$(secs_since "$t_engine")
	t0=$(now_ms)
	"${e}_teardown" >/dev/null 2>&1
	TIMES[$e-teardown]=$(secs_since "$t0")
done

# 4. The table, the failures, the timings.
echo
printf '%-40s %-9s %-9s %s\n' scenario runc nook ""
printf '%-40s %-9s %-9s %s\n' -------- ---- ---- ""
passed=0 failed=0 skipped=0
REGRESSIONS=()
for key in "${ORDER[@]}"; do
	r=${RESULT[$key/runc]:--} n=${RESULT[$key/nook]:--}
	note=""
	if [[ "$n" == pass ]]; then
		passed=$((passed + 1))
	elif [[ "$r" == pass || "$r" == - ]]; then
		failed=$((failed + 1))
		REGRESSIONS+=("$key")
		note="<-- nook differs"
	elif [[ "$n" != - ]]; then
		skipped=$((skipped + 1))
		note="(fails with runc too)"
	fi
	[[ "$r" != pass && "$r" != - && "$n" == pass ]] && note="(nook passes where runc fails)"
	printf '%-40s %-9s %-9s %s\n' "$key" "$r ${DURATION[$key/runc]:+${DURATION[$key/runc]}s}" \
		"$n ${DURATION[$key/nook]:+${DURATION[$key/nook]}s}" "$note"
done

if ((${#REGRESSIONS[@]} > 0)); then
	echo
	echo "nook failures (the scenario passes with runc):"
	for key in "${REGRESSIONS[@]}"; do
		e=${key%%/*} s=${key#*/}
		echo "--- $key (log $T/logs/$e-$s-nook.log)"
		# The commands and output that led to the failed check (the last line).
		tail -n 25 "$T/logs/$e-$s-nook.log" | sed 's/^/    /'
	done
fi

echo
timings="install ${TIMES[install]}s, image ${TIMES[image]}s"
for e in $ENGINES; do
	[[ -n "${TIMES[$e-scenarios]:-}" ]] &&
		timings+=", $e set-up ${TIMES[$e-setup]}s scenarios ${TIMES[$e-scenarios]}s teardown ${TIMES[$e-teardown]}s"
done
echo "timings: $timings, total $(secs_since "$t_all")s"
((skipped > 0)) && echo "skipped: $skipped scenario(s) failed with runc as well (this machine or the test, not nook)"
((${#SETUP_FAILED[@]} > 0)) && echo "set-up failed: ${SETUP_FAILED[*]}"
echo "engines: $passed passed, $failed failed, $skipped skipped"

if ((${#SETUP_FAILED[@]} > 0)); then
	exit 2
fi
((failed == 0))

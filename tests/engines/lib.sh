# Helpers shared by run.sh and the scenario files (sourced, never run).
#
# A scenario is a shell function `<engine>_<name> RUNTIME` (RUNTIME is `runc` or `nook`). It runs in a child
# bash (see scenario.sh) under a timeout, its output goes to a log file, and it returns 0 when the engine did
# what the scenario expects. Inside a scenario:
#   step CMD ARGS...      run CMD, log it, keep its combined output in $OUT and its status in $RC
#   want_rc N             fail unless $RC is N
#   want_out TEXT         fail unless $OUT contains TEXT (fixed string)
#   want_out_not TEXT     fail if $OUT contains TEXT
#   want_eq WHAT GOT WANT fail unless GOT equals WANT
#   wait_for SECS CMD...  retry CMD every 0.1 s until it succeeds or SECS pass
#   fail MESSAGE          print the reason and return 1
# Each want_* prints why it failed and returns 1, so a scenario reads `want_rc 0 || return 1`.

log() { printf '%s\n' "$*" >&2; }
die() {
	log "engines: $*"
	exit 2
}

now_ms() { date +%s%3N; }

# secs_since START_MS -> "12.3"
secs_since() {
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100))
}

step() {
	printf '$ %s\n' "$*"
	OUT=$("$@" 2>&1)
	RC=$?
	[[ -n "$OUT" ]] && printf '%s\n' "$OUT"
	printf '[exit %d]\n' "$RC"
	return 0
}

fail() {
	printf 'FAIL: %s\n' "$*"
	return 1
}

want_rc() {
	[[ "$RC" == "$1" ]] || fail "exit status $RC, want $1 (output: $(printf '%s' "$OUT" | tail -n 3 | tr '\n' ' '))"
}

want_out() {
	[[ "$OUT" == *"$1"* ]] || fail "output lacks '$1' (output: $(printf '%s' "$OUT" | tail -n 3 | tr '\n' ' '))"
}

want_out_not() {
	[[ "$OUT" != *"$1"* ]] || fail "output has '$1' (output: $(printf '%s' "$OUT" | tail -n 3 | tr '\n' ' '))"
}

want_eq() {
	[[ "$2" == "$3" ]] || fail "$1 is '$2', want '$3'"
}

wait_for() {
	local secs=$1
	shift
	local deadline=$(($(now_ms) + secs * 1000))
	while ! "$@" >/dev/null 2>&1; do
		(($(now_ms) < deadline)) || return 1
		sleep 0.1
	done
}

# unmount_under DIR: lazily unmount every mount at or below DIR, deepest first (cleanup of engines'
# storage and rootfs mounts that a failed run left behind).
unmount_under() {
	local dir=$1 mnt
	[[ -n "$dir" && "$dir" == /* && "$dir" != / ]] || return 0
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r mnt; do
			umount -l "$mnt" 2>/dev/null || true
		done
}

# remove_cgroup_tree NAME: kill what is left in /sys/fs/cgroup/*/NAME (processes our engines started) and
# remove those directories depth-first. NAME is one of our unique top-level names, never a host cgroup.
remove_cgroup_tree() {
	local name=$1 top dir pid
	[[ -n "$name" && "$name" != */* ]] || return 0
	for top in /sys/fs/cgroup/"$name" /sys/fs/cgroup/*/"$name"; do
		[[ -d "$top" ]] || continue
		# A frozen cgroup cannot be emptied: thaw first (v1 freezer and v2 cgroup.freeze).
		find "$top" -name freezer.state -exec sh -c 'echo THAWED > "$1"' _ {} \; 2>/dev/null
		find "$top" -name cgroup.freeze -exec sh -c 'echo 0 > "$1"' _ {} \; 2>/dev/null
		find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r pid; do
			kill -9 "$pid" 2>/dev/null || true
		done
	done
	for top in /sys/fs/cgroup/"$name" /sys/fs/cgroup/*/"$name"; do
		[[ -d "$top" ]] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
			[[ -d "$top" ]] || break
			sleep 0.2
		done
		[[ -d "$top" ]] && log "engines: cleanup: could not remove cgroup $top"
	done
	return 0
}

# kill_pids_matching TEXT: SIGKILL the processes whose command line contains TEXT. TEXT is a path under our
# temp dir (a socket or root we created), so only processes this run started can match.
kill_pids_matching() {
	local text=$1 p
	[[ -n "$text" ]] || return 0
	for p in /proc/[0-9]*; do
		[[ "${p#/proc/}" == "$$" ]] && continue
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$text"; then
			kill -9 "${p#/proc/}" 2>/dev/null || true
		fi
	done
}

# delete_runtime_containers RUNTIME_BIN ROOT_FLAG_OR_EMPTY PREFIX: force-delete the containers a runtime
# still lists whose bundle lies under PREFIX (our temp dir), for when an engine failed to clean up.
delete_runtime_containers() {
	local bin=$1 root=$2 prefix=$3 id
	local -a g=()
	[[ -n "$root" ]] && g=(--root "$root")
	"$bin" "${g[@]}" list --format json 2>/dev/null |
		jq -r --arg p "$prefix" '(. // [])[] | select(.bundle | startswith($p)) | .id' 2>/dev/null |
		while read -r id; do
			"$bin" "${g[@]}" delete --force "$id" >/dev/null 2>&1 || true
		done
}

# host_cgroup_dir PID CONTROLLER: the host directory of PID's cgroup for a v1 controller (hybrid hosts), or
# its cgroup2 directory when the controller has no v1 hierarchy. Limits are read there, from the host,
# because not every engine mounts /sys/fs/cgroup into the container (ctr's default spec does not).
host_cgroup_dir() {
	local pid=$1 ctrl=$2 line
	if line=$(grep -E "^[0-9]+:([^:]*,)?$ctrl(,[^:]*)?:" "/proc/$pid/cgroup" 2>/dev/null) &&
		[[ -d "/sys/fs/cgroup/$ctrl" ]]; then
		printf '/sys/fs/cgroup/%s%s' "$ctrl" "${line#*:*:}"
	else
		line=$(grep '^0::' "/proc/$pid/cgroup" 2>/dev/null) || return 1
		printf '/sys/fs/cgroup%s' "${line#0::}"
	fi
}

# cgroup_limit PID memory|cpu|pids: the limit the runtime wrote, in one format for v1 and v2:
# memory in bytes, cpu as "QUOTA PERIOD", pids as a number.
cgroup_limit() {
	local pid=$1 what=$2 dir
	dir=$(host_cgroup_dir "$pid" "$what") || return 1
	case $what in
	memory) cat "$dir/memory.limit_in_bytes" 2>/dev/null || cat "$dir/memory.max" ;;
	cpu)
		if [[ -e "$dir/cpu.cfs_quota_us" ]]; then
			echo "$(cat "$dir/cpu.cfs_quota_us") $(cat "$dir/cpu.cfs_period_us")"
		else
			cat "$dir/cpu.max"
		fi
		;;
	pids) cat "$dir/pids.max" ;;
	esac
}

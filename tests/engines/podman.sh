# podman scenarios (sourced by run.sh and scenario.sh, never run).
#
# podman 4.3 + conmon drive the runtime exactly as the README tells users to set it up: a containers.conf
# with `[engine.runtimes] nook = [...]` and nook in `runtime_supports_json`, then `podman --runtime nook`.
# What the test adds is isolation from the host's podman: its own containers.conf and storage.conf
# (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF) with storage, run and tmp dirs under $T/podman, cgroupfs
# (systemd is not PID 1 here), the file events backend, --network none, a cgroup parent named $TAG, and
# ulimits no higher than this sandbox's hard limits (podman's default nofile hard limit is 1048576).
#
# Every scenario gets RT (runc or nook) and names its containers with `cname`; scenario.sh removes them.

PODMAN_DIR=$T/podman
PODMAN_IMAGE=localhost/nook-e2e-busybox:latest
export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
export CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf

# shellcheck disable=SC2034 # read by run.sh through a nameref
PODMAN_SCENARIOS=(
	run_output run_exit_code run_missing_binary run_stdin run_tty run_interactive_tty create_start
	detached_ps_logs_stop stop_timeout_kill exec exec_tty exec_user_workdir_env exec_detach
	read_only user workdir env bind_mount tmpfs memory cpus pids_limit cap_drop privileged security_opts
	pause_unpause rm_force_paused kill_signal top stats restart rm_after_runtime_delete network_none hostname sysctl device ulimit
	seccomp uidmap join_pid_ns oom_kill checkpoint_restore
)

pm() { podman --runtime "$RT" "$@"; }

# prun ARGS...: `podman run` with this test's isolation flags.
prun() { podman --runtime "$RT" run --network none --cgroup-parent "/$TAG" "$@"; }

# shellcheck disable=SC2120 # the suffix is optional
cname() { printf '%s-%s-%s%s' "$TAG" "$SCENARIO" "$RT" "${1:+-$1}"; }

podman_setup() {
	mkdir -p "$PODMAN_DIR"/{storage,runroot,tmp,net,bind}
	cat >"$CONTAINERS_CONF" <<-EOF
		[containers]
		# This sandbox refuses hard rlimits above its own (podman's default nofile is 1048576).
		default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

		[network]
		network_config_dir = "$PODMAN_DIR/net"

		[engine]
		# Test isolation: systemd is not PID 1, no journald, no registry, a private tmp dir.
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		pull_policy = "never"
		tmp_dir = "$PODMAN_DIR/tmp"
		# What a user adds (README, "Using nook with podman"):
		runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "nook"]

		[engine.runtimes]
		nook = ["$NOOK"]
		runc = ["$RUNC"]
	EOF
	cat >"$CONTAINERS_STORAGE_CONF" <<-EOF
		[storage]
		driver = "overlay"
		graphroot = "$PODMAN_DIR/storage"
		runroot = "$PODMAN_DIR/runroot"
	EOF
	podman import --quiet --change CMD=/bin/sh "$T/image/rootfs.tar" "$PODMAN_IMAGE" >/dev/null ||
		{ log "podman import failed"; return 1; }
	podman image exists "$PODMAN_IMAGE" || { log "podman: image $PODMAN_IMAGE missing after import"; return 1; }
}

podman_teardown() {
	[[ -d "$PODMAN_DIR" ]] || return 0
	timeout 30 podman unpause --all >/dev/null 2>&1
	timeout 60 podman rm --all --force --time 0 >/dev/null 2>&1
	delete_runtime_containers "$NOOK" "" "$PODMAN_DIR"
	delete_runtime_containers "$RUNC" "" "$PODMAN_DIR"
	kill_pids_matching "$PODMAN_DIR/"
	remove_cgroup_tree "$TAG"
	unmount_under "$PODMAN_DIR"
	rm -rf "$PODMAN_DIR"
}

# Removes what one scenario left (called by scenario.sh after the scenario, pass or fail).
podman_scenario_cleanup() {
	local ids
	ids=$(podman ps -a -q --filter "name=^$TAG-$SCENARIO-$RT" 2>/dev/null)
	[[ -n "$ids" ]] || return 0
	# A frozen container cannot die: unpause first (fails harmlessly when it is not paused).
	timeout 30 podman unpause $ids >/dev/null 2>&1
	timeout 60 podman rm --force --time 0 $ids >/dev/null 2>&1
}

# In-container shell snippets that print a cgroup limit on v1 (hybrid) or v2.
CG_MEMORY='cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
CG_CPU='if [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); else cat /sys/fs/cgroup/cpu.max; fi'
CG_CPUSET='echo "cpuset=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus)."'
CG_PIDS='cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'

# A long-running container that reports SIGTERM and SIGUSR1 in its log and exits 0 on SIGTERM.
LOOPER='echo started; trap "echo got-USR1" USR1; trap "echo got-TERM; exit 0" TERM; while :; do sleep 0.1; done'

podman_logs_have() { podman logs "$1" 2>&1 | grep -qF -- "$2"; }
podman_status_is() { [[ "$(podman inspect --format '{{.State.Status}}' "$1" 2>/dev/null)" == "$2" ]]; }

# start_looper NAME [RUN FLAGS...]: a detached LOOPER, waited for until it has printed "started".
start_looper() {
	local n=$1
	shift
	step prun -d --name "$n" "$@" "$PODMAN_IMAGE" sh -c "$LOOPER"
	want_rc 0 || return 1
	wait_for 20 podman_logs_have "$n" started || fail "container $n never printed 'started'"
}

podman_run_output() {
	step prun --rm "$PODMAN_IMAGE" echo "hello from $RT"
	want_rc 0 || return 1
	want_out "hello from $RT" || return 1
	step podman ps -a -q --filter "name=^$(cname)"
	[[ -z "$OUT" ]] || fail "--rm left the container behind"
}

podman_run_exit_code() {
	step prun --rm "$PODMAN_IMAGE" sh -c 'exit 3'
	want_rc 3 || return 1
	step prun --rm "$PODMAN_IMAGE" true
	want_rc 0
}

# podman maps the runtime's "no such file" / "not found" error to 127, from the runtime's JSON error.
podman_run_missing_binary() {
	step prun --rm "$PODMAN_IMAGE" /no/such/binary
	want_rc 127 || return 1
	want_out "/no/such/binary"
}

podman_run_stdin() {
	piped() { printf 'piped line\n' | prun --rm -i "$PODMAN_IMAGE" sh -c 'read l; echo "got: $l"'; }
	step piped
	want_rc 0 || return 1
	want_out "got: piped line"
}

podman_run_tty() {
	local cmd
	cmd="podman --runtime $RT run --rm -t --network none --cgroup-parent /$TAG $PODMAN_IMAGE sh -c 'tty; stty size'"
	step script -qec "$cmd" /dev/null
	want_rc 0 || return 1
	want_out "/dev/pts/0"
}

# -it: conmon relays the typed line through the console socket's pty, and the exit status comes back.
podman_run_interactive_tty() {
	typing() {
		(sleep 1.5; printf 'typed-in\n'; sleep 2) | script -qec "podman --runtime $RT run --rm -it --network none --cgroup-parent /$TAG $PODMAN_IMAGE sh -c 'read x; echo got:\$x; exit 2'" /dev/null
	}
	step typing
	want_rc 2 || return 1
	want_out "got:typed-in"
}

podman_create_start() {
	local n
	n=$(cname)
	step pm create --network none --cgroup-parent "/$TAG" --name "$n" "$PODMAN_IMAGE" sh -c 'echo created then started; exit 4'
	want_rc 0 || return 1
	step pm start --attach "$n"
	want_out "created then started" || return 1
	step podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$n"
	want_out "exited 4"
}

podman_detached_ps_logs_stop() {
	local n t0
	n=$(cname)
	start_looper "$n" || return 1
	step podman ps --filter "name=^$n\$" --format '{{.Names}} {{.Status}}'
	want_out "$n Up" || return 1
	t0=$(now_ms)
	step pm stop --time 10 "$n"
	want_rc 0 || return 1
	(($(now_ms) - t0 < 5000)) || fail "stop took $(secs_since "$t0")s: SIGTERM was not delivered, podman had to SIGKILL" || return 1
	step podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$n"
	want_out "exited 0" || return 1
	step podman logs "$n"
	want_out "got-TERM"
}

# sleep as PID 1 ignores SIGTERM: podman stop must fall back to SIGKILL (exit 137).
podman_stop_timeout_kill() {
	local n
	n=$(cname)
	step prun -d --name "$n" "$PODMAN_IMAGE" sleep 1000
	want_rc 0 || return 1
	step pm stop --time 1 "$n"
	want_rc 0 || return 1
	step podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$n"
	want_out "exited 137"
}

podman_exec() {
	local n
	n=$(cname)
	start_looper "$n" || return 1
	step pm exec "$n" sh -c 'echo in exec $$; exit 5'
	want_rc 5 || return 1
	want_out "in exec" || return 1
	step pm exec "$n" cat /proc/1/cmdline
	want_rc 0 || return 1
	want_out "$LOOPER" || return 1
	step pm exec "$n" /no/such/binary
	want_rc 127
}

podman_exec_tty() {
	local n
	n=$(cname)
	start_looper "$n" || return 1
	step script -qec "podman --runtime $RT exec -t $n sh -c 'tty; stty size'" /dev/null
	want_rc 0 || return 1
	want_out "/dev/pts/" || return 1
	want_out_not "not a tty"
}

podman_exec_user_workdir_env() {
	local n
	n=$(cname)
	start_looper "$n" || return 1
	step pm exec --user 1000:1000 --workdir /home/user --env FOO=bar "$n" sh -c 'echo "$(id -u):$(id -g) $(pwd) FOO=$FOO"'
	want_rc 0 || return 1
	want_out "1000:1000 /home/user FOO=bar" || return 1
	# An exec'd process gets no inheritable capabilities (CVE-2022-29162).
	step pm exec "$n" grep CapInh /proc/self/status
	want_out "0000000000000000"
}

podman_exec_detach() {
	local n
	n=$(cname)
	start_looper "$n" || return 1
	step pm exec --detach "$n" sh -c 'echo detached > /tmp/marker'
	want_rc 0 || return 1
	marker() { podman exec "$n" cat /tmp/marker | grep -q detached; }
	wait_for 10 marker || fail "the detached exec never wrote /tmp/marker"
}

podman_read_only() {
	step prun --rm --read-only "$PODMAN_IMAGE" sh -c 'touch /x 2>&1 || echo root-ro; touch /tmp/y && echo tmp-rw'
	want_rc 0 || return 1
	want_out "root-ro" || return 1
	want_out "tmp-rw"
}

podman_user() {
	step prun --rm --user 1000:1000 "$PODMAN_IMAGE" id
	want_out "uid=1000(user) gid=1000(user)"
}

podman_workdir() {
	step prun --rm --workdir /home/user "$PODMAN_IMAGE" pwd
	want_rc 0 || return 1
	want_out "/home/user"
}

podman_env() {
	step prun --rm --env FOO=bar --env 'SPACED=a b' "$PODMAN_IMAGE" sh -c 'echo "[$FOO|$SPACED|$HOME|$PATH]"'
	want_out "[bar|a b|/root|" || return 1
	want_out "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin]"
}

podman_bind_mount() {
	local d=$PODMAN_DIR/bind/$RT
	mkdir -p "$d" && echo "from host" >"$d/in"
	step prun --rm -v "$d:/data" -v "$d:/ro:ro" "$PODMAN_IMAGE" sh -c \
		'cat /data/in; echo from container > /data/out; touch /ro/x 2>/dev/null || echo ro-refused'
	want_rc 0 || return 1
	want_out "from host" || return 1
	want_out "ro-refused" || return 1
	want_eq "host file $d/out" "$(cat "$d/out" 2>/dev/null)" "from container"
}

podman_tmpfs() {
	step prun --rm --tmpfs /scratch:rw,size=1m,mode=1777 --shm-size 16m "$PODMAN_IMAGE" sh -c \
		'grep -E " /(scratch|dev/shm) " /proc/mounts; stat -c mode=%a /scratch'
	want_out "tmpfs /scratch tmpfs" || return 1
	want_out "size=1024k" || return 1
	want_out "mode=1777" || return 1
	want_out "/dev/shm tmpfs" || return 1
	want_out "size=16384k"
}

podman_memory() {
	step prun --rm --memory 64m "$PODMAN_IMAGE" sh -c "$CG_MEMORY"
	want_rc 0 || return 1
	want_out "67108864"
}

podman_cpus() {
	step prun --rm --cpus 0.5 --cpuset-cpus 0 "$PODMAN_IMAGE" sh -c "$CG_CPU; $CG_CPUSET"
	want_rc 0 || return 1
	want_out "50000 100000" || return 1
	want_out "cpuset=0."
}

podman_pids_limit() {
	step prun --rm --pids-limit 50 "$PODMAN_IMAGE" sh -c "$CG_PIDS"
	want_rc 0 || return 1
	want_out "50"
}

# CAP_CHOWN is bit 0 of the capability sets.
podman_cap_drop() {
	local snippet='touch /tmp/f; chown 1000 /tmp/f 2>/dev/null && echo chown-ok || echo chown-refused; grep CapEff /proc/self/status'
	step prun --rm "$PODMAN_IMAGE" sh -c "$snippet"
	want_out "chown-ok" || return 1
	step prun --rm --cap-drop CHOWN "$PODMAN_IMAGE" sh -c "$snippet"
	want_out "chown-refused" || return 1
	step prun --rm --cap-drop ALL "$PODMAN_IMAGE" grep CapBnd /proc/self/status
	want_out "0000000000000000"
}

# --privileged: every capability the runtime holds, and the host's devices.
podman_privileged() {
	step prun --rm --privileged "$PODMAN_IMAGE" sh -c 'grep -E "Cap(Eff|Bnd)" /proc/self/status; ls /dev | wc -l'
	want_rc 0 || return 1
	local eff bnd
	eff=$(awk '/^CapEff/ {print $2}' <<<"$OUT")
	bnd=$(awk '/^CapBnd/ {print $2}' <<<"$OUT")
	[[ -n "$eff" && "$eff" == "$bnd" && "$eff" != 00000000a80425fb ]] || fail "CapEff $eff CapBnd $bnd: not all capabilities"
}

podman_security_opts() {
	step prun --rm --security-opt no-new-privileges --oom-score-adj 100 "$PODMAN_IMAGE" sh -c \
		'grep NoNewPrivs /proc/self/status; echo "oom_score_adj=$(cat /proc/self/oom_score_adj)"'
	want_out "$(printf 'NoNewPrivs:\t1')" || return 1
	want_out "oom_score_adj=100"
}

podman_pause_unpause() {
	local n cg
	n=$(cname)
	start_looper "$n" || return 1
	step pm pause "$n"
	want_rc 0 || return 1
	step podman inspect --format '{{.State.Status}}' "$n"
	want_out "paused" || return 1
	cg=$(host_cgroup_dir "$(podman inspect --format '{{.State.Pid}}' "$n")" freezer)
	if [[ -e "$cg/freezer.state" ]]; then
		want_eq "$cg/freezer.state" "$(cat "$cg/freezer.state")" FROZEN || return 1
	fi
	step pm unpause "$n"
	want_rc 0 || return 1
	step podman inspect --format '{{.State.Status}}' "$n"
	want_out "running" || return 1
	if [[ -e "$cg/freezer.state" ]]; then
		want_eq "$cg/freezer.state" "$(cat "$cg/freezer.state")" THAWED || return 1
	fi
	step pm exec "$n" echo thawed
	want_out "thawed"
}

# rm -f of a paused container: the runtime must kill a frozen container and remove its cgroup.
podman_rm_force_paused() {
	local n cg
	n=$(cname)
	step prun -d --name "$n" "$PODMAN_IMAGE" sleep 1000
	want_rc 0 || return 1
	cg=$(host_cgroup_dir "$(podman inspect --format '{{.State.Pid}}' "$n")" freezer)
	step pm pause "$n"
	want_rc 0 || return 1
	step pm rm --force "$n"
	want_rc 0 || return 1
	step podman ps -a -q --filter "name=^$n\$"
	[[ -z "$OUT" ]] || fail "container still listed after rm --force" || return 1
	[[ -n "$cg" && ! -d "$cg" ]] || fail "cgroup '$cg' still there after rm --force"
}

podman_kill_signal() {
	local n
	n=$(cname)
	start_looper "$n" || return 1
	step pm kill --signal USR1 "$n"
	want_rc 0 || return 1
	wait_for 10 podman_logs_have "$n" got-USR1 || fail "SIGUSR1 never reached the container" || return 1
	step pm kill "$n"
	want_rc 0 || return 1
	wait_for 10 podman_status_is "$n" exited || fail "still not exited after SIGKILL" || return 1
	step podman inspect --format '{{.State.ExitCode}}' "$n"
	want_out "137"
}

podman_top() {
	local n
	n=$(cname)
	step prun -d --name "$n" "$PODMAN_IMAGE" sleep 1000
	want_rc 0 || return 1
	step pm top "$n"
	want_rc 0 || return 1
	want_out "sleep 1000"
}

podman_stats() {
	local n
	n=$(cname)
	step prun -d --name "$n" --memory 64m "$PODMAN_IMAGE" sleep 1000
	want_rc 0 || return 1
	step pm stats --no-stream --format '{{.Name}} mem={{.MemUsage}} pids={{.PIDs}}' "$n"
	want_rc 0 || return 1
	want_out "$n mem=" || return 1
	want_out "/ 67.11MB" || return 1
	want_out "pids=1"
}

podman_restart() {
	local n pid1 pid2
	n=$(cname)
	start_looper "$n" || return 1
	pid1=$(podman inspect --format '{{.State.Pid}}' "$n")
	step pm restart --time 10 "$n"
	want_rc 0 || return 1
	pid2=$(podman inspect --format '{{.State.Pid}}' "$n")
	[[ "$pid2" != 0 && "$pid2" != "$pid1" ]] || fail "pid $pid1 before restart, $pid2 after" || return 1
	step podman inspect --format '{{.State.Status}} {{.RestartCount}}' "$n"
	want_out "running"
}

# podman restart races conmon's exit command (podman container cleanup): both end in
# `RUNTIME delete --force ID`, and the second finds the container gone. runc answers 0 to a forced delete
# of an unknown id; podman fails the restart or rm otherwise. The race, made certain: the runtime's state
# is deleted behind podman's back, then podman rm -f.
podman_rm_after_runtime_delete() {
	local n id bin=$RUNC
	[[ "$RT" == nook ]] && bin=$NOOK
	n=$(cname)
	step prun -d --name "$n" "$PODMAN_IMAGE" sleep 1000
	want_rc 0 || return 1
	id=$(tail -n 1 <<<"$OUT")
	step "$bin" delete --force "$id"
	want_rc 0 || return 1
	step pm rm --force "$n"
	want_rc 0 || return 1
	step "$bin" delete --force "$id"
	want_rc 0
}

podman_network_none() {
	step prun --rm "$PODMAN_IMAGE" sh -c 'echo "interfaces: $(ls /sys/class/net | tr "\n" " ")."'
	want_rc 0 || return 1
	want_out "interfaces: lo ."
}

podman_hostname() {
	step prun --rm --hostname box1 "$PODMAN_IMAGE" sh -c 'hostname; grep box1 /etc/hostname'
	want_out "box1"
}

podman_sysctl() {
	step prun --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.msgmax=65536 "$PODMAN_IMAGE" \
		sh -c 'echo fwd=$(cat /proc/sys/net/ipv4/ip_forward) msgmax=$(cat /proc/sys/kernel/msgmax)'
	want_out "fwd=1 msgmax=65536"
}

podman_device() {
	step prun --rm --device /dev/zero:/dev/myzero "$PODMAN_IMAGE" sh -c 'head -c 3 /dev/myzero | wc -c; ls -l /dev/myzero'
	want_rc 0 || return 1
	want_out "3" || return 1
	want_out "1,   5"
}

# --ulimit replaces containers.conf's default_ulimits, so nproc is given again (this sandbox's hard limit).
podman_ulimit() {
	step prun --rm --ulimit nofile=512:768 --ulimit nproc=1024:1024 "$PODMAN_IMAGE" sh -c 'echo $(ulimit -n) $(ulimit -Hn) $(ulimit -Hu)'
	want_out "512 768 1024"
}

# The default profile is loaded (the kernel counts the filter), unconfined loads none, and a custom profile
# that refuses mkdir with EPERM is enforced.
podman_seccomp() {
	local profile=$PODMAN_DIR/no-mkdir.json
	cat >"$profile" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
	EOF
	step prun --rm "$PODMAN_IMAGE" grep Seccomp /proc/self/status
	want_out "$(printf 'Seccomp:\t2')" || return 1
	want_out_not "$(printf 'Seccomp_filters:\t0')" || return 1
	step prun --rm --security-opt seccomp=unconfined "$PODMAN_IMAGE" grep Seccomp: /proc/self/status
	want_out "$(printf 'Seccomp:\t0')" || return 1
	step prun --rm --security-opt "seccomp=$profile" "$PODMAN_IMAGE" sh -c 'mkdir /tmp/d && echo mkdir-ok; touch /tmp/f && echo touch-ok'
	want_out "Operation not permitted" || return 1
	want_out_not "mkdir-ok" || return 1
	want_out "touch-ok"
}

podman_uidmap() {
	step prun --rm --uidmap 0:200000:65536 --gidmap 0:200000:65536 "$PODMAN_IMAGE" sh -c \
		'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox; touch /tmp/x && echo write-ok'
	want_rc 0 || return 1
	want_out "200000" || return 1
	want_out "write-ok"
}

podman_join_pid_ns() {
	local n
	n=$(cname)
	step prun -d --name "$n" "$PODMAN_IMAGE" sleep 1000
	want_rc 0 || return 1
	step prun --rm --pid "container:$n" "$PODMAN_IMAGE" ps
	want_rc 0 || return 1
	want_out "sleep 1000"
}

# tail of /dev/zero buffers one endless line: the memory cgroup's OOM killer must end it (137). podman's
# OOMKilled flag is not checked: conmon does not see the OOM event on this hybrid host with runc either.
podman_oom_kill() {
	step prun --rm --memory 32m --memory-swap 32m "$PODMAN_IMAGE" sh -c 'tail /dev/zero'
	want_rc 137
}

# podman container checkpoint / restore: a counter goes on from where it stopped, in place and exported
# to a new container. podman, and the runtime it runs, find CRIU in PATH: the one `make deps` provides
# (.build/criu, a working CRIU 4.2 where Debian's 3.17 fails on this kernel) comes first when there is one.
podman_checkpoint_restore() {
	local n n2 last criu_dir
	criu_dir=$(readlink -f "$E2E_DIR/../../.build/criu")
	[[ -x "$criu_dir/criu" ]] && export PATH="$criu_dir:$PATH"
	n=$(cname)
	n2=$(cname restored)
	step prun -d --name "$n" "$PODMAN_IMAGE" sh -c 'i=0; while :; do echo "n=$i"; i=$((i+1)); sleep 0.1; done'
	want_rc 0 || return 1
	wait_for 20 podman_logs_have "$n" "n=3" || fail "the counter never printed n=3" || return 1
	step pm container checkpoint "$n"
	want_rc 0 || return 1
	podman_status_is "$n" exited || fail "after checkpoint $n is $(podman inspect --format '{{.State.Status}}' "$n"), not exited" || return 1
	last=$(podman logs "$n" 2>&1 | tail -1)
	last=${last#n=}
	step pm container restore "$n"
	want_rc 0 || return 1
	wait_for 10 podman_logs_have "$n" "n=$((last + 3))" || fail "restored counter did not go on from n=$last" || return 1
	podman_status_is "$n" running || fail "after restore $n is not running" || return 1
	# Exported while it runs, imported as a second container.
	step pm container checkpoint --leave-running --export "$T/$n.tar.gz" "$n"
	want_rc 0 || return 1
	step pm container restore --import "$T/$n.tar.gz" --name "$n2"
	want_rc 0 || return 1
	podman_status_is "$n2" running || fail "the imported checkpoint $n2 is not running" || return 1
	podman_status_is "$n" running || fail "after checkpoint --leave-running $n is not running"
	rm -f "$T/$n.tar.gz"
}

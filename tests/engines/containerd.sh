# containerd scenarios (sourced by run.sh and scenario.sh, never run).
#
# A private containerd 1.6 (its own root, state, sockets and opt dir under $T/containerd; the CRI plugin off,
# ctr does not need it) runs containers through its runc v2 shim (containerd-shim-runc-v2). The shim runs
# whatever binary the task's runtime options name: `ctr run --runc-binary` sets that per container, which is
# what a runtime entry with `options BinaryName = ".../nook"` does for Kubernetes (README). The shim calls
# the runtime with `--root $T/containerd/runc-root/<namespace>` (ctr --runc-root) and
# `--log <bundle>/log.json --log-format json`, as on any containerd host.
#
# Every scenario gets RT (runc or nook); containers are named with `cname`; scenario.sh removes them.

CTRD_DIR=$T/containerd
CTRD_SOCK=$CTRD_DIR/containerd.sock
CTRD_IMAGE=docker.io/library/nook-e2e-busybox:latest

# shellcheck disable=SC2034 # read by run.sh through a nameref
CONTAINERD_SCENARIOS=(
	run_output run_exit_code run_missing_binary run_tty env_cwd
	detached_logs exec exec_tty exec_user_cwd task_ps
	kill_term kill_all pause_resume metrics delete_force delete_force_paused
	read_only bind_mount cap_drop privileged seccomp memory_limit cpus uidmap with_ns no_pivot
	cri_runtime_config
)

c() { ctr --address "$CTRD_SOCK" --namespace "$TAG" "$@"; }

rt_bin() { if [[ "$RT" == nook ]]; then echo "$NOOK"; else echo "$RUNC"; fi; }

# crun ARGS...: `ctr run` with the runtime under test (ARGS: flags, image, id, command).
crun() {
	c run --runc-binary "$(rt_bin)" --runc-root "$CTRD_DIR/runc-root" --fifo-dir "$CTRD_DIR/fifo" "$@"
}

# shellcheck disable=SC2120 # the suffix is optional
cname() { printf '%s-%s-%s%s' "$TAG" "$SCENARIO" "$RT" "${1:+-$1}"; }

containerd_setup() {
	mkdir -p "$CTRD_DIR"/{root,state,opt,runc-root,fifo,logs,bind}
	# Where the shim keeps its sockets no matter the config; removed at the end if this run created it.
	[[ -e /run/containerd ]] || touch "$CTRD_DIR/created-run-containerd"
	cat >"$CTRD_DIR/config.toml" <<-EOF
		version = 2
		root = "$CTRD_DIR/root"
		state = "$CTRD_DIR/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]

		[grpc]
		  address = "$CTRD_SOCK"
		[ttrpc]
		  address = "$CTRD_SOCK.ttrpc"
		[debug]
		  address = "$CTRD_DIR/debug.sock"
		[metrics]
		  address = ""
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$CTRD_DIR/opt"
	EOF
	containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
	echo $! >"$CTRD_DIR/containerd.pid"
	if ! wait_for 20 ctr --address "$CTRD_SOCK" version; then
		log "containerd did not start; its log:"
		tail -n 20 "$CTRD_DIR/containerd.log" >&2
		return 1
	fi
	c image import "$T/image/oci.tar" >/dev/null || { log "ctr image import failed"; return 1; }
	c image ls -q | grep -qxF "$CTRD_IMAGE" || { log "ctr: image $CTRD_IMAGE missing after import"; return 1; }
}

containerd_teardown() {
	[[ -d "$CTRD_DIR" ]] || return 0
	local pid id ids=
	if [[ -S "$CTRD_SOCK" ]]; then
		ids=$(c container ls -q 2>/dev/null)
		for id in $(c task ls -q 2>/dev/null); do
			timeout 20 ctr --address "$CTRD_SOCK" --namespace "$TAG" task resume "$id" >/dev/null 2>&1
			timeout 20 ctr --address "$CTRD_SOCK" --namespace "$TAG" task delete --force "$id" >/dev/null 2>&1
		done
		for id in $(c container ls -q 2>/dev/null); do
			timeout 20 ctr --address "$CTRD_SOCK" --namespace "$TAG" container delete "$id" >/dev/null 2>&1
		done
	fi
	pid=$(cat "$CTRD_DIR/containerd.pid" 2>/dev/null)
	if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	delete_runtime_containers "$NOOK" "$CTRD_DIR/runc-root/$TAG" "$CTRD_DIR"
	delete_runtime_containers "$RUNC" "$CTRD_DIR/runc-root/$TAG" "$CTRD_DIR"
	# Shims outlive a killed containerd; theirs name our socket on their command line.
	kill_pids_matching "$CTRD_SOCK"
	# A killed shim leaves its socket, /run/containerd/s/sha256(<containerd address>/<namespace>/<id>).
	for id in $ids; do
		rm -f "/run/containerd/s/$(printf '%s' "$CTRD_SOCK/$TAG/$id" | sha256sum | cut -d' ' -f1)"
	done
	remove_cgroup_tree "$TAG"
	unmount_under "$CTRD_DIR"
	# The shim makes <default root>/<namespace> even when the runtime root is elsewhere.
	rm -rf "/run/containerd/runc/$TAG"
	if [[ -e "$CTRD_DIR/created-run-containerd" ]]; then
		rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc /run/containerd 2>/dev/null
	fi
	rm -rf "$CTRD_DIR"
}

containerd_scenario_cleanup() {
	local id
	for id in $(c container ls -q 2>/dev/null | grep -F -- "$TAG-$SCENARIO-$RT"); do
		# A frozen task cannot die: resume first (fails harmlessly when it is not paused).
		timeout 20 ctr --address "$CTRD_SOCK" --namespace "$TAG" task resume "$id" >/dev/null 2>&1
		timeout 20 ctr --address "$CTRD_SOCK" --namespace "$TAG" task delete --force "$id" >/dev/null 2>&1
		timeout 20 ctr --address "$CTRD_SOCK" --namespace "$TAG" container delete "$id" >/dev/null 2>&1
	done
}

task_status() { c task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { c task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
task_status_is() { [[ "$(task_status "$1")" == "$2" ]]; }
log_has() { grep -qF -- "$2" "$CTRD_DIR/logs/$1.log" 2>/dev/null; }

LOOPER='echo started; trap "echo got-USR1" USR1; trap "echo got-TERM; exit 7" TERM; while :; do sleep 0.1; done'

# start_looper ID [RUN FLAGS...]: a detached LOOPER logging to $CTRD_DIR/logs/ID.log, waited for.
start_looper() {
	local id=$1
	shift
	step crun -d --log-uri "file://$CTRD_DIR/logs/$id.log" "$@" "$CTRD_IMAGE" "$id" sh -c "$LOOPER"
	want_rc 0 || return 1
	wait_for 20 log_has "$id" started || fail "task $id never printed 'started'"
}

containerd_run_output() {
	step crun --rm "$CTRD_IMAGE" "$(cname)" echo "hello from $RT"
	want_rc 0 || return 1
	want_out "hello from $RT" || return 1
	step c container ls -q
	want_out_not "$(cname)" || fail "--rm left the container behind"
}

containerd_run_exit_code() {
	step crun --rm "$CTRD_IMAGE" "$(cname)" sh -c 'exit 3'
	want_rc 3 || return 1
	step crun --rm "$CTRD_IMAGE" "$(cname 2)" true
	want_rc 0
}

# The shim shows the last "level":"error" line of the runtime's --log file (log.json) to the user.
containerd_run_missing_binary() {
	step crun --rm "$CTRD_IMAGE" "$(cname)" /no/such/binary
	want_rc 1 || return 1
	want_out "OCI runtime create failed: " || return 1
	want_out "/no/such/binary"
}

containerd_run_tty() {
	step script -qec "ctr --address $CTRD_SOCK --namespace $TAG run --rm -t --runc-binary $(rt_bin) --runc-root $CTRD_DIR/runc-root --fifo-dir $CTRD_DIR/fifo $CTRD_IMAGE $(cname) sh -c 'tty; stty size; exit 6'" /dev/null
	want_rc 6 || return 1
	want_out "/dev/pts/0"
}

containerd_env_cwd() {
	step crun --rm --env FOO=bar --cwd /home/user "$CTRD_IMAGE" "$(cname)" sh -c 'echo "$FOO $(pwd) $(id -u)"'
	want_rc 0 || return 1
	want_out "bar /home/user 0"
}

containerd_detached_logs() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step c task ls
	want_out "RUNNING" || return 1
	want_eq "task pid" "$(task_pid "$id")" "$(task_pid "$id" | grep -E '^[1-9][0-9]*$')"
}

containerd_exec() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step c task exec --fifo-dir "$CTRD_DIR/fifo" --exec-id e1 "$id" sh -c 'echo in exec; exit 4'
	want_rc 4 || return 1
	want_out "in exec" || return 1
	step c task exec --fifo-dir "$CTRD_DIR/fifo" --exec-id e2 "$id" grep CapInh /proc/self/status
	want_out "0000000000000000"
}

containerd_exec_tty() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step script -qec "ctr --address $CTRD_SOCK --namespace $TAG task exec -t --fifo-dir $CTRD_DIR/fifo --exec-id t1 $id sh -c 'tty; stty size'" /dev/null
	want_rc 0 || return 1
	want_out "/dev/pts/"
}

containerd_exec_user_cwd() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step c task exec --fifo-dir "$CTRD_DIR/fifo" --exec-id u1 --user 1000 --cwd /home/user "$id" sh -c 'echo "$(id -u) $(pwd)"'
	want_rc 0 || return 1
	want_out "1000 /home/user"
}

containerd_task_ps() {
	local id pid
	id=$(cname)
	start_looper "$id" || return 1
	pid=$(task_pid "$id")
	# The looper's shell runs `sleep 0.1` in a loop, so between two sleeps it is
	# briefly alone: ask again (up to 20 times) until ps catches a sleep too.
	local try
	for try in $(seq 20); do
		step c task ps "$id"
		want_rc 0 || return 1
		want_out "$pid" || return 1
		[[ $(grep -cE '^[0-9]+' <<<"$OUT") -ge 2 ]] && return 0
		sleep 0.05
	done
	fail "ps lists fewer than 2 processes (sh and sleep) in $try tries"
}

containerd_kill_term() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step c task kill --signal SIGUSR1 "$id"
	want_rc 0 || return 1
	wait_for 10 log_has "$id" got-USR1 || fail "SIGUSR1 never reached the task" || return 1
	step c task kill "$id"
	want_rc 0 || return 1
	wait_for 10 task_status_is "$id" STOPPED || fail "task not STOPPED after SIGTERM" || return 1
	step c task delete "$id"
	want_rc 0 || return 1
	want_out "exit code 7"
}

containerd_kill_all() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step c task kill --all --signal SIGKILL "$id"
	want_rc 0 || return 1
	wait_for 10 task_status_is "$id" STOPPED || fail "task not STOPPED after kill --all SIGKILL" || return 1
	step c task delete "$id"
	want_out "exit code 137"
}

containerd_pause_resume() {
	local id cg
	id=$(cname)
	start_looper "$id" || return 1
	step c task pause "$id"
	want_rc 0 || return 1
	wait_for 5 task_status_is "$id" PAUSED || fail "status $(task_status "$id") after pause, want PAUSED" || return 1
	cg=$(host_cgroup_dir "$(task_pid "$id")" freezer)
	if [[ -n "$cg" && -e "$cg/freezer.state" ]]; then
		want_eq "$cg/freezer.state" "$(cat "$cg/freezer.state")" FROZEN || return 1
	fi
	step c task resume "$id"
	want_rc 0 || return 1
	wait_for 5 task_status_is "$id" RUNNING || fail "status $(task_status "$id") after resume, want RUNNING" || return 1
	step c task exec --fifo-dir "$CTRD_DIR/fifo" --exec-id r1 "$id" echo thawed
	want_out "thawed"
}

containerd_metrics() {
	local id
	id=$(cname)
	start_looper "$id" --memory-limit 67108864 || return 1
	step c task metrics "$id"
	want_rc 0 || return 1
	want_out "pids.current" || return 1
	want_out "67108864"
}

containerd_delete_force() {
	local id
	id=$(cname)
	start_looper "$id" || return 1
	step c task delete --force "$id"
	want_rc 0 || return 1
	step c task ls -q
	want_out_not "$id"
}

# delete --force of a paused task: the runtime must kill a frozen container and remove its cgroup.
containerd_delete_force_paused() {
	local id cg
	id=$(cname)
	start_looper "$id" || return 1
	cg=$(host_cgroup_dir "$(task_pid "$id")" freezer)
	step c task pause "$id"
	want_rc 0 || return 1
	step c task delete --force "$id"
	want_rc 0 || return 1
	step c task ls -q
	want_out_not "$id" || return 1
	[[ -n "$cg" && ! -d "$cg" ]] || fail "cgroup '$cg' still there after delete --force"
}

containerd_read_only() {
	step crun --rm --read-only "$CTRD_IMAGE" "$(cname)" sh -c 'touch /x 2>/dev/null || echo root-ro'
	want_rc 0 || return 1
	want_out "root-ro"
}

containerd_bind_mount() {
	local d=$CTRD_DIR/bind/$RT
	mkdir -p "$d" && echo "from host" >"$d/in"
	step crun --rm --mount "type=bind,src=$d,dst=/data,options=rbind:rw" \
		--mount "type=bind,src=$d,dst=/ro,options=rbind:ro" "$CTRD_IMAGE" "$(cname)" sh -c \
		'cat /data/in; echo from container > /data/out; touch /ro/x 2>/dev/null || echo ro-refused'
	want_rc 0 || return 1
	want_out "from host" || return 1
	want_out "ro-refused" || return 1
	want_eq "host file $d/out" "$(cat "$d/out" 2>/dev/null)" "from container"
}

containerd_cap_drop() {
	step crun --rm --cap-drop CAP_CHOWN "$CTRD_IMAGE" "$(cname)" sh -c \
		'touch /tmp/f; chown 1000 /tmp/f 2>/dev/null && echo chown-ok || echo chown-refused'
	want_out "chown-refused"
}

containerd_privileged() {
	step crun --rm --privileged "$CTRD_IMAGE" "$(cname)" sh -c 'grep -E "Cap(Eff|Bnd)" /proc/self/status; ls /dev | wc -l'
	want_rc 0 || return 1
	local eff bnd
	eff=$(awk '/^CapEff/ {print $2}' <<<"$OUT")
	bnd=$(awk '/^CapBnd/ {print $2}' <<<"$OUT")
	[[ -n "$eff" && "$eff" == "$bnd" && "$eff" != 00000000a80425fb ]] || fail "CapEff $eff CapBnd $bnd: not all capabilities"
}

containerd_seccomp() {
	local snippet='grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo userns-allowed || echo userns-refused'
	step crun --rm --seccomp "$CTRD_IMAGE" "$(cname)" sh -c "$snippet"
	want_out "$(printf 'Seccomp:\t2')" || return 1
	want_out "userns-refused"
}

# ctr's default spec mounts no /sys/fs/cgroup in the container: the limits are read on the host.
containerd_memory_limit() {
	local id
	id=$(cname)
	step crun -d --null-io --memory-limit 67108864 "$CTRD_IMAGE" "$id" sleep 1000
	want_rc 0 || return 1
	want_eq "memory limit" "$(cgroup_limit "$(task_pid "$id")" memory)" 67108864
}

containerd_cpus() {
	local id
	id=$(cname)
	step crun -d --null-io --cpus 0.5 "$CTRD_IMAGE" "$id" sleep 1000
	want_rc 0 || return 1
	want_eq "cpu quota and period" "$(cgroup_limit "$(task_pid "$id")" cpu)" "50000 100000"
}

containerd_uidmap() {
	step crun --rm --uidmap 0:300000:65536 --gidmap 0:300000:65536 "$CTRD_IMAGE" "$(cname)" sh -c \
		'cat /proc/self/uid_map; id -u; touch /tmp/x && echo write-ok'
	want_rc 0 || return 1
	want_out "300000" || return 1
	want_out "write-ok"
}

containerd_with_ns() {
	local id pid
	id=$(cname)
	step crun -d --log-uri "file://$CTRD_DIR/logs/$id.log" "$CTRD_IMAGE" "$id" sleep 1000
	want_rc 0 || return 1
	pid=$(task_pid "$id")
	step crun --rm --with-ns "pid:/proc/$pid/ns/pid" "$CTRD_IMAGE" "$(cname 2)" ps
	want_rc 0 || return 1
	want_out "sleep 1000"
}

containerd_no_pivot() {
	step crun --rm --no-pivot "$CTRD_IMAGE" "$(cname)" sh -c 'echo no-pivot ok; ls /'
	want_rc 0 || return 1
	want_out "no-pivot ok"
}

# Kubernetes goes through containerd's CRI plugin, which these tests do not run (no kubelet, no crictl in
# Debian 12). What is checked: containerd accepts the README's runtime entry and reads BinaryName from it.
containerd_cri_runtime_config() {
	local f=$CTRD_DIR/cri-$RT.toml
	cat >"$f" <<-EOF
		version = 2
		root = "$CTRD_DIR/cri-root"
		state = "$CTRD_DIR/cri-state"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$RT]
		  runtime_type = "io.containerd.runc.v2"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$RT.options]
		  BinaryName = "$(rt_bin)"
		  SystemdCgroup = false
	EOF
	step containerd --config "$f" config dump
	want_rc 0 || return 1
	want_out "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$RT.options]" || return 1
	want_out "BinaryName = \"$(rt_bin)\""
}

package libcontainer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/explain"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rlimits"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/user"
	"github.com/nookrt/nook/libcontainer/userns"
	"github.com/nookrt/nook/startup"
)

// execPlan decides, for a plain `nook exec` process, everything the Go init
// would decide for it, so that stage 1 can set it up and exec it in C
// without a Go runtime start (nsenter/execplan.c; ~8 ms of `exec ID true`
// here). It returns nil for anything else, and for anything whose set-up
// would fail: the Go init then does it, and its errors say why as they
// always have. The container's files (PATH's directories, the program,
// /etc/passwd for HOME) are read through the init's root, every lookup
// held inside it (openat2 RESOLVE_IN_ROOT, package explain).
func execPlan(r *state.Record, o CreateOptions, warn func(string)) *initproto.ExecPlan {
	p := o.Spec.Process
	if !plainExec(r, o) {
		return nil
	}
	limits, err := rlimits.FromSpec(p.Rlimits)
	if err != nil || rlimits.CheckRaise(limits, rlimits.CanRaiseHard(caps.CurrentPermitted, userns.RunningInUserNS())) != nil {
		return nil
	}
	if !absoluteLookup(p.Args[0], p.Env) {
		return nil
	}
	root, err := explain.Host("/proc/"+strconv.Itoa(r.Pid)+"/root", explain.Options{Cwd: "/",
		Cred: &explain.Cred{UID: p.User.UID, GID: p.User.GID, Groups: p.User.AdditionalGids}})
	if err != nil {
		return nil
	}
	defer root.Close()
	// The root opened is the container's only if its init is still the
	// one recorded: a pid cannot be reused while the process lives.
	if !processAlive(r.Pid, r.InitStartTime) {
		return nil
	}
	path, prob := root.LookPath(p.Args[0], p.Env)
	if prob != nil || root.Exec(path) != nil {
		return nil
	}
	env := user.WithHome(p.Env, func() string { return homeIn(root, p.User.UID) })
	return planOf(p, o, path, env, limits, warn)
}

// planOf is the plan of process p once its program, environment and
// rlimits are known: the capability sets (warning of those the runtime
// cannot grant), ids, flags and seccomp filter, as the Go init would set
// them. Nil if the capabilities are refused (the Go init says why).
func planOf(p *specs.Process, o CreateOptions, path string, env []string, limits []rlimits.Rlimit, warn func(string)) *initproto.ExecPlan {
	sets, warnings, err := caps.FromSpec(p.Capabilities)
	if err != nil {
		return nil
	}
	sets, more := sets.DropUnavailable()
	umask := uint32(0o022)
	if p.User.Umask != nil {
		umask = *p.User.Umask
	}
	plan := &initproto.ExecPlan{
		Path: path, Args: p.Args, Cwd: p.Cwd, Env: env,
		UID: p.User.UID, GID: p.User.GID, Groups: p.User.AdditionalGids, Umask: umask,
		Caps: sets, Rlimits: limits,
		NoNewPrivs:  p.NoNewPrivileges,
		KeepAdmin:   o.seccomp != nil && !p.NoNewPrivileges,
		TimerSlack:  startup.CallerTimerSlack(),
		PreserveFds: uint32(o.ListenFds + o.PreserveFds),
	}
	if o.seccomp != nil {
		plan.Filter, plan.FilterFlags = o.seccomp.Filter, uint32(o.seccomp.LoadFlags())
	}
	for _, w := range append(warnings, more...) {
		if warn != nil {
			warn(w)
		}
	}
	return plan
}

// plainExec: nothing of the process needs the Go init (a terminal, a user
// name, LSM labels, scheduling, memory policy, CPU affinity, a seccomp
// agent) and the container has no user namespace (its id mappings and
// setgroups switch are the Go init's business).
func plainExec(r *state.Record, o CreateOptions) bool {
	_, userns := r.Namespaces[string(specs.UserNamespace)]
	return !userns && plainProcess(o)
}

// plainProcess: o's process needs nothing of the Go init (plainExec), the
// user namespace aside.
func plainProcess(o CreateOptions) bool {
	p := o.Spec.Process
	if p == nil || len(p.Args) == 0 || p.Terminal || o.ConsoleSocket != "" || p.User.Username != "" ||
		p.ApparmorProfile != "" || p.SelinuxLabel != "" || p.Scheduler != nil || p.IOPriority != nil ||
		p.ExecCPUAffinity != nil || o.seccomp.NeedsListener() {
		return false
	}
	l := o.Spec.Linux
	return l == nil || l.Personality == nil && l.MemoryPolicy == nil
}

// absoluteLookup: finding name along env's PATH involves no relative path.
// The Go init looks a relative one up from the container's root and execs
// it from process.cwd; a plan leaves such a process to it.
func absoluteLookup(name string, env []string) bool {
	if strings.Contains(name, "/") {
		return filepath.IsAbs(name)
	}
	pathEnv, _ := explain.PathOf(env)
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			return false
		}
	}
	return true
}

// homeIn is uid's home directory in root's /etc/passwd, or "/".
func homeIn(root *explain.Root, uid uint32) string {
	return user.HomeFrom(func() (*os.File, error) { return root.Open("/etc/passwd") }, uid)
}

// sendExecPlan sends the plan where sendConfig sends the Config.
func (p *initProcess) sendExecPlan(plan *initproto.ExecPlan, warn func(string)) error {
	return p.sent(initproto.Send(p.sock, initproto.ExecPlanMsg, plan.Encode()), warn)
}

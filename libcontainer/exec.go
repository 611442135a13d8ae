package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/seccomp"
)

// ExecOptions are `nook exec`'s inputs.
type ExecOptions struct {
	// Process is the process to run (from --process, or the container's
	// process with the command line's changes).
	Process       *specs.Process
	ConsoleSocket string
	// RelayConsole: ConsoleSocket is the caller's own (exec -t in the
	// foreground), as CreateOptions.RelayConsole.
	RelayConsole bool
	PidFile      string
	PreserveFds  int
	// Cgroup is --cgroup: a sub-cgroup of the container's to join, either
	// "path" for every hierarchy or "controller:path" (may repeat, comma
	// separated controllers allowed).
	Cgroup       []string
	IgnorePaused bool
	Warn         func(string)
	Debug        func(format string, args ...any)
	// unlock releases the caller's lock on the container. Exec calls it
	// once the process is in the container's cgroup, before it waits for
	// the process: a process in a frozen cgroup (--ignore-paused) waits
	// for a resume, which needs the lock.
	unlock func()
	// PidfdSocket, if set, is a unix socket that receives a pidfd of the
	// process (--pidfd-socket).
	PidfdSocket string
	// stateRoot is --root (for the seccomp compile cache).
	stateRoot string
	// start is when Root.Exec began (for debugf).
	start time.Time
	// stage0, if set, was started by Root.Exec for PreserveFds inherited
	// fds; Exec takes it (and kills it if it fails first).
	stage0 *Stage0
}

// debugf logs an exec phase with the time since Root.Exec began (--debug).
func (o *ExecOptions) debugf(format string, args ...any) {
	if o.Debug != nil {
		o.Debug("exec: "+format+" at %s", append(args, time.Since(o.start).Round(time.Microsecond))...)
	}
}

// execLocked starts a process in every namespace and the cgroup of a running
// container. It returns once the process is about to execve; the process is
// a child of the caller, which may wait for it.
func execLocked(h *state.Handle, r *state.Record, o ExecOptions) (int, error) {
	defer o.stage0.Discard() // if it failed before it was taken
	switch st := Status(h, r); st {
	case state.Running, state.Created:
	case state.Paused:
		if !o.IgnorePaused {
			return 0, fmt.Errorf("cannot exec in container %s: it is paused (resume it, or use --ignore-paused)", r.ID)
		}
	default:
		return 0, notRunning(fmt.Sprintf("cannot exec in container %s: it is %s", r.ID, st))
	}
	cfg, err := r.Spec()
	if err != nil {
		return 0, err
	}
	if cfg == nil {
		return 0, fmt.Errorf("container %s has no recorded config", r.ID)
	}
	p := o.Process
	if p == nil || len(p.Args) == 0 {
		return 0, errors.New("exec: no command given (args are empty)")
	}
	if !filepath.IsAbs(p.Cwd) {
		return 0, fmt.Errorf("exec: cwd %q must be an absolute path", p.Cwd)
	}
	if p.Terminal && o.ConsoleSocket == "" {
		return 0, errors.New("exec: a terminal (--tty) needs --console-socket, or nook exec in the foreground")
	}
	spec := *cfg
	spec.Process = p
	spec.Hooks = nil
	spec.Mounts = nil // an exec'd process mounts nothing (and needs no idmap namespaces)
	co := CreateOptions{
		ID: r.ID, Bundle: r.Bundle, Spec: &spec, Rootfs: r.Rootfs, PidFile: o.PidFile,
		ConsoleSocket: o.ConsoleSocket, PreserveFds: o.PreserveFds, Warn: o.Warn, Debug: o.Debug,
		PidfdSocket: o.PidfdSocket, RelayConsole: o.RelayConsole,
	}
	if spec.Linux != nil && spec.Linux.Seccomp != nil {
		prog, err := seccomp.CompileCached(spec.Linux.Seccomp, o.Debug, filepath.Join(o.stateRoot, ".seccomp-cache"))
		if err != nil {
			return 0, err
		}
		co.seccomp = prog
	}
	cgroupDirs, err := execCgroupDirs(r, o.Cgroup)
	if err != nil {
		return 0, err
	}
	o.debugf("seccomp filter and cgroup ready")
	handoff, err := dialHandoffs(co, co.seccomp)
	if err != nil {
		return 0, err
	}
	defer handoff.close()
	ip, err := o.stage0.take(o.PreserveFds, o.Debug)
	if err != nil {
		return 0, err
	}
	ip.handoff = handoff
	o.debugf("stage 0 taken")
	pid, err := ip.execBringUp(r, co, cgroupDirs, o.unlock)
	if err != nil {
		ip.kill()
		return 0, fmt.Errorf("exec failed: %w", err)
	}
	o.debugf("process %d ready to execve", pid)
	return pid, nil
}

// execBringUp joins the container's namespaces (nsenter, in runc's order:
// see join_namespaces), puts the process in the container's cgroup before it
// runs anything of its own, and drives it to Ready.
func (p *initProcess) execBringUp(r *state.Record, o CreateOptions, cgroupDirs []string, unlock func()) (int, error) {
	var join []initproto.NsPath
	for _, k := range initproto.NamespaceKinds() {
		if path, ok := r.Namespaces[string(k.Type)]; ok {
			join = append(join, initproto.NsPath{Flag: k.Flag, Path: path})
		}
	}
	// The recorded paths are the init's /proc entries: make sure they still
	// name the container's init, not a reused pid.
	if !processAlive(r.Pid, r.InitStartTime) {
		return 0, ErrNotRunning
	}
	if a := o.Spec.Process.ExecCPUAffinity; a != nil {
		if err := p.setInitialAffinity(a.Initial); err != nil {
			return 0, err
		}
	}
	// A plain process is set up by stage 1 in C from a plan (execplan.go).
	plan := execPlan(r, o, o.Warn)
	bootstrap := initproto.BootstrapPayload(0, join, "", o.Spec.Process.OOMScoreAdj)
	if plan != nil {
		bootstrap = initproto.AppendExecPlanAttr(bootstrap)
		if o.Debug != nil {
			o.Debug("exec: %s is set up by stage 1 from an exec plan, without a Go start", plan.Path)
		}
	}
	if err := p.sendBootstrap(bootstrap); err != nil {
		return 0, err
	}
	b, err := initproto.Expect(p.sock, initproto.InitPid, o.Warn)
	if err != nil {
		return 0, err
	}
	pid, err := initproto.U32(b)
	if err != nil {
		return 0, fmt.Errorf("init-pid: %w", err)
	}
	p.pid = int(pid)
	if err := p.reapStage0(); err != nil {
		return 0, err
	}
	if plan != nil {
		if err := p.sendExecPlan(plan, o.Warn); err != nil {
			return 0, err
		}
	} else {
		cfg := initproto.InitConfig{
			ID: r.ID, Spec: initSpec(o.Spec), Rootfs: r.Rootfs, Bundle: r.Bundle,
			Exec:           true,
			Pid:            p.pid,
			PreserveFds:    o.PreserveFds,
			Seccomp:        o.seccomp,
			ConsoleRelayed: o.RelayConsole,
		}
		if err := p.sendConfig(&cfg, o.Warn); err != nil {
			return 0, err
		}
	}
	for _, dir := range cgroupDirs {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(p.pid)), 0); err != nil {
			if rootlessJoinDenied(r, err) {
				// As runc: the caller may be outside the subtree
				// delegated to it, and the process then stays in
				// the caller's cgroup.
				if o.Warn != nil {
					o.Warn(fmt.Sprintf("exec: the process stays out of the container's cgroup %s: %v (rootless: nook's caller is outside the cgroup subtree delegated to it)", dir, err))
				}
				continue
			}
			return 0, fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	// From here on the process runs in the container's cgroup, and the
	// wait for it must not keep the container locked.
	if unlock != nil {
		unlock()
	}
	if err := p.send(initproto.InitGo, nil, o.Warn); err != nil {
		return 0, err
	}
	if _, err := initproto.Expect(p.sock, initproto.Ready, o.Warn); err != nil {
		return 0, err
	}
	p.sock.Close()
	if err := p.handoff.sendPidfd(p.pid, "setns"); err != nil {
		return 0, err
	}
	if o.PidFile != "" {
		abs, err := filepath.Abs(o.PidFile)
		if err != nil {
			return 0, fmt.Errorf("pid file: %w", err)
		}
		if err := state.WriteFileAtomic(abs, []byte(strconv.Itoa(p.pid)), 0o644); err != nil {
			return 0, fmt.Errorf("pid file: %w", err)
		}
	}
	return p.pid, nil
}

// execCgroupDirs are the cgroup directories the exec'd process joins: the
// container's, or sub-cgroups of it named by --cgroup.
func execCgroupDirs(r *state.Record, sub []string) ([]string, error) {
	if r.Cgroup == nil {
		return nil, nil
	}
	perCtrl := map[string]string{}
	all := ""
	for _, s := range sub {
		ctrls, path, found := strings.Cut(s, ":")
		if !found {
			all, ctrls = s, ""
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c != "" {
				perCtrl[c] = path
			}
		}
	}
	var dirs []string
	for ctrl, dir := range r.Cgroup.Paths {
		rel := all
		if p, ok := perCtrl[ctrl]; ok {
			rel = p
		}
		if rel != "" {
			clean := filepath.Join("/", rel)
			if strings.Contains(rel, "..") {
				return nil, fmt.Errorf("--cgroup %q: must not contain ..", rel)
			}
			dir = filepath.Join(dir, clean)
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("--cgroup %q: %w", rel, err)
			}
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

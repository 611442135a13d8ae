// Package containerinit is everything that runs inside a container's init
// process, in Go: it starts once nsenter's C stage has put the process in
// its namespaces, takes its config from the parent (initproto.Config),
// builds the rootfs, applies the process's settings, parks on the start
// barrier and finally execs the user's program. `nook exec` runs the same
// code without the rootfs and barrier steps.
//
// In the init it shares no memory with the parent (package libcontainer):
// every input arrives as an initproto message, and its only outputs are
// initproto messages and the exec itself. For a C init (nsenter/cinit.c)
// the parent runs the same steps up to the process's look-ups itself, on a
// thread that joined the init's namespaces (BuildFromParent).
//
// Its steps call the kernel through a kernel.Process (initRun.sys; nil is
// realKernel, the calls themselves), so their order and arguments are
// checked without root against a kernel.Recorder (steps_test.go).
package containerinit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/console"
	"github.com/nookrt/nook/libcontainer/explain"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/kernel"
	"github.com/nookrt/nook/libcontainer/rawfile"
	"github.com/nookrt/nook/libcontainer/rlimits"
	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/libcontainer/sched"
	"github.com/nookrt/nook/libcontainer/selfimage"
	"github.com/nookrt/nook/libcontainer/sysctl"
	"github.com/nookrt/nook/libcontainer/user"
	"github.com/nookrt/nook/seccomp"
	"github.com/nookrt/nook/selinux"
	"github.com/nookrt/nook/startup"
)

// IsInit says whether this process was started as a container init.
func IsInit() bool { return os.Getenv(initproto.InitPipeEnv) != "" }

// RunInit is the Go half of the container init (nsenter/ did the namespaces).
// It never returns: it execs the user process or exits 1, having reported
// the error to the parent (before the start barrier) or to stderr (after it).
func RunInit() {
	// Capabilities and keep-caps are per thread and execve takes the calling
	// thread's credentials: everything below runs on this one thread.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(initproto.InitPipeEnv))
	os.Unsetenv(initproto.InitPipeEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nook init: bad", initproto.InitPipeEnv)
		os.Exit(1)
	}
	sock := os.NewFile(uintptr(fd), "init-sock")
	unix.CloseOnExec(fd)
	i := &initRun{sock: sock}
	err = i.run()
	if i.ready {
		fmt.Fprintf(os.Stderr, "nook init: %v\n", err)
	} else {
		initproto.Send(sock, initproto.Error, []byte(err.Error()))
	}
	os.Exit(1)
}

type initRun struct {
	sock  *os.File
	ready bool // Ready was sent: the parent is gone, errors go to stderr
	// sys is how the init calls the kernel; nil: realKernel (unit tests
	// give a kernel.Recorder).
	sys initKernel
	// parent is set when the parent itself builds the root for a C init
	// (fromparent.go): nil in the Go init.
	parent *FromParent
}

// initKernel is kernel.Process and two steps package kernel leaves out, as
// they would link cgo into every package that uses kernel: the SELinux exec
// label (go-selinux, and os/user's cgo) and the parked wait (selfimage).
type initKernel interface {
	kernel.Process
	SetSelinuxExecLabel(label string) error
	// ParkUntilReadable drops the process's mappings of its own program's
	// read-only pages (package selfimage: a parked init's RSS) and waits
	// until f can be read.
	ParkUntilReadable(f *os.File) error
	// The parked init's program (parked.go): whether this binary has it,
	// its sealed copy made ready to exec, and the exec.
	HasParker() bool
	PrepareParker(barrier *os.File, restoreNofile bool) (*os.File, error)
	ExecParker(program, barrier *os.File, path string, argv, env []string) error
}

// realKernel makes the calls.
type realKernel struct{ kernel.Real }

func (realKernel) SetSelinuxExecLabel(label string) error { return selinux.SetExecLabel(label, nil) }

func (realKernel) ParkUntilReadable(f *os.File) error {
	return rawfile.Control(f, func(fd int) error {
		_, err := selfimage.ReleaseAndWait(fd)
		return err
	})
}

// k is the init's kernel.
func (i *initRun) k() initKernel {
	if i.sys == nil {
		return realKernel{}
	}
	return i.sys
}

func (i *initRun) warn(msg string) {
	if i.parent != nil {
		i.parent.warn(msg)
		return
	}
	initproto.Send(i.sock, initproto.Warning, []byte(msg))
}

func (i *initRun) run() error {
	payload, fds, err := initproto.ExpectFiles(i.sock, initproto.Config)
	if err != nil {
		return err
	}
	var cfg initproto.InitConfig
	if err := json.Unmarshal(payload, &cfg); err != nil {
		initproto.CloseFds(fds)
		return fmt.Errorf("decode init config: %w", err)
	}
	if err := cfg.ResolveFds(fds); err != nil {
		return err
	}
	s := cfg.Spec
	if s == nil {
		return errors.New("init config without spec")
	}
	// The parent moves us into the container's cgroup while our runtime
	// starts and the config is decoded: nothing of the container happens
	// before it says we are there.
	if _, err := initproto.Expect(i.sock, initproto.InitGo, nil); err != nil {
		return err
	}
	i.resetAffinity(s.Process)
	if err := i.enterSession(&cfg); err != nil {
		return err
	}
	if cfg.Exec {
		return i.runExec(&cfg)
	}
	// The start barrier, opened read-write by the parent (which never
	// blocks on a fifo): after Ready the init blocks reading it until
	// `nook start` writes.
	if cfg.FifoFd == 0 {
		return errors.New("init config: the start barrier was not sent")
	}
	barrier := os.NewFile(uintptr(cfg.FifoFd), "exec.fifo")

	if err := i.setupFilesystem(&cfg); err != nil {
		return err
	}
	if !rootfs.DevFromConfig(s.Mounts) {
		if err := reopenDevNull(); err != nil {
			return err
		}
	}
	return i.startProcess(&cfg, barrier)
}

// enterSession takes the steps that come before the container's set-up,
// for an exec'd process too: the cgroup namespace, the loopback and the
// session.
func (i *initRun) enterSession(cfg *initproto.InitConfig) error {
	k := i.k()
	// A new cgroup namespace (the spec's, never an exec's: that one joined
	// the container's) is rooted where we are now. Per thread: this one is
	// locked and is the one that execs.
	flags, _ := initproto.NamespacePlan(cfg.Spec.Linux)
	if !cfg.Exec && flags&unix.CLONE_NEWCGROUP != 0 {
		if err := k.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	// A network namespace nook made has its loopback down: up, as runc.
	if !cfg.Exec && flags&unix.CLONE_NEWNET != 0 {
		if err := k.LoopbackUp(); err != nil {
			return err
		}
	}
	// Every container process leads a session of its own, as runc's do:
	// CRIU cannot checkpoint a process whose session leader is outside
	// its pid namespace (without --shell-job). With a terminal, the
	// terminal's setup makes the session (setupConsole).
	if cfg.ConsoleFd == 0 {
		if _, err := k.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
	}
	return nil
}

// startProcess takes the container init's steps once its root is made:
// its names and keyring, the process's set-up, Ready, the start barrier,
// the startContainer hooks and the execve.
func (i *initRun) startProcess(cfg *initproto.InitConfig, barrier *os.File) error {
	s, k := cfg.Spec, i.k()
	if err := i.setNames(s); err != nil {
		return err
	}
	if !cfg.NoNewKeyring {
		// A fresh session keyring keeps the host's keys out of reach.
		if _, err := k.KeyctlJoinSessionKeyring(cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join session keyring: %w", err)
		}
	}
	proc := s.Process
	if proc == nil {
		// A container without a process can be created and inspected but
		// never started (`nook start` refuses it): park at the barrier.
		return i.parkForever(barrier)
	}
	pp, err := i.prepareProcess(cfg)
	if err != nil {
		return err
	}
	if err := i.sendReady(); err != nil {
		return err
	}
	started, err := k.WaitReadable(barrier, settleAfter)
	if err != nil {
		return fmt.Errorf("start barrier: %w", err)
	}
	if !started && i.parkerFits(cfg, barrier, pp.path) {
		// In for a long wait: finish now and wait in the parker (parked.go).
		return i.finishAndExec(cfg, pp, barrier)
	}
	if err := waitBarrier(k, barrier, started); err != nil {
		return err
	}
	// The barrier stays open, close-on-exec, until the execve: `nook start`
	// learns from its closing that the process has been executed (or the
	// init has died), for the poststart hooks (see lifecycle.go, waitExec).
	defer runtime.KeepAlive(barrier)
	// startContainer hooks: after start, in the container, before the
	// user process; their paths resolve in the container's root, and they
	// run under the container's seccomp filter.
	ctx := hooks.WithSpawner(context.Background(), seccompSpawner(cfg))
	start := withDefaultEnv(hooks.Of(s.Hooks, hooks.StartContainer), pp.proc.Env)
	if err := hooks.RunContext(ctx, hooks.StartContainer, start, hookState(cfg, specs.StateCreated)); err != nil {
		return err
	}
	return i.finishAndExec(cfg, pp, nil)
}

// setNames sets the container's hostname and domain name (in its UTS
// namespace: this thread's).
func (i *initRun) setNames(s *specs.Spec) error {
	k := i.k()
	if s.Hostname != "" {
		if err := k.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", s.Hostname, err)
		}
	}
	if s.Domainname != "" {
		if err := k.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("setdomainname %q: %w", s.Domainname, err)
		}
	}
	return nil
}

// withDefaultEnv gives the hooks without an env of their own env, the
// container process's environment: what runc does for startContainer
// hooks, which run in the container as its process does.
func withDefaultEnv(list []specs.Hook, env []string) []specs.Hook {
	out := slices.Clone(list)
	for i := range out {
		if len(out[i].Env) == 0 {
			out[i].Env = env
		}
	}
	return out
}

// runExec is the Go half of `nook exec`'s process: nsenter has joined the
// container's namespaces (setns of the mount namespace also made its root
// ours) and the parent has put us in its cgroup.
func (i *initRun) runExec(cfg *initproto.InitConfig) error {
	if cfg.Spec.Process == nil {
		return errors.New("exec: no process")
	}
	if cfg.ConsoleFd != 0 {
		if err := setupConsole(cfg, false); err != nil {
			return err
		}
	}
	pp, err := i.prepareProcess(cfg)
	if err != nil {
		return err
	}
	if err := i.sendReady(); err != nil {
		return err
	}
	return i.finishAndExec(cfg, pp, nil)
}

// finishAndExec takes the last steps, which need no report to the parent,
// and execs the user process; with parkOn, the start barrier not yet
// passed, it execs the parker that waits there and then execs the user
// process (parked.go).
func (i *initRun) finishAndExec(cfg *initproto.InitConfig, pp *preparedProcess, parkOn *os.File) error {
	proc, path, limits, final := pp.proc, pp.path, pp.limits, pp.final
	k := i.k()
	// The process gets the timer slack of create's (or exec's) caller back,
	// not nook's own (nsenter/timerslack.c); this thread execs it. Now, as
	// nothing of nook's may run once the seccomp filter is loaded.
	if err := startup.UseCallerTimerSlack(); err != nil {
		return err
	}
	if a := proc.ExecCPUAffinity; a != nil && a.Final != "" {
		mask, err := sched.ParseCPUMask(a.Final)
		if err != nil {
			return fmt.Errorf("process.execCPUAffinity.final: %w", err)
		}
		if err := mask.Apply(0); err != nil {
			return fmt.Errorf("process.execCPUAffinity.final: %w", err)
		}
	}

	// After the barrier only steps that cannot be refused for lack of
	// privilege remain: rlimits while CAP_SYS_RESOURCE is still held, then
	// the final (smaller) capability sets.
	if err := k.ApplyRlimits(limits); err != nil {
		return err
	}
	// LSM labels take effect at the execve below.
	if proc.ApparmorProfile != "" {
		if err := k.ApplyApparmorProfile(cfg.ProcFd, proc.ApparmorProfile); err != nil {
			return err
		}
	}
	if err := k.SetSelinuxExecLabel(proc.SelinuxLabel); err != nil {
		return fmt.Errorf("process.selinuxLabel: %w", err)
	}
	// Invariant 3: only stdio and the preserved fds cross execve.
	if err := k.CloseRange(uint(3+cfg.PreserveFds), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	var parker *os.File
	if parkOn != nil {
		var err error
		if parker, err = k.PrepareParker(parkOn, !setsNofile(limits)); err != nil {
			return err
		}
	}
	if proc.NoNewPrivileges {
		if err := k.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	env := proc.Env
	if cfg.ListenFds > 0 {
		env = append(env[:len(env):len(env)], "LISTEN_FDS="+strconv.Itoa(cfg.ListenFds), "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	}
	// Seccomp goes last, so that nook's own syscalls are not filtered:
	// after no_new_privs, or (without it) while CAP_SYS_ADMIN is still
	// held, in which case the final capabilities follow the filter and
	// capset must be allowed by the profile (as with runc).
	filterFirst := cfg.Seccomp != nil && !proc.NoNewPrivileges && !final.Effective.Has(unix.CAP_SYS_ADMIN)
	if filterFirst {
		if err := i.loadSeccomp(cfg); err != nil {
			return err
		}
	}
	if err := k.ApplyCaps(final); err != nil {
		return err
	}
	if err := k.ApplyAmbient(final); err != nil {
		return err
	}
	if cfg.Seccomp != nil && !filterFirst {
		if err := i.loadSeccomp(cfg); err != nil {
			return err
		}
	}
	if parker != nil {
		return k.ExecParker(parker, parkOn, path, proc.Args, env)
	}
	// syscall.Exec, not a raw execve: it holds the runtime's exec lock (no
	// thread is created during the execve, which would cost a setuid or
	// file-capability program its privileges, Go issue 19546) and gives
	// the process the soft RLIMIT_NOFILE the runtime raised for itself
	// back, which only package syscall knows. Its few allocations are
	// harmless here: a listener, if any, is with the agent by now.
	if err := k.Exec(path, proc.Args, env); err != nil {
		return fmt.Errorf("exec %s: %w", proc.Args[0], explain.Wrap(err, path)) // the reason, read only now it failed
	}
	return nil
}

// resetAffinity gives this thread (the one that execs) every CPU of the
// container's cpuset, which it is in by now: not the affinity of whoever
// ran nook (`taskset -c 0 nook run` must not pin the container), which it
// inherited and which a cpuset change would keep. As runc, only when
// process.execCPUAffinity sets nothing: its initial CPUs (given to stage
// 0, see bootstrap) stand, and its final ones come before the execve. A
// failure only costs the reset: a warning, as with runc.
func (i *initRun) resetAffinity(p *specs.Process) {
	if p != nil && p.ExecCPUAffinity != nil && (p.ExecCPUAffinity.Initial != "" || p.ExecCPUAffinity.Final != "") {
		return
	}
	if err := sched.AllCPUs().Apply(0); err != nil {
		i.warn(fmt.Sprintf("reset the CPU affinity of the container process (it keeps nook's): %v", err))
	}
}

func (i *initRun) sendReady() error {
	if err := initproto.Send(i.sock, initproto.Ready, nil); err != nil {
		return err
	}
	i.ready = true
	return i.sock.Close()
}

// settleAfter is how long the init waits at the start barrier before it
// settles down for a long wait. `run`, and engines that start right after
// create, start well within it; a container left in created then waits in
// the parker (parked.go), or, where the parker cannot take over, gives
// back its mappings of nook's read-only pages, most of its RSS, and waits
// in C (package selfimage), faulting back in what it needs when started.
const settleAfter = 100 * time.Millisecond

// waitBarrier blocks until `nook start` writes its byte into the fifo;
// ready: WaitReadable said it is there. It leaves the fifo open.
func waitBarrier(k initKernel, barrier *os.File, ready bool) error {
	if !ready {
		if err := k.ParkUntilReadable(barrier); err != nil {
			return fmt.Errorf("start barrier: %w", err)
		}
	}
	var b [1]byte
	if _, err := k.Read(barrier, b[:]); err != nil {
		return fmt.Errorf("start barrier: %w", err)
	}
	return nil
}

func (i *initRun) parkForever(barrier *os.File) error {
	if err := i.sendReady(); err != nil {
		return err
	}
	if ready, err := i.k().WaitReadable(barrier, settleAfter); err == nil {
		waitBarrier(i.k(), barrier, ready)
	}
	barrier.Close()
	return errors.New("container has no process to run")
}

func (i *initRun) setupFilesystem(cfg *initproto.InitConfig) error {
	s := cfg.Spec
	var l specs.Linux
	if s.Linux != nil {
		l = *s.Linux
	}
	newMntNS := false
	for _, ns := range l.Namespaces {
		if ns.Type == specs.MountNamespace {
			newMntNS = true
		}
	}
	root, err := rootfs.OpenRoot(cfg.Rootfs, l.RootfsPropagation, newMntNS)
	if err != nil {
		return err
	}
	defer root.Close()
	if cfg.Userns {
		// The rootfs is open: now become the namespace's root (until now the
		// host uid let us reach a bundle the container's root cannot).
		if err := i.k().Setresgid(0); err != nil {
			return fmt.Errorf("become root group of the user namespace (is gid 0 mapped?): %w", err)
		}
		if err := i.k().Setresuid(0); err != nil {
			return fmt.Errorf("become root of the user namespace (is uid 0 mapped?): %w", err)
		}
	}
	// InUserns: nook itself in a user namespace (rootless podman's) cannot
	// mknod either, even for a config without one.
	return rootfs.Setup(root, &rootfs.Config{
		Kernel:   i.k(),
		Spec:     s,
		Bundle:   cfg.Bundle,
		NoPivot:  cfg.NoPivot || !newMntNS,
		Chroot:   !newMntNS,
		InUserns: cfg.Userns || i.k().RunningInUserNS(),
		CgroupNS: initproto.HasNamespace(s.Linux, specs.CgroupNamespace),
		// Only with a mount namespace of its own: otherwise it is the host's.
		Propagation: map[bool]string{true: l.RootfsPropagation}[newMntNS],
		BeforePivot: func() error {
			if cfg.ParentHooks {
				if err := i.runParentHooks(); err != nil {
					return err
				}
			}
			// createContainer hooks run in the rootfs, as runc's do
			// (a relative path there names a file of the container).
			if err := i.k().Fchdir(int(root.Fd())); err != nil {
				return fmt.Errorf("chdir to rootfs: %w", err)
			}
			return hooks.Run(hooks.CreateContainer, hooks.Of(s.Hooks, hooks.CreateContainer), hookState(cfg, specs.StateCreating))
		},
		MountLabel:  func(data string) string { return selinux.FormatMountLabel(data, l.MountLabel) },
		IdmapFds:    cfg.IdmapFds,
		BindFds:     cfg.BindFds,
		ProcContext: i.parent.procContext(),
		CgroupFile:  i.parent.cgroupFile(),
		AfterPivot: func() error {
			// Through the host's procfs the parent handed over: the
			// container's /proc may be anything by now.
			if err := sysctl.Write(cfg.ProcFd, l.Sysctl); err != nil {
				return err
			}
			if err := makeCwd(s.Process); err != nil {
				return err
			}
			if cfg.ConsoleFd != 0 {
				return setupConsole(cfg, true)
			}
			return nil
		},
	})
}

// runParentHooks has the parent run the prestart and createRuntime hooks,
// in the runtime's namespaces, and waits for them.
func (i *initRun) runParentHooks() error {
	if i.parent != nil {
		return i.parent.runHooks()
	}
	if err := initproto.Send(i.sock, initproto.RunHooks, nil); err != nil {
		return err
	}
	_, err := initproto.Expect(i.sock, initproto.HooksDone, nil)
	return err
}

// makeCwd creates a missing process.cwd, as runc does, while the root may
// still be written (before root.readonly) and by root. Called inside the
// container's root (after pivot_root), so the path cannot lead out of it.
func makeCwd(p *specs.Process) error {
	if p == nil || p.Cwd == "" {
		return nil
	}
	if err := os.MkdirAll(p.Cwd, 0o755); err != nil {
		return fmt.Errorf("process.cwd %s: create it: %w", p.Cwd, err)
	}
	return nil
}

// hookState is the state JSON the init's hooks get on stdin.
func hookState(cfg *initproto.InitConfig, status specs.ContainerState) specs.State {
	return specs.State{
		Version:     specs.Version,
		ID:          cfg.ID,
		Status:      status,
		Pid:         cfg.Pid,
		Bundle:      cfg.Bundle,
		Annotations: cfg.Spec.Annotations,
	}
}

// switchUser drops the bounding set, changes to process.user and sets the
// capabilities the process keeps until the barrier. It returns the final sets
// to apply right before execve.
func (i *initRun) switchUser(proc *specs.Process, keepAdmin bool) (caps.Sets, error) {
	k := i.k()
	sets, warnings, err := caps.FromSpec(proc.Capabilities)
	if err != nil {
		return sets, err
	}
	sets, more := k.DropUnavailableCaps(sets)
	for _, w := range append(warnings, more...) {
		i.warn(w)
	}
	if err := k.DropBounding(sets); err != nil {
		return sets, err
	}
	if err := k.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return sets, fmt.Errorf("set keep-caps: %w", err)
	}
	u := proc.User
	groups := i.usableGroups(u)
	if err := k.Setgroups(groups); err != nil && !(len(groups) == 0 && errors.Is(err, unix.EPERM)) {
		return sets, fmt.Errorf("setgroups %v (process.user.additionalGids): %w", u.AdditionalGids, err)
	}
	if err := k.Setresgid(u.GID); err != nil {
		return sets, fmt.Errorf("setgid %d (process.user.gid): %w", u.GID, err)
	}
	if err := k.Setresuid(u.UID); err != nil {
		return sets, fmt.Errorf("setuid %d (process.user.uid): %w", u.UID, err)
	}
	if err := k.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return sets, fmt.Errorf("clear keep-caps: %w", err)
	}
	// Until the barrier, keep CAP_SYS_RESOURCE if we have it, so rlimits can
	// raise hard limits right before execve (they must be set that late:
	// an RLIMIT_AS of the user's size can starve the Go runtime).
	interim := sets
	if current, err := k.CurrentPermitted(); err == nil && current.Has(unix.CAP_SYS_RESOURCE) {
		interim.Permitted = interim.Permitted.With(unix.CAP_SYS_RESOURCE)
		interim.Effective = interim.Effective.With(unix.CAP_SYS_RESOURCE)
	}
	if current, err := k.CurrentPermitted(); keepAdmin && err == nil && current.Has(unix.CAP_SYS_ADMIN) {
		interim.Permitted = interim.Permitted.With(unix.CAP_SYS_ADMIN)
		interim.Effective = interim.Effective.With(unix.CAP_SYS_ADMIN)
	}
	interim.Ambient = 0
	if err := k.ApplyCaps(interim); err != nil {
		return sets, err
	}
	return sets, nil
}

// lookPath finds args[0] in the container (after pivot_root) using the PATH
// of process.env, as execvp would, so a missing binary fails `create`.
func lookPath(k kernel.Process, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := checkExecutable(k, name); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, explain.Wrap(err, name))
		}
		return name, nil
	}
	pathEnv, _ := explain.PathOf(env)
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if checkExecutable(k, p) == nil {
			return p, nil
		}
	}
	return "", explain.WrapNotInPath(fmt.Errorf("exec: %q: executable file not found in $PATH", name), name, env)
}

func checkExecutable(k kernel.Process, p string) error {
	fi, err := k.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

// resolveUsername sets uid, gid and the supplementary groups of
// process.user.username from the container's /etc/passwd and /etc/group
// (we are past pivot_root). Explicit additionalGids are kept.
func resolveUsername(k kernel.Process, u *specs.User) error {
	if u.Username == "" {
		return nil
	}
	passwd, err := k.OpenFile("/etc/passwd", os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("process.user.username %q: %w", u.Username, err)
	}
	defer passwd.Close()
	uid, gid, _, err := user.LookupUser(passwd, u.Username)
	if err != nil {
		return fmt.Errorf("process.user.username %q: %w", u.Username, err)
	}
	u.UID, u.GID = uid, gid
	group, err := k.OpenFile("/etc/group", os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("process.user.username %q: %w", u.Username, err)
	}
	defer group.Close()
	groups, err := user.LookupGroups(group, u.Username, gid)
	if err != nil {
		return fmt.Errorf("process.user.username %q: %w", u.Username, err)
	}
	for _, g := range groups {
		if !slices.Contains(u.AdditionalGids, g) {
			u.AdditionalGids = append(u.AdditionalGids, g)
		}
	}
	return nil
}

// loadSeccomp loads the filter the parent compiled on this (locked) thread
// and, for SCMP_ACT_NOTIFY, sends the listener fd with the container
// process state to the listenerPath socket the parent connected.
func (i *initRun) loadSeccomp(cfg *initproto.InitConfig) error {
	if !cfg.Seccomp.NeedsListener() {
		if err := i.k().InstallSeccomp(cfg.Seccomp, nil); err != nil {
			return fmt.Errorf("linux.seccomp: %w", err)
		}
		return nil
	}
	// Everything the sending needs is made before the filter exists; the
	// sending runs on another thread while this one only waits (see
	// seccomp.Program.Install for why nothing else would be safe).
	if cfg.SeccompFd == 0 {
		return errors.New("linux.seccomp: the filter needs a listener but no listenerPath socket was handed over")
	}
	f := os.NewFile(uintptr(cfg.SeccompFd), "seccomp-listener")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: %w", err)
	}
	uconn, ok := conn.(*net.UnixConn)
	if !ok {
		conn.Close()
		return errors.New("linux.seccomp.listenerPath: not a unix socket")
	}
	st := cfg.Seccomp.ProcessState(cfg.Pid, hookState(cfg, specs.StateRunning))
	var sendErr error // read once Install has returned, which waits for send
	send := func(listener int) error {
		sendErr = seccomp.SendListener(uconn, listener, st)
		return sendErr
	}
	if err := i.k().InstallSeccomp(cfg.Seccomp, send); err != nil {
		if err == sendErr {
			return err // it names linux.seccomp.listenerPath
		}
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	return nil
}

// seccompSpawner starts the startContainer hooks under the container's
// seccomp filter, as runc does (runc loads the filter before them on the
// thread that forks them). Here the filter is loaded by each hook's child
// alone, right before its execve, not by this thread: the thread keeps its
// own steps (rlimits, LSM labels, capabilities) unfiltered and loads the
// filter for the container's process last, and the child still inherits
// everything else of the thread (credentials, capabilities, namespaces),
// which a fresh Go thread would not have. The hooks get no_new_privs when
// the process does (it is set later on this thread); without it this
// thread still holds CAP_SYS_ADMIN (prepareProcess). A NOTIFY rule answers
// ENOSYS in a hook: the one listener goes to the agent with the process.
func seccompSpawner(cfg *initproto.InitConfig) hooks.Spawner {
	if cfg.Seccomp == nil {
		return nil
	}
	return func(path string, argv, env []string, stdio []*os.File) (*os.Process, error) {
		return cfg.Seccomp.Spawn(seccomp.SpawnAttr{Path: path, Args: argv, Env: env, Stdio: stdio,
			Setpgid: true, NoNewPrivs: cfg.Spec.Process.NoNewPrivileges})
	}
}

// setupConsole makes the container's terminal: a pty from the container's
// devpts, its slave bound on /dev/console and made the init's controlling
// terminal and stdio, and its master sent to the --console-socket the parent
// connected (then closed here: the engine holds it).
func setupConsole(cfg *initproto.InitConfig, devConsole bool) error {
	f := os.NewFile(uintptr(cfg.ConsoleFd), "console-socket")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("--console-socket: %w", err)
	}
	defer conn.Close()
	uconn, ok := conn.(*net.UnixConn)
	if !ok {
		return errors.New("--console-socket: not a unix socket")
	}
	master, name, err := console.NewPty()
	if err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	defer master.Close()
	if cfg.ConsoleRelayed {
		if err := console.ClearONLCR(master); err != nil {
			return fmt.Errorf("process.terminal: %w", err)
		}
	}
	if sz := cfg.Spec.Process.ConsoleSize; sz != nil {
		if err := console.SetSize(master, sz.Height, sz.Width); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	slave, err := console.OpenPeer(master, name)
	if err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	defer slave.Close()
	if devConsole {
		if err := rootfs.BindConsole(slave, !rootfs.DevFromConfig(cfg.Spec.Mounts)); err != nil {
			return err
		}
	}
	if err := console.SendMaster(uconn, master, name); err != nil {
		return fmt.Errorf("--console-socket: %w", err)
	}
	if err := console.SetupSlaveStdio(slave); err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	return nil
}

// lookUpProcess takes prepareProcess's steps that read the container's
// root (after pivot_root, still privileged): the rlimits parsed and
// checked, args[0] along PATH, process.user.username's ids (set in
// cfg.Spec.Process.User) and the environment with HOME. For a C init the
// parent takes them (BuildFromParent).
func (i *initRun) lookUpProcess(cfg *initproto.InitConfig) (limits []rlimits.Rlimit, path string, env []string, err error) {
	proc, k := cfg.Spec.Process, i.k()
	if limits, err = rlimits.FromSpec(proc.Rlimits); err != nil {
		return nil, "", nil, err
	}
	// Rlimits are applied after the barrier; refuse now what will fail then.
	if err := rlimits.CheckRaise(limits, rlimits.CanRaiseHard(k.CurrentPermitted, cfg.Userns || k.RunningInUserNS())); err != nil {
		return nil, "", nil, err
	}
	if path, err = lookPath(k, proc.Args[0], proc.Env); err != nil {
		return nil, "", nil, err
	}
	if err := resolveUsername(k, &proc.User); err != nil {
		return nil, "", nil, err
	}
	// Read while any file can still be: the user may not read passwd.
	return limits, path, withHome(k, proc.Env, proc.User.UID), nil
}

// preparedProcess is what prepareProcess leaves for the last steps.
type preparedProcess struct {
	proc   *specs.Process
	path   string // resolved args[0]
	limits []rlimits.Rlimit
	final  caps.Sets
}

// prepareProcess does, for the init and for an exec'd process alike, every
// step that can still be reported to the parent: the user, capabilities
// until execve, rlimit checks, cwd, scheduling. It runs inside the
// container's root.
func (i *initRun) prepareProcess(cfg *initproto.InitConfig) (*preparedProcess, error) {
	s := cfg.Spec
	proc := s.Process
	k := i.k()
	// process.oomScoreAdj was set by stage 0 (nsenter), through the host's
	// /proc before any namespace was joined.
	limits, path, env, err := i.lookUpProcess(cfg)
	if err != nil {
		return nil, err
	}
	proc.Env = env
	if cfg.ConsoleFd != 0 {
		if err := console.GiveToUser(os.Stdin, int(proc.User.UID)); err != nil {
			return nil, fmt.Errorf("process.terminal: %w", err)
		}
	}
	// process.cwd is entered while still privileged, as runc does, so a
	// directory only root may reach is the user's cwd all the same. Only a
	// refusal is tried again as the user (one the user may enter and root
	// may not: a directory of a root-squashed network filesystem).
	cwdErr := k.Chdir(proc.Cwd)
	if cwdErr != nil && !errors.Is(cwdErr, unix.EACCES) && !errors.Is(cwdErr, unix.EPERM) {
		return nil, fmt.Errorf("chdir to process.cwd %s: %w", proc.Cwd, cwdErr)
	}
	// Before the user switch drops CAP_SYS_NICE and CAP_SYS_ADMIN, which a
	// deadline or real-time policy, a lower nice value or the real-time
	// I/O class need.
	if err := sched.SetScheduler(proc.Scheduler); err != nil {
		return nil, err
	}
	if err := sched.SetIOPriority(proc.IOPriority); err != nil {
		return nil, err
	}
	// Without no_new_privs, loading the seccomp filter after the barrier
	// needs CAP_SYS_ADMIN: keep it until then.
	keepAdmin := cfg.Seccomp != nil && !proc.NoNewPrivileges
	final, err := i.switchUser(proc, keepAdmin)
	if err != nil {
		return nil, err
	}
	umask := 0o022
	if proc.User.Umask != nil {
		umask = int(*proc.User.Umask)
	}
	k.Umask(umask)
	if cwdErr != nil {
		if err := k.Chdir(proc.Cwd); err != nil {
			return nil, fmt.Errorf("chdir to process.cwd %s: %w", proc.Cwd, err)
		}
	}
	// A cwd outside our root (reached through an fd) has no path from it:
	// getcwd fails with ENOENT. Refuse it (CVE-2024-21626).
	if _, err := k.Getwd(); err != nil {
		return nil, fmt.Errorf("process.cwd %s is outside the container's root: %w", proc.Cwd, err)
	}

	if s.Linux != nil {
		if err := sched.SetPersonality(s.Linux.Personality); err != nil {
			return nil, err
		}
		// Per thread, kept across execve: this is the thread that execs.
		if err := sched.SetMemoryPolicy(s.Linux.MemoryPolicy); err != nil {
			return nil, err
		}
	}

	return &preparedProcess{proc: proc, path: path, limits: limits, final: final}, nil
}

package containerinit

import (
	"errors"
	"fmt"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/explain"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rlimits"
	"github.com/nookrt/nook/libcontainer/rootfs"
)

// FromParent is what BuildFromParent needs to build a C init's root
// (nsenter/cinit.c) from the parent: the init's own steps, taken by a
// thread of the parent that joined the init's namespaces.
type FromParent struct {
	// Config is the init's, as the Go init would have it; ProcFd is the
	// host's procfs (sysctls are written through it).
	Config *initproto.InitConfig
	Pid    int // the init, on the host
	// ProcContexts are the proc filesystem contexts the init opened, one
	// per proc mount (initproto.ProcContexts); BuildFromParent takes them.
	ProcContexts []int
	// RunHooks runs the prestart and createRuntime hooks (Config.ParentHooks).
	RunHooks func() error
	Warn     func(string)
}

// Built is what the root built decides of the process, as the Go init's
// prepareProcess would have: the rest of its plan is the parent's.
type Built struct {
	Path       string // args[0], found along PATH in the container
	Env        []string
	Limits     []rlimits.Rlimit
	Failures   []initproto.ExecFailure
	ReopenNull bool
}

// BuildFromParent takes the Go init's steps from enterSession to the
// process's look-ups — the loopback, the root, the names — on a thread of
// the calling process that joins the init's mount, network, IPC, UTS and
// cgroup namespaces: all of them are per thread once the thread has
// filesystem attributes of its own. What only the init can do, it has done
// (its cgroup namespace, its session, the proc contexts) or will do (the
// user, the barrier, the execve). The caller must not be in a user
// namespace the container lacks (cinit.go checks).
func BuildFromParent(p *FromParent) (*Built, error) {
	type result struct {
		built *Built
		err   error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, and the
		// container's namespaces and root with it. A locked thread runs
		// no other goroutine, and the runtime starts no thread from it.
		runtime.LockOSThread()
		b, err := buildOnThisThread(p)
		done <- result{b, err}
	}()
	r := <-done
	initproto.CloseFds(p.ProcContexts) // those no proc mount took
	p.ProcContexts = nil
	return r.built, r.err
}

func buildOnThisThread(p *FromParent) (*Built, error) {
	cfg := p.Config
	s := cfg.Spec
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return nil, fmt.Errorf("unshare this thread's root and working directory: %w", err)
	}
	if err := joinInitNamespaces(p.Pid); err != nil {
		return nil, err
	}
	i := &initRun{parent: p}
	k := i.k()
	// enterSession's step the init left to us (it made its cgroup
	// namespace and session itself).
	if flags, _ := initproto.NamespacePlan(s.Linux); flags&unix.CLONE_NEWNET != 0 {
		if err := k.LoopbackUp(); err != nil {
			return nil, err
		}
	}
	if err := i.setupFilesystem(cfg); err != nil {
		return nil, err
	}
	if err := i.setNames(s); err != nil {
		return nil, err
	}
	limits, path, env, err := i.lookUpProcess(cfg)
	if err != nil {
		return nil, err
	}
	b := &Built{Path: path, Env: env, Limits: limits}
	b.ReopenNull = !rootfs.DevFromConfig(s.Mounts)
	// finishAndExec's explanation of a failed execve, in its words.
	for errno, msg := range explain.ExecFailures(path) {
		b.Failures = append(b.Failures, initproto.ExecFailure{Errno: uint32(errno),
			Line: fmt.Sprintf("exec %s: %v: %s", s.Process.Args[0], errno, msg)})
	}
	slices.SortFunc(b.Failures, func(x, y initproto.ExecFailure) int { return int(x.Errno) - int(y.Errno) })
	return b, nil
}

// joinInitNamespaces moves this thread into the namespaces of init pid
// that the root's set-up takes from its caller: cgroup (cgroup mounts),
// IPC (mqueue, sysctls), UTS (names), network (sysfs, the loopback,
// sysctls) and, last, mount (which also makes that namespace's root ours).
func joinInitNamespaces(pid int) error {
	kinds := []string{"cgroup", "ipc", "uts", "net", "mnt"}
	fds := make([]int, 0, len(kinds))
	defer func() { initproto.CloseFds(fds) }()
	for _, kind := range kinds {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, kind), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the init's %s namespace: %w", kind, err)
		}
		fds = append(fds, fd)
	}
	for n, fd := range fds {
		if err := unix.Setns(fd, 0); err != nil {
			return fmt.Errorf("join the init's %s namespace: %w", kinds[n], err)
		}
	}
	return nil
}

func (p *FromParent) procContext() func() (int, error) {
	if p == nil {
		return nil
	}
	return func() (int, error) {
		if len(p.ProcContexts) == 0 {
			return -1, errors.New("no proc filesystem context left from the init")
		}
		fd := p.ProcContexts[0]
		p.ProcContexts = p.ProcContexts[1:]
		return fd, nil
	}
}

func (p *FromParent) cgroupFile() string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("/proc/%d/cgroup", p.Pid)
}

// runHooks runs the parent's hooks on another goroutine, whose thread is
// in the runtime's namespaces: a hook forked from the building thread
// would be in the container's.
func (p *FromParent) runHooks() error {
	done := make(chan error, 1)
	go func() { done <- p.RunHooks() }()
	return <-done
}

func (p *FromParent) warn(msg string) {
	if p.Warn != nil {
		p.Warn(msg)
	}
}

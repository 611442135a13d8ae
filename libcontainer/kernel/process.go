package kernel

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/apparmor"
	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/netdev"
	"github.com/nookrt/nook/libcontainer/rawfile"
	"github.com/nookrt/nook/libcontainer/rlimits"
	"github.com/nookrt/nook/libcontainer/userns"
)

// Process is what a container's init (libcontainer/containerinit) asks of
// the kernel once nsenter has put it in its namespaces: the filesystem
// calls of Kernel (rootfs.Setup takes it as its Kernel; the init's own
// chdir, umask and reads of the container's files go through it too), and
// the steps that make the process: its session, names, credentials,
// capabilities, limits, labels, seccomp filter and the execve.
//
// The methods mirror golang.org/x/sys/unix where a syscall is made
// directly; the capability, rlimit, label and seccomp steps are taken at
// the level of the package that makes them (caps.Apply, rlimits.Apply, …),
// whose own syscalls and checks stay there. The SELinux exec label is not
// here: setting it needs go-selinux, which would link os/user's cgo into
// every package that uses this one (containerinit adds it; the Recorder
// has a SetSelinuxExecLabel for it). Nor is the parked wait, whose package
// (selfimage) is cgo (the Recorder has a ParkUntilReadable). Every
// credential and capability change is the calling thread's: the init runs
// locked to the thread that execs.
type Process interface {
	Kernel

	// Namespaces, session and names.
	Unshare(flags int) error
	LoopbackUp() error
	Setsid() (int, error)
	Sethostname(name []byte) error
	Setdomainname(name []byte) error
	KeyctlJoinSessionKeyring(name string) (int, error)

	// Reads that decide a step.
	ReadFile(path string) ([]byte, error)
	Getwd() (string, error)
	RunningInUserNS() bool

	// The calling thread's ids and prctl.
	Setgroups(gids []uint32) error
	Setresgid(gid uint32) error
	Setresuid(uid uint32) error
	Prctl(option int, arg2, arg3, arg4, arg5 uintptr) error

	// The calling thread's capabilities (package caps).
	DropUnavailableCaps(s caps.Sets) (caps.Sets, []string)
	DropBounding(keep caps.Sets) error
	ApplyCaps(s caps.Sets) error
	ApplyAmbient(s caps.Sets) error
	CurrentPermitted() (caps.Set, error)

	// The last steps before execve.
	ApplyRlimits(limits []rlimits.Rlimit) error
	ApplyApparmorProfile(procFd int, name string) error
	CloseRange(first, last uint, flags uint) error
	InstallSeccomp(f SeccompFilter, send func(listenerFd int) error) error
	// WaitReadable waits in poll(2) until f can be read or timeout has
	// passed (false; a negative timeout never passes): the start barrier.
	WaitReadable(f *os.File, timeout time.Duration) (bool, error)
	// Read reads from f: the start barrier the init blocks on.
	Read(f *os.File, p []byte) (int, error)
	// Exec is syscall.Exec: on success it does not return.
	Exec(path string, argv, env []string) error
}

// SeccompFilter is a compiled filter (*seccomp.Program) as the init loads
// it; an interface so this package does not link libseccomp.
type SeccompFilter interface {
	Install(send func(listenerFd int) error) error
	NeedsListener() bool
}

var _ Process = Real{}

func (Real) Unshare(flags int) error { return unix.Unshare(flags) }

func (Real) LoopbackUp() error { return netdev.LoopbackUp() }

func (Real) Setsid() (int, error) { return unix.Setsid() }

func (Real) Sethostname(name []byte) error { return unix.Sethostname(name) }

func (Real) Setdomainname(name []byte) error { return unix.Setdomainname(name) }

func (Real) KeyctlJoinSessionKeyring(name string) (int, error) {
	return unix.KeyctlJoinSessionKeyring(name)
}

func (Real) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (Real) Getwd() (string, error) { return unix.Getwd() }

func (Real) RunningInUserNS() bool { return userns.RunningInUserNS() }

func (Real) Setgroups(gids []uint32) error { return setgroupsThread(gids) }

func (Real) Setresgid(gid uint32) error { return setresgidThread(gid) }

func (Real) Setresuid(uid uint32) error { return setresuidThread(uid) }

func (Real) Prctl(option int, arg2, arg3, arg4, arg5 uintptr) error {
	return unix.Prctl(option, arg2, arg3, arg4, arg5)
}

func (Real) DropUnavailableCaps(s caps.Sets) (caps.Sets, []string) { return s.DropUnavailable() }

func (Real) DropBounding(keep caps.Sets) error { return caps.DropBounding(keep) }

func (Real) ApplyCaps(s caps.Sets) error { return caps.Apply(s) }

func (Real) ApplyAmbient(s caps.Sets) error { return caps.ApplyAmbient(s) }

func (Real) CurrentPermitted() (caps.Set, error) { return caps.CurrentPermitted() }

func (Real) ApplyRlimits(limits []rlimits.Rlimit) error { return rlimits.Apply(limits) }

func (Real) ApplyApparmorProfile(procFd int, name string) error {
	return apparmor.ApplyProfile(procFd, name)
}

func (Real) CloseRange(first, last uint, flags uint) error {
	return unix.CloseRange(first, last, flags)
}

func (Real) InstallSeccomp(f SeccompFilter, send func(listenerFd int) error) error {
	return f.Install(send)
}

func (Real) WaitReadable(f *os.File, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	var ready bool
	err := rawfile.Control(f, func(fd int) error {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			ms := -1
			if timeout >= 0 {
				ms = int(max(time.Until(deadline), 0).Milliseconds())
			}
			n, err := unix.Poll(fds, ms)
			if err != unix.EINTR {
				ready = n > 0
				return err
			}
		}
	})
	return ready, err
}

func (Real) Read(f *os.File, p []byte) (int, error) { return f.Read(p) }

func (Real) Exec(path string, argv, env []string) error { return syscall.Exec(path, argv, env) }

package containerinit

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/explain"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rlimits"
	"github.com/nookrt/nook/libcontainer/sealedexec"
	"github.com/nookrt/nook/nsenter"
	"github.com/nookrt/nook/seccomp"
	"github.com/nookrt/nook/startup"
)

// The parked init.
//
// An init that has waited settleAfter at the start barrier is in for a long
// wait (an engine that creates now and starts later, a container made by
// hand). Everything the container's process needs but the execve is done
// by then or needs no start to be done: the init takes its last steps
// (finishAndExec) at once and, instead of the container's program, execs
// the parker (nsenter/parker.c) from a sealed memfd. The parker waits at
// the barrier in a few KiB, with the process's final credentials,
// capabilities, rlimits and seccomp filter, and execs the program when
// `nook start` comes. That is runc's order too: its init loads the filter
// and drops its privileges before it waits for start.
//
// An init that cannot hand over its wait keeps waiting as it is (package
// selfimage gives back its program's pages): when the binary has no parker
// (a plain `go build`), when startContainer hooks must run after start,
// when an AppArmor profile or SELinux label would be taken by the parker's
// exec instead of the program's, and when the seccomp filter would refuse
// any call the parker makes (seccomp.Program.Allows runs the filter), and
// when the program's exec would fail, which the init explains and the
// parker could only report.

// parkerFits says whether this init can hand its wait over to the parker,
// to exec path.
func (i *initRun) parkerFits(cfg *initproto.InitConfig, barrier *os.File, path string) bool {
	proc := cfg.Spec.Process
	switch {
	case !i.k().HasParker():
		return false
	case explain.Container().Exec(path) != nil:
		// The exec will fail: the init explains why (a missing dynamic
		// loader, a script's interpreter, …), the parker could not.
		return false
	case len(hooks.Of(cfg.Spec.Hooks, hooks.StartContainer)) > 0:
		return false
	case proc.ApparmorProfile != "" || proc.SelinuxLabel != "":
		return false
	case cfg.Seccomp != nil:
		calls := parkerCalls(int(barrier.Fd()))
		return calls != nil && cfg.Seccomp.Allows(calls...)
	}
	return true
}

// parkerCalls are the system calls from the exec of the parker to the exec
// of the program, nil on an architecture whose C start-up nook does not
// know. The error path (write, exit_group) and the signal handlers'
// (kill, getpid) are counted in: a filter that refused them would change
// how the parker fails or takes a signal.
func parkerCalls(barrier int) []seccomp.Call {
	call := seccomp.CallOf
	var start []seccomp.Call // a static musl program's, before main
	switch runtime.GOARCH {
	case "amd64":
		const sysArchPrctl, archSetFS = 158, 0x1002 // x86-64 only: no unix constant elsewhere
		start = []seccomp.Call{call(sysArchPrctl, archSetFS), call(unix.SYS_SET_TID_ADDRESS)}
	case "arm64":
		start = []seccomp.Call{call(unix.SYS_SET_TID_ADDRESS)}
	default:
		return nil
	}
	b := uint64(barrier)
	return append(start,
		call(unix.SYS_EXECVEAT, 0, 0, 0, 0, unix.AT_EMPTY_PATH),
		call(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0),
		call(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK),
		call(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK),
		call(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK),
		call(unix.SYS_RT_SIGACTION),
		call(unix.SYS_READ, b, 0, 1),
		call(unix.SYS_FCNTL, b, unix.F_SETFD, unix.FD_CLOEXEC),
		call(unix.SYS_EXECVE),
		call(unix.SYS_WRITE, 2),
		call(unix.SYS_EXIT_GROUP),
		call(unix.SYS_GETPID),
		call(unix.SYS_KILL),
	)
}

// setsNofile says whether the config gives RLIMIT_NOFILE: then the limit
// the program gets is that one; otherwise it is the one the init started
// with, as syscall.Exec would give it.
func setsNofile(limits []rlimits.Rlimit) bool {
	return slices.ContainsFunc(limits, func(l rlimits.Rlimit) bool { return l.Resource == unix.RLIMIT_NOFILE })
}

func (realKernel) HasParker() bool { return len(nsenter.ParkerProgram()) > 0 }

// PrepareParker makes the parker's sealed memfd, lets the barrier cross
// the exec into it (close_range marked it close-on-exec) and, with
// restoreNofile, puts back the soft RLIMIT_NOFILE the Go runtime raised:
// all before the seccomp filter, which may refuse any of it.
func (realKernel) PrepareParker(barrier *os.File, restoreNofile bool) (*os.File, error) {
	program, err := sealedexec.Copy("nook-parked", bytes.NewReader(nsenter.ParkerProgram()))
	if err != nil {
		return nil, fmt.Errorf("park: %w", err)
	}
	if _, err := unix.FcntlInt(barrier.Fd(), unix.F_SETFD, 0); err != nil {
		program.Close()
		return nil, fmt.Errorf("park: keep the start barrier open across exec: %w", err)
	}
	if soft, ok := startup.NofileAtStart(); restoreNofile && ok {
		var lim unix.Rlimit
		err := unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &lim)
		if err == nil {
			lim.Cur = min(soft, lim.Max)
			err = unix.Prlimit(0, unix.RLIMIT_NOFILE, &lim, nil)
		}
		if err != nil {
			program.Close()
			return nil, fmt.Errorf("park: give back RLIMIT_NOFILE %d: %w", soft, err)
		}
	}
	return program, nil
}

// ExecParker execs program (PrepareParker's), which waits on barrier and
// then execs path. It returns only on failure.
//
// The exec is made with every signal blocked, and the parker restores the
// mask it is handed once its handlers are in place. Between the exec's
// reset of the Go handlers and the parker's own, a signal the init does
// not block would meet the default action, which the kernel does not take
// on a pid namespace's init: a `nook kill TERM` sent then would be lost.
// Blocked, it waits, pending across the exec, for the parker's handler.
func (realKernel) ExecParker(program, barrier *os.File, path string, argv, env []string) error {
	// The mask is this thread's; the exec must be made from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	all := ^uint64(0)
	restore, errno := threadSigmask(unix.SIG_BLOCK, &all)
	if errno != 0 {
		return fmt.Errorf("park: block signals across the exec: %w", errno)
	}
	// Any failure below leaves the thread as it was.
	defer threadSigmask(unix.SIG_SETMASK, &restore)
	args := append([]string{"nook-parked", strconv.Itoa(int(barrier.Fd())), strconv.FormatUint(restore, 16), path}, argv...)
	argvp, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	empty := [1]byte{}
	// Raw: nothing of the runtime may run between here and the exec, the
	// seccomp filter being loaded (x/sys has no execveat).
	_, _, errno = unix.RawSyscall6(unix.SYS_EXECVEAT, program.Fd(), uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	runtime.KeepAlive(argvp)
	runtime.KeepAlive(envp)
	return fmt.Errorf("park: exec the parker: %w", errno)
}

// threadSigmask changes this thread's signal mask as rt_sigprocmask(how,
// set) does and returns the mask before (set nil: only reads it). Raw: it
// runs after the seccomp filter, which allows it (parkerCalls: SIG_BLOCK,
// SIG_SETMASK), and nothing of the runtime may run in it.
func threadSigmask(how int, set *uint64) (old uint64, errno unix.Errno) {
	_, _, errno = unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, uintptr(how), uintptr(unsafe.Pointer(set)),
		uintptr(unsafe.Pointer(&old)), kernelSigsetSize, 0, 0)
	return old, errno
}

// kernelSigsetSize is the size of the kernel's signal set (64 signals) on
// every architecture nook parks on (parkerCalls).
const kernelSigsetSize = 8

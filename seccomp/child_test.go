package seccomp

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Filters are loaded for real only in child processes: a re-exec of the test
// binary that locks its thread, sets no_new_privs, loads the program and
// then runs probes (raw syscalls, results printed one per line) or execs a
// command. The test process itself never carries a filter.
const (
	envChild   = "NOOK_SECCOMP_TEST_CHILD"   // program file path
	envProbes  = "NOOK_SECCOMP_TEST_PROBES"  // "name:arg;name:arg"
	envExec    = "NOOK_SECCOMP_TEST_EXEC"    // JSON argv, exec'd after the probes
	envHandOff = "NOOK_SECCOMP_TEST_HANDOFF" // "1": Install, sending the listener fd over fd 3
	envNoPriv  = "NOOK_SECCOMP_TEST_NOPRIV"  // "1": no no_new_privs, no capabilities
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChild); path != "" {
		os.Exit(childMain(path))
	}
	os.Exit(m.Run())
}

func childMain(programPath string) int {
	runtime.LockOSThread()
	data, err := os.ReadFile(programPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	var p Program
	if err := json.Unmarshal(data, &p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	var argv []string
	if e := os.Getenv(envExec); e != "" {
		if err := json.Unmarshal([]byte(e), &argv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
	}
	probes := strings.Split(os.Getenv(envProbes), ";")
	if os.Getenv(envNoPriv) == "1" {
		// Drop every capability of this (locked) thread instead of
		// setting no_new_privs: the kernel must refuse the filter.
		var data [2]unix.CapUserData
		if err := unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &data[0]); err != nil {
			fmt.Fprintln(os.Stderr, "capset:", err)
			return 3
		}
	} else if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "no_new_privs:", err)
		return 3
	}
	var out strings.Builder
	if os.Getenv(envHandOff) == "1" {
		// As the init does: Install, whose sending thread passes the
		// listener to the parent, which forwards it to the agent.
		start := time.Now()
		err := p.Install(func(fd int) error {
			return unix.Sendmsg(3, []byte("fd"), unix.UnixRights(fd), nil, 0)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "install:", err)
			return 5
		}
		fmt.Fprintf(&out, "handoff_us=%d\n", time.Since(start).Microseconds())
	} else if _, err := p.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 4
	}
	for _, probe := range probes {
		if probe == "" {
			continue
		}
		name, arg, _ := strings.Cut(probe, ":")
		fmt.Fprintf(&out, "%s=%d\n", name, runProbe(name, arg))
	}
	// One raw write: the filter may deny what os.Stdout's poller would use.
	unix.Write(1, []byte(out.String()))
	if argv != nil {
		err := syscall.Exec(argv[0], argv, os.Environ())
		fmt.Fprintln(os.Stderr, "exec:", err)
		return 6
	}
	return 0
}

// runProbe makes one raw syscall and returns its errno (0 on success).
func runProbe(name, arg string) uintptr {
	str := func(s string) uintptr {
		b, _ := unix.BytePtrFromString(s)
		return uintptr(unsafe.Pointer(b))
	}
	num := func(s string) uintptr {
		v, _ := strconv.ParseUint(s, 0, 64)
		return uintptr(v)
	}
	var errno syscall.Errno
	switch name {
	case "mkdir":
		_, _, errno = syscall.RawSyscall(unix.SYS_MKDIR, str(arg), 0o755, 0)
	case "mkdirat":
		fdcwd := unix.AT_FDCWD
		_, _, errno = syscall.RawSyscall(unix.SYS_MKDIRAT, uintptr(fdcwd), str(arg), 0o755)
	case "personality":
		_, _, errno = syscall.RawSyscall(unix.SYS_PERSONALITY, num(arg), 0, 0)
	case "unshare":
		_, _, errno = syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWUTS, 0, 0)
	case "mount":
		// ENOENT without a filter: the target does not exist.
		_, _, errno = syscall.RawSyscall6(unix.SYS_MOUNT, str("none"), str("/nonexistent-nook-seccomp-test"), str("tmpfs"), 0, 0, 0)
	case "reboot":
		// Bad magic numbers: EINVAL (or EPERM without CAP_SYS_BOOT)
		// without a filter, never a reboot.
		_, _, errno = syscall.RawSyscall6(unix.SYS_REBOOT, 0, 0, 0, 0, 0, 0)
	case "mkdir-other-thread":
		// From another OS thread: never filtered (TSYNC is not used).
		me := unix.Gettid()
		res := make(chan uintptr)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			if unix.Gettid() == me {
				res <- 254
				return
			}
			res <- runProbe("mkdir", arg)
		}()
		return <-res
	case "nr", "nrx32":
		// Any syscall number, no arguments (nrx32: for an x32 number,
		// so both can be probed in one child).
		_, _, errno = syscall.RawSyscall(num(arg), 0, 0, 0)
	case "getppid":
		_, _, errno = syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	default:
		return 255
	}
	return uintptr(errno)
}

// childResult is what a filtered child did.
type childResult struct {
	probes map[string]syscall.Errno
	stdout string
	stderr string
	state  *os.ProcessState
}

// childCmd prepares a child that loads p and runs probes, then argv if any.
func childCmd(t *testing.T, p *Program, probes []string, argv []string) *exec.Cmd {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "program.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+path, envProbes+"="+strings.Join(probes, ";"))
	if argv != nil {
		a, _ := json.Marshal(argv)
		cmd.Env = append(cmd.Env, envExec+"="+string(a))
	}
	return cmd
}

// runChild runs a child to completion.
func runChild(t *testing.T, p *Program, probes []string, argv []string) childResult {
	t.Helper()
	cmd := childCmd(t, p, probes, argv)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	return parseChild(t, cmd.ProcessState, stdout.String(), stderr.String())
}

func parseChild(t *testing.T, st *os.ProcessState, stdout, stderr string) childResult {
	t.Helper()
	r := childResult{probes: map[string]syscall.Errno{}, stdout: stdout, stderr: stderr, state: st}
	for _, line := range strings.Split(stdout, "\n") {
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			continue
		}
		r.probes[name] = syscall.Errno(n)
	}
	return r
}

// mustExit fails unless the child exited 0.
func (r childResult) mustExit(t *testing.T) {
	t.Helper()
	if r.state == nil || !r.state.Exited() || r.state.ExitCode() != 0 {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", r.state, r.stdout, r.stderr)
	}
}

// signal returns the signal that killed the child, or 0.
func (r childResult) signal() syscall.Signal {
	if r.state == nil {
		return 0
	}
	ws, ok := r.state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

func mustCompile(t testing.TB, name, listenerPath string) *Program {
	t.Helper()
	p, err := Compile(loadProfile(t, name, listenerPath), nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func busybox(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("busybox is not installed (needed to run real commands under the filter)")
	return ""
}

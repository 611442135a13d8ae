package nsenter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary, run again with this variable set to the parker's path,
// plays an init that execs the parker with every signal blocked, a TERM
// pending for it if PARKER_TERM is set (TestParkerTakesSignalPendingAcrossExec).
const parkerExecRole = "NOOK_TEST_PARKER_EXEC"

func init() {
	if path := os.Getenv(parkerExecRole); path != "" {
		fmt.Fprintln(os.Stderr, execParkerBlocked(path))
		os.Exit(1)
	}
}

// execParkerBlocked execs the parker at path, barrier on fd 3, with the
// mask PARKER_MASK to restore and grep printing its SigBlk as the
// program. It returns only on failure.
func execParkerBlocked(path string) error {
	runtime.LockOSThread()
	all := ^uint64(0)
	if _, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&all)), 0, 8, 0, 0); errno != 0 {
		return fmt.Errorf("block signals: %w", errno)
	}
	// Sent to this thread, blocked: it can only wait, pending, for the
	// parker (kill would hand it to another Go thread's handler).
	if os.Getenv("PARKER_TERM") != "" {
		if err := unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGTERM); err != nil {
			return fmt.Errorf("tgkill: %w", err)
		}
	}
	argv, err := syscall.SlicePtrFromStrings([]string{"nook-parked", "3", os.Getenv("PARKER_MASK"), "/bin/grep",
		"grep", "SigBlk", "/proc/self/status"})
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings([]string{"PATH=/usr/bin:/bin"})
	if err != nil {
		return err
	}
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	// Raw: the runtime must not run on this thread before the exec.
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envp[0])))
	return fmt.Errorf("exec the parker: %w", errno)
}

// parkerPath writes the parker program where a test can execute it: the
// one embedded (a keeperelf build) or `make build`'s parker.bin.
func parkerPath(t *testing.T) string {
	t.Helper()
	program := ParkerProgram()
	if program == nil {
		var err error
		if program, err = os.ReadFile("parker.bin"); err != nil {
			t.Skipf("no parker program: not a keeperelf build and no nsenter/parker.bin (make build): %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "parker")
	if err := os.WriteFile(path, program, 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// runParker runs the parker from a blocked exec, with barrier written if
// start, and returns how it ended and what its program printed.
func runParker(t *testing.T, path, mask string, term, start bool) (*os.ProcessState, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var out bytes.Buffer
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), parkerExecRole+"="+path, "PARKER_MASK="+mask)
	if term {
		cmd.Env = append(cmd.Env, "PARKER_TERM=1")
	}
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if start {
		if _, err := w.Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the parker still waits after 5s (term %v, start %v): %s", term, start, out.String())
	}
	return cmd.ProcessState, out.String()
}

// The init execs the parker with every signal blocked and hands it the
// mask to restore: a signal that came meanwhile is taken by the parker's
// handler once the mask is restored (a TERM ends it, as it ends a Go
// program), and the program it execs has the mask handed over.
func TestParkerTakesSignalPendingAcrossExec(t *testing.T) {
	path := parkerPath(t)

	state, out := runParker(t, path, "0", true, false)
	if ws := state.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != unix.SIGTERM {
		t.Errorf("parker with a TERM pending across its exec ended with %v, want killed by SIGTERM: %s", state, out)
	}

	// SIGUSR1 (10) and SIGUSR2 (12): bits 9 and 11.
	state, out = runParker(t, path, "a00", false, true)
	if !state.Success() {
		t.Fatalf("parker's program: %v: %s", state, out)
	}
	if got := strings.Fields(out); len(got) != 2 || got[1] != "0000000000000a00" {
		t.Errorf("the parker's program has %q, want SigBlk 0000000000000a00 (the mask handed over)", out)
	}
}

// A mask the parker cannot read ends it with a message naming it.
func TestParkerRefusesBadMask(t *testing.T) {
	path := parkerPath(t)
	state, out := runParker(t, path, "zz", false, true)
	if state.ExitCode() != 1 || !strings.Contains(out, "bad signal mask zz") {
		t.Errorf("parker with mask zz: %v: %q, want exit 1 naming the mask", state, out)
	}
}

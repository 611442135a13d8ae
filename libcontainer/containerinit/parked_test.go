package containerinit

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary plays two roles for TestExecParkerBlocksSignals, run
// again with one of these set: an init that calls ExecParker with the test
// binary as the parker, and that parker, which reports what it was given.
const (
	execParkerRole = "NOOK_TEST_EXEC_PARKER"
	asParkerRole   = "NOOK_TEST_AS_PARKER"
)

func init() {
	switch {
	case os.Getenv(asParkerRole) != "":
		// As the parker: nook-parked <barrier> <mask> <path> <argv…>.
		// Go's start-up unblocks the signals it cannot run with blocked
		// (TERM, SEGV, …), not USR1, USR2 or the real-time ones.
		blocked := ""
		for _, line := range strings.Split(readFile("/proc/self/status"), "\n") {
			if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
				blocked = strings.TrimSpace(v)
			}
		}
		fmt.Printf("parked %s blocked %s\n", strings.Join(os.Args[1:], " "), blocked)
		os.Exit(0)
	case os.Getenv(execParkerRole) != "":
		os.Exit(callExecParker())
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// callExecParker prints this thread's mask, then calls ExecParker with the
// test binary as the parker; it returns only if that fails.
func callExecParker() int {
	program, err := os.Open("/proc/self/exe")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	barrier, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// ExecParker locks the goroutine to its thread; so does this, to read
	// the same thread's mask.
	runtime.LockOSThread()
	// Whatever mask the test was started with, the three signals the test
	// looks at are not blocked before the exec.
	watched := uint64(1)<<(10-1) | 1<<(12-1) | 1<<(40-1)
	if _, errno := threadSigmask(unix.SIG_UNBLOCK, &watched); errno != 0 {
		fmt.Fprintln(os.Stderr, errno)
		return 1
	}
	mask, errno := threadSigmask(unix.SIG_BLOCK, nil)
	if errno != 0 {
		fmt.Fprintln(os.Stderr, errno)
		return 1
	}
	fmt.Printf("mask %x barrier %d\n", mask, barrier.Fd())
	err = realKernel{}.ExecParker(program, barrier, "/bin/true", []string{"true", "x"}, []string{asParkerRole + "=1"})
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// ExecParker execs the parker with every signal blocked (a signal sent
// before the parker's handlers are in place waits for them) and hands it
// the init's mask to restore, its barrier, the program's path and argv.
func TestExecParkerBlocksSignals(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), execParkerRole+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("init calling ExecParker: %v (%s)", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var mask string
	var barrier int
	if len(lines) != 2 {
		t.Fatalf("got %q, want the init's mask and the parker's report", out)
	}
	if _, err := fmt.Sscanf(lines[0], "mask %s barrier %d", &mask, &barrier); err != nil {
		t.Fatalf("init printed %q: %v", lines[0], err)
	}
	want := fmt.Sprintf("parked %d %s /bin/true true x blocked ", barrier, mask)
	got, blocked, ok := strings.Cut(lines[1], " blocked ")
	if !ok || got+" blocked " != want {
		t.Fatalf("parker got %q, want %q…", lines[1], want)
	}
	bits, err := strconv.ParseUint(blocked, 16, 64)
	if err != nil {
		t.Fatalf("parker's SigBlk %q: %v", blocked, err)
	}
	initMask, err := strconv.ParseUint(mask, 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	// USR1, USR2, signal 40: Go's start-up in the parker leaves them as
	// the exec gave them.
	for _, sig := range []uint{10, 12, 40} {
		bit := uint64(1) << (sig - 1)
		if initMask&bit != 0 {
			t.Fatalf("the init had signal %d blocked already (mask %s): cannot tell", sig, mask)
		}
		if bits&bit == 0 {
			t.Errorf("signal %d was not blocked across the exec of the parker (SigBlk %s)", sig, blocked)
		}
	}
}

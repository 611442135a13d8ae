package startup

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

const slackChildEnv = "NOOK_TIMERSLACK_CHILD"

// startWithSlack starts this test binary as a timerslack child from a
// thread whose timer slack is slack (a child inherits its forking thread's),
// and returns what the child printed: its CallerTimerSlack, its own slack,
// the slack of a program it started through WithCallerTimerSlack, and its
// own slack after that.
func startWithSlack(t *testing.T, slack uint64, env ...string) []string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append([]string{slackChildEnv + "=1"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestTimerSlackRaisedAndGivenBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slack  uint64
		env    []string
		caller string // what CallerTimerSlack says
		own    string // the child's slack, raised by timerslack.c
		child  string // what a program started through WithCallerTimerSlack has
	}{
		{"default", 50000, nil, "50000", "5000000", "50000"},
		{"odd value", 70001, nil, "70001", "5000000", "70001"},
		// A caller that already has a larger slack keeps it.
		{"larger", 20000000, nil, "20000000", "20000000", "20000000"},
		// The init: its caller (create) is raised already and passes its own caller's.
		{"passed down", 5000000, []string{CallerTimerSlackEnv + "=60000"}, "60000", "5000000", "60000"},
		{"passed garbage", 40000, []string{CallerTimerSlackEnv + "=12x"}, "40000", "5000000", "40000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := startWithSlack(t, tc.slack, tc.env...)
			want := []string{tc.caller, tc.own, tc.child, tc.own}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("caller, own, started program, own after: got %q, want %q", got, want)
			}
		})
	}
}

// timerSlackChild prints CallerTimerSlack, this thread's slack, the slack
// of a cat started through WithCallerTimerSlack, and this thread's slack
// again.
func timerSlackChild() int {
	runtime.LockOSThread()
	own := func() string {
		v, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
		if err != nil {
			return "error:" + err.Error()
		}
		return strconv.Itoa(v)
	}
	before := own()
	var started []byte
	err := WithCallerTimerSlack(func() (err error) {
		started, err = exec.Command("/bin/cat", "/proc/self/timerslack_ns").Output()
		return err
	})
	if err != nil {
		fmt.Println("cat:", err)
		return 1
	}
	fmt.Println(CallerTimerSlack(), before, strings.TrimSpace(string(started)), own())
	return 0
}

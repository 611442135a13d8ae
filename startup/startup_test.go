package startup

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const childEnv = "NOOK_STARTUP_CHILD"

// TestOneProcAndEnvironmentKept runs this test binary (which links
// startup.c) with known environments: the runtime must have started with
// the expected number of Ps, and the environment Go code sees must be
// exactly the one given, including the entry the constructor borrowed.
func TestOneProcAndEnvironmentKept(t *testing.T) {
	for _, tc := range []struct {
		env   []string
		procs int
	}{
		{[]string{"A=1", "LAST=x=y"}, 1},
		{[]string{"A=1", "GOTRACEBACK=single"}, 1}, // GO* entries are never borrowed
		{[]string{"A=1", "_NOOK_X=1"}, 1},          // nor nook's own, which other constructors read
		{[]string{"GOMAXPROCS=2", "B=2"}, 2},       // the user's choice stands
	} {
		env := append([]string{childEnv + "=1", "WANT_PROCS=" + strconv.Itoa(tc.procs)}, tc.env...)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(env, "WANT_ENV="+strings.Join(env, "\x1f"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("env %q: %v\n%s", tc.env, err, out)
		}
	}
}

const nofileChildEnv = "NOOK_STARTUP_NOFILE_CHILD"

// The soft RLIMIT_NOFILE a child started with is what NofileAtStart says,
// not the one the Go runtime raised its own to.
func TestNofileAtStartIsTheLimitGiven(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 600 {
		t.Skipf("hard RLIMIT_NOFILE is %d: too low to start a child below it", lim.Max)
	}
	// A child of this test inherits the limit we set (Setrlimit tells the
	// runtime not to put its own original back in children).
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 517, Max: lim.Max}); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// As a container's init, the only process whose constructor reads it.
	cmd.Env = []string{nofileChildEnv + "=517", "_NOOK_INITPIPE=1000"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	if want := os.Getenv(prefaultChildEnv); want != "" {
		os.Exit(prefaultChild(want))
	}
	if os.Getenv(slackChildEnv) != "" {
		os.Exit(timerSlackChild())
	}
	if want := os.Getenv(nofileChildEnv); want != "" {
		if soft, ok := NofileAtStart(); !ok || strconv.FormatUint(soft, 10) != want {
			println("NofileAtStart", soft, ok, "want", want)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(childEnv) == "" {
		os.Exit(m.Run())
	}
	// The child: check and exit.
	want, _ := strconv.Atoi(os.Getenv("WANT_PROCS"))
	// A GOMAXPROCS from the environment is taken as is, even above the CPU count.
	if p := runtime.GOMAXPROCS(0); p != want {
		println("GOMAXPROCS is", p, "want", want)
		os.Exit(1)
	}
	wantEnv := append(strings.Split(os.Getenv("WANT_ENV"), "\x1f"), "WANT_ENV="+os.Getenv("WANT_ENV"))
	got := os.Environ()
	slices.Sort(wantEnv)
	slices.Sort(got)
	if !slices.Equal(got, wantEnv) {
		println("environment\n got", strings.Join(got, " "), "\nwant", strings.Join(wantEnv, " "))
		os.Exit(1)
	}
	os.Exit(0)
}

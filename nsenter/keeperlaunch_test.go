package nsenter

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary, run again with this variable set, plays a create that
// starts a keeper and exits (TestKeeperStartsAtExit).
const keeperLaunchRole = "NOOK_TEST_KEEPERLAUNCH_LAUNCH"

// The keeper's program: a shell that writes down what it finds, before it
// opens anything itself: its fds and what they refer to, its cwd, its
// session and parent (fields 6 and 4 of its stat), and whether create's
// last act before its exit (a marker) had happened. Each command is a
// child with its own redirection: the shell itself opens nothing.
const keeperScript = `find /proc/$$/fd -mindepth 1 -printf '%f %l\n' > "$OUT_DIR/fds.tmp"
readlink /proc/$$/cwd > "$OUT_DIR/cwd"
awk -v pid=$$ '{print ($6 == pid), $4}' /proc/$$/stat > "$OUT_DIR/stat"
if test -e "$OUT_DIR/create-exits"; then echo yes; else echo no; fi > "$OUT_DIR/after-create"
mv "$OUT_DIR/fds.tmp" "$OUT_DIR/fds"`

func init() {
	if os.Getenv(keeperLaunchRole) != "" {
		os.Exit(launchKeeperAndExit())
	}
}

// launchKeeperAndExit hands a keeper three files at fds that collide with
// its targets, lingers, leaves a marker and exits.
func launchKeeperAndExit() int {
	dir := os.Getenv("OUT_DIR")
	var fds [3]int
	// Opened so that sources sit on each other's targets.
	for i, p := range []string{dir, "/dev/null", "/dev/zero"} {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fds[2-i] = fd
	}
	sh, err := os.Open("/bin/sh")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pid, settled, err := StartKeeperAtExit(fds, int(sh.Fd()), []string{"sh", "-c", keeperScript}, []string{"OUT_DIR=" + dir, "PATH=/usr/bin:/bin"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "StartKeeperAtExit:", err)
		return 1
	}
	// Once per process: a second launch declines (create then forks it).
	if _, _, err := StartKeeperAtExit(fds, int(sh.Fd()), []string{"sh"}, nil); !errors.Is(err, unix.EBUSY) {
		fmt.Fprintln(os.Stderr, "second StartKeeperAtExit:", err, "want EBUSY")
		return 1
	}
	// Once settled, the keeper holds only its three, the program and a
	// pidfd of this process (both close-on-exec), none of this process's
	// others (its stdout is the test's pipe).
	settled()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var held []string
	for _, e := range entries {
		held = append(held, e.Name())
	}
	if strings.Join(held, " ") != "3 4 5 6 7" {
		fmt.Fprintf(os.Stderr, "settled keeper holds fds %v, want 3 4 5 6 7\n", held)
		return 1
	}
	fmt.Println(pid)
	// Nothing create does after the launch reaches the keeper.
	sh.Close()
	for _, fd := range fds {
		unix.Close(fd)
	}
	time.Sleep(300 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(dir, "create-exits"), nil, 0o600); err != nil {
		return 1
	}
	return 0
}

// A keeper started with StartKeeperAtExit runs its program only once the
// process that started it has exited, with exactly the three files it was
// handed at 3, 4 and 5 (none of create's others, no stdio), in its own
// session, in "/"; a second launch in the same process declines.
func TestKeeperStartsAtExit(t *testing.T) {
	// The keeper outlives create: as create's caller, reap it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := newCommand(self, keeperLaunchRole+"=launch", "OUT_DIR="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("launching process: %v (%s)", err, out)
	}
	keeper, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("launching process printed %q, want the keeper's pid", out)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(keeper, &ws, 0, nil); err != nil {
		t.Fatalf("wait for the keeper %d: %v", keeper, err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("keeper ended with %v, want exit 0", ws)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the keeper's program did not run to its end: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	var lines []string
	for _, l := range strings.Split(read("fds"), "\n") {
		// The shell's own redirection of find's output (dash makes it
		// before the fork, on the first free fd: 1, as stdio is closed).
		if l != "1 "+filepath.Join(dir, "fds.tmp") {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	fds := strings.Join(lines, "\n")
	want := fmt.Sprintf("3 /dev/zero\n4 /dev/null\n5 %s", dir)
	if fds != want {
		t.Errorf("keeper fds:\n%s\nwant only:\n%s", fds, want)
	}
	if got := read("after-create"); got != "yes" {
		t.Errorf("the keeper's program ran before the launching process was done")
	}
	if got := read("cwd"); got != "/" {
		t.Errorf("keeper cwd %q, want /", got)
	}
	if got, want := read("stat"), fmt.Sprintf("1 %d", os.Getpid()); got != want {
		t.Errorf("keeper (own session, parent) = %q, want %q: its own session, re-parented to the launching process's caller", got, want)
	}
}

// newCommand runs the test binary again with env added, in the role it names.
func newCommand(self string, env ...string) *exec.Cmd {
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

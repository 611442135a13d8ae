package caps

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv selects a child mode of this test binary. Applying capabilities
// is irreversible, so it happens in a re-executed copy, never in the process
// running the other tests.
const childEnv = "NOOK_CAPS_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// childSets is what the children apply: a small, distinct set per field so a
// value landing in the wrong set shows up.
func childSets() Sets {
	return Sets{
		Bounding:    set("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"),
		Permitted:   set("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"),
		Effective:   set("CAP_CHOWN", "CAP_NET_BIND_SERVICE"),
		Inheritable: set("CAP_KILL", "CAP_NET_BIND_SERVICE"),
		Ambient:     set("CAP_NET_BIND_SERVICE"),
	}
}

func runChild(mode string) int {
	// Everything below changes only this thread, and the exec mode execs
	// from it, exactly like the container init.
	runtime.LockOSThread()
	if err := child(mode); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func child(mode string) error {
	s := childSets()
	if err := DropBounding(s); err != nil {
		return err
	}
	switch mode {
	case "apply":
		if err := Apply(s); err != nil {
			return err
		}
		if err := ApplyAmbient(s); err != nil {
			return err
		}
		status, err := os.ReadFile("/proc/thread-self/status")
		if err != nil {
			return err
		}
		os.Stdout.Write(status)
		// Requests the kernel refuses must come back as errors naming the
		// capability.
		fmt.Println("ERR", ApplyAmbient(Sets{Ambient: set("CAP_CHOWN")}))
		fmt.Println("ERR", Apply(Sets{Permitted: set("CAP_SYS_ADMIN")}))
		return nil
	case "exec":
		// The init's order: keep permitted across the uid change, become an
		// unprivileged user, then set the sets and exec.
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return err
		}
		if err := syscall.Setgroups(nil); err != nil {
			return err
		}
		if err := syscall.Setresgid(65534, 65534, 65534); err != nil {
			return err
		}
		if err := syscall.Setresuid(65534, 65534, 65534); err != nil {
			return err
		}
		if err := Apply(s); err != nil {
			return err
		}
		if err := ApplyAmbient(s); err != nil {
			return err
		}
		cat, err := exec.LookPath("cat")
		if err != nil {
			return err
		}
		return syscall.Exec(cat, []string{"cat", "/proc/self/status"}, os.Environ())
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func runChildMode(t *testing.T, mode string) string {
	t.Helper()
	cur, err := current()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"CAP_SETPCAP", "CAP_SETUID", "CAP_SETGID"} {
		if n, _ := Parse(c); !cur.Effective.Has(n) {
			t.Skipf("needs %s in the effective set", c)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, stderr.String())
	}
	return string(out)
}

func checkCaps(t *testing.T, got map[string]Set, want map[string]Set) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %#x (%v), want %#x (%v)", k, uint64(g), g, uint64(w), w)
		}
	}
}

func TestApplyInChild(t *testing.T) {
	out := runChildMode(t, "apply")
	s := childSets()
	checkCaps(t, parseStatusCaps(t, bufio.NewScanner(strings.NewReader(out))), map[string]Set{
		"CapBnd": s.Bounding, "CapPrm": s.Permitted, "CapEff": s.Effective,
		"CapInh": s.Inheritable, "CapAmb": s.Ambient,
	})
	for _, want := range []string{
		"ERR raise ambient capability CAP_CHOWN: operation not permitted",
		"ERR capset: operation not permitted (not in the permitted set: CAP_SYS_ADMIN)",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

// TestApplyAcrossExec checks what the init relies on: after a switch to an
// unprivileged uid and execve, the process holds exactly its ambient
// capabilities in permitted and effective, and the bounding and inheritable
// sets survive.
func TestApplyAcrossExec(t *testing.T) {
	out := runChildMode(t, "exec")
	s := childSets()
	got := parseStatusCaps(t, bufio.NewScanner(strings.NewReader(out)))
	checkCaps(t, got, map[string]Set{
		"CapBnd": s.Bounding, "CapPrm": s.Ambient, "CapEff": s.Ambient,
		"CapInh": s.Inheritable, "CapAmb": s.Ambient,
	})
	if !strings.Contains(out, "\nUid:\t65534\t65534\t65534\t65534\n") {
		t.Errorf("child did not run as uid 65534:\n%s", out)
	}
}

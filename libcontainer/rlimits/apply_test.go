package rlimits

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv selects a stage of the re-executed test binary; limits are
// process-wide and cannot always be raised back, so they are changed in a
// child, never in the process running the tests.
const childEnv = "NOOK_RLIMITS_CHILD"

// The child lowers the soft RLIMIT_NOFILE to nofileSoft and keeps the hard
// limit it inherited: Go's restore on exec can then succeed without
// CAP_SYS_RESOURCE, so a limit set the wrong way would visibly revert.
const nofileSoft = 2048

func TestMain(m *testing.M) {
	if stage := os.Getenv(childEnv); stage != "" {
		if err := child(stage); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(stage string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	switch stage {
	case "prepare":
		// Start stage "apply" with a soft NOFILE well below its hard limit,
		// so that the Go runtime there raises it and remembers the original,
		// which is the situation in which a wrongly set limit is undone on
		// exec.
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		lim.Cur = 1024
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		return syscall.Exec(self, []string{self, "-test.run=^$"}, withStage(os.Environ(), "apply"))
	case "apply":
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		err := Apply([]Rlimit{
			{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: nofileSoft, Hard: lim.Max},
			{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE", Soft: 0, Hard: 1 << 20},
		})
		if err != nil {
			return err
		}
		// Raising the hard limit back must fail with the hint; drop
		// CAP_SYS_RESOURCE from the effective set first so the outcome does
		// not depend on the machine.
		if err := dropEffective(unix.CAP_SYS_RESOURCE); err != nil {
			return err
		}
		fmt.Printf("ERR %v\n", Apply([]Rlimit{{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: nofileSoft, Hard: lim.Max + 1}}))
		cat, err := exec.LookPath("cat")
		if err != nil {
			return err
		}
		return syscall.Exec(cat, []string{"cat", "/proc/self/limits"}, os.Environ())
	}
	return fmt.Errorf("unknown stage %q", stage)
}

// withStage returns env with childEnv set to stage, replacing any earlier
// value: with duplicates the first one wins, and the stages would loop.
func withStage(env []string, stage string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, childEnv+"=") {
			out = append(out, kv)
		}
	}
	return append(out, childEnv+"="+stage)
}

func dropEffective(c int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[c/32].Effective &^= 1 << uint(c%32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

func TestApplyInChild(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 2*nofileSoft || lim.Max == unix.RLIM_INFINITY {
		t.Skipf("hard RLIMIT_NOFILE is %d, need a finite limit of at least %d", lim.Max, 2*nofileSoft)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = withStage(os.Environ(), "prepare")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	for _, re := range []string{
		// The values must survive the exec into cat, despite the Go
		// runtime's NOFILE restore.
		fmt.Sprintf(`(?m)^Max open files +%d +%d +files *$`, nofileSoft, lim.Max),
		`(?m)^Max core file size +0 +1048576 +bytes *$`,
		fmt.Sprintf(`(?m)^ERR set RLIMIT_NOFILE to %d/%d: operation not permitted \(raising a hard limit needs CAP_SYS_RESOURCE\)$`, nofileSoft, lim.Max+1),
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("child output does not match %s:\n%s", re, out)
		}
	}
}

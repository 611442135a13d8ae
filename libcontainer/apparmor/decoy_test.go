package apparmor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/procfs"
)

// The decoy test re-execs this test binary in a new mount namespace so that its bind mount
// never reaches the host.
const (
	childEnv  = "NOOK_APPARMOR_TEST_CHILD"
	tmpDirEnv = "NOOK_APPARMOR_TEST_TMP"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "bind-mount-decoy" {
		if err := childBindMountDecoy(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A tmpfs file bind-mounted over the thread's exec attribute must not receive the profile.
func TestApplyProfileRefusesBindMountedDecoy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a mount namespace")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=bind-mount-decoy", tmpDirEnv+"="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, unix.EPERM) {
		t.Skipf("cannot create a mount namespace here: %v", err)
	}
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
}

func childBindMountDecoy() error {
	// The bind target is this thread's own attribute, so mount and write on one thread.
	runtime.LockOSThread()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	tmp := os.Getenv(tmpDirEnv)
	if err := unix.Mount("tmpfs", tmp, "tmpfs", 0, "size=64k"); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	decoy := filepath.Join(tmp, "exec")
	if err := os.WriteFile(decoy, nil, 0o644); err != nil {
		return err
	}
	target := "/proc/thread-self/" + legacyExecAttr
	if Enabled() {
		target = "/proc/thread-self/" + moduleExecAttr
	}
	if err := unix.Mount(decoy, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind decoy over %s: %w", target, err)
	}
	// Through the mounted /proc: the walk refuses to cross onto the decoy.
	err := realHost().applyProfile("acme")
	fmt.Printf("decoy through /proc: %v\n", err)
	if err == nil || !strings.Contains(err.Error(), "the path crosses a mount point") {
		return fmt.Errorf("applyProfile through /proc = %v, want a refusal of the bind-mounted attribute", err)
	}
	// Through the handle the init gets (a non-recursive clone of /proc, made
	// here after the decoy): the decoy is not in it at all, so the write goes
	// to the thread's real attribute (refused here only if AppArmor is off).
	proc, err := procfs.OpenHost()
	if err != nil {
		return err
	}
	defer proc.Close()
	err = ApplyProfile(int(proc.Fd()), "acme")
	fmt.Printf("decoy through the host handle: %v\n", err)
	if err != nil && strings.Contains(err.Error(), "crosses a mount point") {
		return fmt.Errorf("ApplyProfile through the handle = %v: the decoy was reachable", err)
	}
	if b, _ := os.ReadFile(decoy); len(b) != 0 {
		return fmt.Errorf("decoy was written: %q", b)
	}
	return nil
}

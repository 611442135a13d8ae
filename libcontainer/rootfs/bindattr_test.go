package rootfs

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nookrt/nook/libcontainer/kernel"

	"golang.org/x/sys/unix"
)

// TestSetBindAttrLockedFlags runs setBindAttr where the kernel itself locks
// the source's flags: a clone made inside a user namespace of a mount it
// inherited (what the init does when it clones a bind source itself). The
// test binary re-executes itself twice: into a private mount namespace,
// where it mounts a nosuid,nodev,noexec tmpfs, then into a user namespace
// with a mount namespace of its own, which inherits that tmpfs locked.
const (
	bindAttrStage = "NOOK_BINDATTR_STAGE"
	bindAttrDir   = "NOOK_BINDATTR_DIR"
)

func TestSetBindAttrLockedFlags(t *testing.T) {
	switch os.Getenv(bindAttrStage) {
	case "mntns":
		bindAttrMountStage(t)
		return
	case "userns":
		bindAttrUsernsStage(t, os.Getenv(bindAttrDir))
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a tmpfs in a private mount namespace and makes a user namespace")
	}
	runStage(t, "mntns", "", &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS})
}

// runStage re-executes this test in stage, with attrs, and fails unless it
// passed.
func runStage(t *testing.T, stage, dir string, attrs *syscall.SysProcAttr) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSetBindAttrLockedFlags$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), bindAttrStage+"="+stage, bindAttrDir+"="+dir)
	cmd.SysProcAttr = attrs
	out, err := cmd.CombinedOutput()
	t.Logf("%s stage:\n%s", stage, out)
	if err != nil {
		t.Fatalf("%s stage: %v", stage, err)
	}
	if !strings.Contains(string(out), "--- PASS: TestSetBindAttrLockedFlags") {
		t.Fatalf("%s stage did not report a pass", stage)
	}
}

func bindAttrMountStage(t *testing.T) {
	if mntNS(t, "self") == mntNS(t, strconv.Itoa(os.Getppid())) {
		t.Fatal("not in a mount namespace of its own; refusing to mount")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / rprivate: %v", err)
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	// Root of the user namespace is root outside: only the lock differs.
	runStage(t, "userns", dir, &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	})
}

func bindAttrUsernsStage(t *testing.T, dir string) {
	clone := func() int {
		t.Helper()
		fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			t.Fatalf("clone %s: %v", dir, err)
		}
		return fd
	}
	const locked = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	// The kernel refuses to clear them: the plain attributes fail.
	fd := clone()
	a, _ := parseOptions([]string{"bind", "ro"}).mountAttr()
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &a); err == nil {
		t.Fatal("the kernel let a user namespace clear locked flags; the test proves nothing here")
	}
	unix.Close(fd)

	for _, tc := range []struct {
		opts []string
		want uintptr // flags the mount ends with, among ro and the locked ones
		err  string
	}{
		{[]string{"bind", "ro"}, unix.MS_RDONLY | locked, ""},
		{[]string{"bind"}, locked, ""},
		{[]string{"bind", "rw", "nosuid"}, locked, ""},
		{[]string{"bind", "suid"}, 0, "cannot clear nosuid"},
		{[]string{"bind", "ro", "exec"}, 0, "cannot clear noexec"},
	} {
		fd := clone()
		err := setBindAttr(kernel.Real{}, fd, parseOptions(tc.opts))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: setBindAttr = %v, want an error with %q", tc.opts, err, tc.err)
			}
			unix.Close(fd)
			continue
		}
		if err != nil {
			t.Errorf("%q: setBindAttr = %v", tc.opts, err)
			unix.Close(fd)
			continue
		}
		got, err := mountFlags(kernel.Real{}, fd)
		if err != nil {
			t.Fatal(err)
		}
		if got&(unix.MS_RDONLY|locked) != tc.want {
			t.Errorf("%q: mount flags %s, want %s", tc.opts, flagNames(got&(unix.MS_RDONLY|locked)), flagNames(tc.want))
		}
		unix.Close(fd)
	}
}

package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

func newTestRecorder(t *testing.T) *Recorder {
	t.Helper()
	r, err := NewRecorder(t.TempDir(), "/bundle/rootfs")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecorderNamesPathsAsTheContainerAndTheHostSeeThem(t *testing.T) {
	r := newTestRecorder(t)
	root, err := r.Open("/bundle/rootfs", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	if err := r.Mkdirat(root, "dev", 0o755); err != nil {
		t.Fatal(err)
	}
	dev, err := r.Openat2(root, "/dev", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dev)
	if err := r.Mount("tmpfs", "/proc/self/fd/"+strconv.Itoa(dev), "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
		t.Fatal(err)
	}
	if err := r.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mkdirat /dev flags 0x1ed",
		"mount /dev from tmpfs type tmpfs data mode=755 flags 0x2",
		"mount host:/ flags 0x84000",
	}
	calls := r.Calls()
	if len(calls) != len(want) {
		t.Fatalf("got %d calls %v, want %v", len(calls), calls, want)
	}
	for i := range want {
		if calls[i].String() != want[i] {
			t.Errorf("call %d: got %q, want %q", i, calls[i], want[i])
		}
	}
}

func TestRecorderMountTableAnswersStatxStatfsAndMountinfo(t *testing.T) {
	r := newTestRecorder(t)
	if err := r.HostMount("/proc", "proc", ""); err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := r.Statfs("/proc", &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		t.Fatalf("statfs /proc: type %#x, %v; want procfs", st.Type, err)
	}
	if err := r.Statfs("/bundle", &st); err != nil || st.Type == unix.PROC_SUPER_MAGIC {
		t.Fatalf("statfs /bundle: type %#x, %v; want the real filesystem", st.Type, err)
	}
	proc, err := r.Open("/proc", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(proc)
	rootfs, err := r.Open("/bundle/rootfs", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rootfs)
	id := func(fd int) uint64 {
		var stx unix.Statx_t
		if err := r.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
			t.Fatal(err)
		}
		return stx.Mnt_id
	}
	if id(proc) == id(rootfs) {
		t.Fatalf("/proc and the rootfs have the same mount id %d", id(proc))
	}
	infos, err := r.GetMounts(mountinfo.FSTypeFilter("proc"))
	if err != nil || len(infos) != 1 || infos[0].Mountpoint != "/proc" {
		t.Fatalf("mountinfo for proc: %v, %v; want one at /proc", infos, err)
	}
}

func TestRecorderPivotRootChangesWhatAbsolutePathsName(t *testing.T) {
	r := newTestRecorder(t)
	if err := os.WriteFile(filepath.Join(r.Host(), "bundle/rootfs/inside"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Stat("/inside"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("before pivot_root, /inside is the host's: got %v", err)
	}
	if err := r.Chdir("/bundle/rootfs"); err != nil {
		t.Fatal(err)
	}
	if err := r.PivotRoot(".", "."); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Stat("/inside"); err != nil {
		t.Fatalf("after pivot_root, /inside is the rootfs's: %v", err)
	}
	if got := r.Calls()[1].String(); got != "pivot_root / from /" {
		t.Fatalf("got %q", got)
	}
}

func TestRecorderFailReturnsTheScriptedErrorAndRecordsIt(t *testing.T) {
	r := newTestRecorder(t)
	r.Fail("mount", "/sys", unix.EPERM)
	r.root = r.rootfs // as after pivot_root
	if err := r.Mount("sysfs", "/sys", "sysfs", 0, ""); !errors.Is(err, unix.EPERM) {
		t.Fatalf("got %v, want EPERM", err)
	}
	if c := r.Calls(); len(c) != 1 || !errors.Is(c[0].Err, unix.EPERM) {
		t.Fatalf("calls %v: want the failed mount recorded with its error", c)
	}
}

func TestRecorderDevicesShowInFstatAndFollowAMount(t *testing.T) {
	r := newTestRecorder(t)
	if err := r.HostDevice("/dev/null", unix.S_IFCHR, 1, 3); err != nil {
		t.Fatal(err)
	}
	tree, err := r.OpenTree(unix.AT_FDCWD, "/dev/null", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tree)
	target := filepath.Join(r.Host(), "bundle/rootfs/null")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := r.Open("/bundle/rootfs/null", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := r.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := r.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Fatalf("mounted-on placeholder: mode %#o rdev %d:%d, want the 1:3 char device", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if got := r.Calls()[1].String(); got != "move_mount /null from clone host:/dev/null flags 0x44" {
		t.Fatalf("got %q", got)
	}
}

// TestRecorderForgetsADetachedMountWhoseFdIsReused: a number the Recorder
// hands out again names the new file, not the closed tree.
func TestRecorderForgetsADetachedMountWhoseFdIsReused(t *testing.T) {
	r := newTestRecorder(t)
	tree, err := r.OpenTree(unix.AT_FDCWD, "/bundle", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(tree)
	fd, err := r.Open("/bundle/rootfs", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if fd != tree {
		t.Skipf("the kernel gave fd %d, not the closed %d: nothing to check", fd, tree)
	}
	if got := r.name(fd); got != "/" {
		t.Fatalf("reused fd named %q, want the rootfs %q", got, "/")
	}
}

var _ Kernel = Real{}

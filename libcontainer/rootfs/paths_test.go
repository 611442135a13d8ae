package rootfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/nookrt/nook/libcontainer/kernel"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The in-root resolution tests run in a child process (this test binary,
// re-executed) inside a private mount namespace, where /etc is covered by an
// empty tmpfs: even a resolution that escaped the root could not touch the
// host's /etc, and any escape shows up as an entry in that tmpfs.
const (
	childEnv = "NOOK_ROOTFS_TEST_CHILD"
	markEnv  = "NOOK_ROOTFS_TEST_MARK"
)

func TestInRootResolution(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		inRootChild(t, os.Getenv(markEnv))
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs in a private mount namespace")
	}
	mark := fmt.Sprintf("nook-rootfs-test-%d", os.Getpid())
	hostPaths := []string{"/etc/" + mark, "/etc/" + mark + "-file", "/etc/" + mark + "-dangling"}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists on the host already", p)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInRootResolution$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", markEnv+"="+mark)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestInRootResolution") {
		t.Fatal("child did not report a pass")
	}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); err == nil {
			os.RemoveAll(p)
			t.Errorf("%s was created on the host", p)
		}
	}
}

func mntNS(t *testing.T, pid string) string {
	t.Helper()
	ns, err := os.Readlink("/proc/" + pid + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// sameFile fails unless f is the file at path.
func sameFile(t *testing.T, f *os.File, path string) {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(path, &b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		t.Errorf("handle %s is not %s", f.Name(), path)
	}
}

func isDir(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !fi.IsDir() {
		t.Errorf("%s is %v, want a directory", path, fi.Mode())
	}
}

func isRegular(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("%s is %v, want a regular file", path, fi.Mode())
	}
}

func absent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (or cannot be checked: %v); resolution escaped the root", path, err)
	}
}

func inRootChild(t *testing.T, mark string) {
	if mark == "" {
		t.Fatal("no mark name passed to the child")
	}
	// Never mount anything unless this really is a namespace of our own.
	if mntNS(t, "self") == mntNS(t, fmt.Sprint(os.Getppid())) {
		t.Fatal("child is in its parent's mount namespace; refusing to mount")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / rprivate: %v", err)
	}
	if err := unix.Mount("tmpfs", "/etc", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		t.Fatalf("cover /etc: %v", err)
	}

	// base/a/b/root: "../../.." from inside root lexically reaches base.
	base := t.TempDir()
	rootPath := filepath.Join(base, "a", "b", "root")
	if err := os.MkdirAll(rootPath, 0o755); err != nil {
		t.Fatal(err)
	}
	in := func(p string) string { return filepath.Join(rootPath, p) }
	for link, target := range map[string]string{
		"etclink":    "/etc",
		"up":         "../../..",
		"deep/up":    "../../../..",
		"dangling":   "/etc/" + mark + "-dangling",
		"dangdir":    "/etc/" + mark + "-dangdir",
		"loop1":      "loop2",
		"loop2":      "loop1",
		"danglast":   "/made/last",
		"dangrel":    "../../../../made/rel",
		"dangchain":  "dangchain2",
		"dangchain2": "/made/chain",
		"dangdots":   "/etc/../made/dots/../dots2/./final",
		"danginner":  "realsys/inner/final",
		"deep/rel":   "sibling",
		"dangfile":   "../../../" + mark + "-escfile",
		"proc":       "/etc",
		"sys":        "realsys",
	} {
		if err := os.MkdirAll(filepath.Dir(in(link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, in(link)); err != nil {
			t.Fatal(err)
		}
	}
	// The image has an /etc of its own: "/etc" in the root is that one.
	for _, d := range []string{"realsys", "etc"} {
		if err := os.Mkdir(in(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(in("existing"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in("dev"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.Open(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	t.Run("mkdir through absolute symlink", func(t *testing.T) {
		f, err := mkdirInRoot(kernel.Real{}, root, "etclink/"+mark+"/sub")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isDir(t, in("etc/"+mark+"/sub"))
		sameFile(t, f, in("etc/"+mark+"/sub"))
	})

	t.Run("mkdir through dotdot symlink", func(t *testing.T) {
		f, err := mkdirInRoot(kernel.Real{}, root, "up/escaped")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isDir(t, in("escaped"))
		sameFile(t, f, in("escaped"))
		absent(t, filepath.Join(base, "escaped"))
	})

	t.Run("mkdir through nested dotdot symlink", func(t *testing.T) {
		f, err := mkdirInRoot(kernel.Real{}, root, "/deep/up/../../x/y")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isDir(t, in("x/y"))
		sameFile(t, f, in("x/y"))
		absent(t, filepath.Join(base, "x"))
	})

	t.Run("mkdir with literal dotdot", func(t *testing.T) {
		f, err := mkdirInRoot(kernel.Real{}, root, "../../../lit")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isDir(t, in("lit"))
		absent(t, filepath.Join(base, "lit"))
		absent(t, filepath.Join(base, "a", "lit"))
	})

	t.Run("mkdir existing returns it", func(t *testing.T) {
		f, err := mkdirInRoot(kernel.Real{}, root, "realsys")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sameFile(t, f, in("realsys"))
	})

	t.Run("mkdir through dangling absolute symlink", func(t *testing.T) {
		// Made where the link points inside the root (as runc does),
		// never on the host.
		f, err := mkdirInRoot(kernel.Real{}, root, "dangdir/sub")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isDir(t, in("etc/"+mark+"-dangdir/sub"))
		sameFile(t, f, in("etc/"+mark+"-dangdir/sub"))
	})

	t.Run("mkdir on dangling symlinks as the last element", func(t *testing.T) {
		for link, made := range map[string]string{
			"danglast":  "made/last",           // absolute
			"dangrel":   "made/rel",            // relative, climbing above the root
			"dangchain": "made/chain",          // a link to a dangling link
			"dangdots":  "made/dots2/final",    // ".." and "." inside the target
			"danginner": "realsys/inner/final", // into an existing directory
		} {
			f, err := mkdirInRoot(kernel.Real{}, root, "/"+link)
			if err != nil {
				t.Errorf("%s: %v", link, err)
				continue
			}
			isDir(t, in(made))
			sameFile(t, f, in(made))
			f.Close()
			if fi, err := os.Lstat(in(link)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("%s: the symlink was replaced: %v, %v", link, fi, err)
			}
		}
		absent(t, filepath.Join(base, "made"))
		absent(t, filepath.Join(base, "a", "made"))
	})

	t.Run("follow a relative link from its own directory", func(t *testing.T) {
		// deep/rel -> sibling: relative to deep, not to the root.
		f, err := mkdirInRoot(kernel.Real{}, root, "deep/rel/x")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isDir(t, in("deep/sibling/x"))
	})

	t.Run("mkdir symlink loop fails", func(t *testing.T) {
		if f, err := mkdirInRoot(kernel.Real{}, root, "loop1/x"); err == nil {
			f.Close()
			t.Fatal("mkdirInRoot through a symlink loop succeeded")
		}
	})

	t.Run("mkdir over a file fails", func(t *testing.T) {
		if f, err := mkdirInRoot(kernel.Real{}, root, "existing/sub"); err == nil {
			f.Close()
			t.Fatal("mkdirInRoot below a regular file succeeded")
		}
	})

	t.Run("file through absolute symlink", func(t *testing.T) {
		f, err := fileInRoot(kernel.Real{}, root, "/etclink/"+mark+"-file")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isRegular(t, in("etc/"+mark+"-file"))
		sameFile(t, f, in("etc/"+mark+"-file"))
	})

	t.Run("file through dotdot symlink with parents", func(t *testing.T) {
		f, err := fileInRoot(kernel.Real{}, root, "up/new/dir/file")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isRegular(t, in("new/dir/file"))
		sameFile(t, f, in("new/dir/file"))
		absent(t, filepath.Join(base, "new"))
	})

	t.Run("file existing is kept", func(t *testing.T) {
		f, err := fileInRoot(kernel.Real{}, root, "existing")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sameFile(t, f, in("existing"))
		if b, _ := os.ReadFile(in("existing")); string(b) != "keep" {
			t.Errorf("existing file's content = %q, want keep", b)
		}
	})

	t.Run("file on dangling absolute symlink", func(t *testing.T) {
		// The file is made inside the root (as runc does), never at the
		// symlink's target on the host.
		f, err := fileInRoot(kernel.Real{}, root, "dangling")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isRegular(t, in("etc/"+mark+"-dangling"))
		sameFile(t, f, in("etc/"+mark+"-dangling"))
		if fi, err := os.Lstat(in("dangling")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the dangling symlink was replaced: %v, %v", fi, err)
		}
	})

	t.Run("file on dangling relative symlink climbing out", func(t *testing.T) {
		f, err := fileInRoot(kernel.Real{}, root, "dangfile")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		isRegular(t, in(mark+"-escfile"))
		sameFile(t, f, in(mark+"-escfile"))
		absent(t, filepath.Join(base, mark+"-escfile"))
		absent(t, filepath.Join(base, "a", mark+"-escfile"))
	})

	t.Run("file at the root itself is refused", func(t *testing.T) {
		// Lexically the root once the missing component is followed.
		if f, err := fileInRoot(kernel.Real{}, root, "nosuch/.."); err == nil {
			f.Close()
			t.Fatal("fileInRoot accepted a path that resolves to the root")
		} else if !strings.Contains(err.Error(), "root directory") {
			t.Errorf("error = %q, want it to say the path is the root", err)
		}
	})

	t.Run("realDir refuses symlinked proc", func(t *testing.T) {
		f, err := realDirInRoot(kernel.Real{}, root, "proc")
		if err == nil {
			f.Close()
			t.Fatal("realDirInRoot accepted proc -> /etc")
		}
		if !strings.Contains(err.Error(), "real directory") {
			t.Errorf("error = %q, want it to say proc must be a real directory", err)
		}
		// The same through an absolute destination.
		if f, err := realDirInRoot(kernel.Real{}, root, "/proc"); err == nil {
			f.Close()
			t.Error("realDirInRoot accepted /proc -> /etc")
		}
	})

	t.Run("realDir refuses in-root symlink", func(t *testing.T) {
		// sys -> realsys stays inside the root, but a symlink is refused
		// wherever it points.
		if f, err := realDirInRoot(kernel.Real{}, root, "/sys"); err == nil {
			f.Close()
			t.Fatal("realDirInRoot accepted sys -> realsys")
		}
	})

	t.Run("realDir refuses symlinked parent", func(t *testing.T) {
		if f, err := realDirInRoot(kernel.Real{}, root, "up/realsys"); err == nil {
			f.Close()
			t.Fatal("realDirInRoot accepted a path through a symlinked parent")
		}
	})

	t.Run("realDir refuses a file", func(t *testing.T) {
		f, err := realDirInRoot(kernel.Real{}, root, "dev")
		if err == nil {
			f.Close()
			t.Fatal("realDirInRoot accepted a regular file")
		}
		if !strings.Contains(err.Error(), "real directory") {
			t.Errorf("error = %q, want it to say dev must be a real directory", err)
		}
	})

	t.Run("realDir accepts a real directory", func(t *testing.T) {
		f, err := realDirInRoot(kernel.Real{}, root, "/realsys")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sameFile(t, f, in("realsys"))
	})

	// Nothing reached the (covered) /etc nor the directories above the root.
	entries, err := os.ReadDir("/etc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("/etc/%s was created: resolution escaped the root", e.Name())
	}
	entries, err = os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a" {
		t.Errorf("%s holds %d entries, want only a", base, len(entries))
	}
}

// TestRealDirInRootCreatesMissing: an image without /proc or /sys (FROM
// scratch) gets them created as real directories. No symlinks are involved,
// so this needs neither root nor a mount namespace.
func TestRealDirInRootCreatesMissing(t *testing.T) {
	rootPath := t.TempDir()
	root, err := os.Open(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, dest := range []string{"/proc", "sys", "/nested/dir"} {
		f, err := realDirInRoot(kernel.Real{}, root, dest)
		if err != nil {
			t.Errorf("realDirInRoot(kernel.Real{}, %q) on a root without it: %v", dest, err)
			continue
		}
		p := filepath.Join(rootPath, dest)
		isDir(t, p)
		sameFile(t, f, p)
		f.Close()
	}
}

// TestDestination: runc's lexical handling of a mount destination: cleaned,
// a relative one taken from "/", the rootfs's own host path stripped.
func TestDestination(t *testing.T) {
	const rootfs = "/var/lib/b/rootfs"
	for _, tc := range []struct{ dest, want string }{
		{"/data", "/data"},
		{"/data/../x/./y/", "/x/y"},
		{"data", "/data"},
		{"../../data", "/data"},
		{"/var/lib/b/rootfs/data", "/data"},
		{"/var/lib/b/rootfs/data/../etc", "/etc"},
		{"/var/lib/b/rootfs//data/", "/data"},
		{"/var/lib/b/rootfs", "/"},
		{"/var/lib/b/rootfs/", "/"},
		// Only whole components: a sibling with the same prefix is not it.
		{"/var/lib/b/rootfs2/data", "/var/lib/b/rootfs2/data"},
		{"/var/lib/b/data", "/var/lib/b/data"},
		// A relative destination is never taken as the rootfs path.
		{"var/lib/b/rootfs/data", "/data"},
	} {
		if got := Destination(rootfs, tc.dest); got != tc.want {
			t.Errorf("Destination(%q, %q) = %q, want %q", rootfs, tc.dest, got, tc.want)
		}
	}
	if got := Destination("/", "/var/x"); got != "/var/x" {
		t.Errorf("with the rootfs at /: %q, want /var/x", got)
	}
	if got := Destination("/b/rootfs/", "/b/rootfs/x"); got != "/x" {
		t.Errorf("with a trailing slash on the rootfs: %q, want /x", got)
	}
}

func TestNormalizeDestinations(t *testing.T) {
	mounts := []specs.Mount{
		{Destination: "/proc"},
		{Destination: "mnt/rel"},
		{Destination: "/b/rootfs/data"},
		{Destination: ""},
	}
	warnings := NormalizeDestinations(mounts, "/b/rootfs")
	var got []string
	for _, m := range mounts {
		got = append(got, m.Destination)
	}
	if want := []string{"/proc", "/mnt/rel", "/data", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("destinations %q, want %q", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `mounts[1].destination "mnt/rel" is not absolute`) ||
		!strings.Contains(warnings[0], "deprecated") {
		t.Errorf("warnings %q, want one deprecation warning naming mounts[1]", warnings)
	}
}

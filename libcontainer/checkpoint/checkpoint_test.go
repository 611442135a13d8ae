package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCgMode(t *testing.T) {
	for in, want := range map[string]rpc.CriuCgMode{
		"": rpc.CriuCgMode_DEFAULT, "soft": rpc.CriuCgMode_SOFT, "full": rpc.CriuCgMode_FULL,
		"strict": rpc.CriuCgMode_STRICT, "ignore": rpc.CriuCgMode_IGNORE,
	} {
		if got, err := cgMode(in); err != nil || got != want {
			t.Errorf("cgMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := cgMode("props"); err == nil || !strings.Contains(err.Error(), "--manage-cgroups-mode") {
		t.Errorf("cgMode(props): %v, want an error naming the flag", err)
	}
}

func TestEmptyNsMask(t *testing.T) {
	// The network namespace is always restored empty, as in runc.
	for _, in := range [][]string{nil, {"network"}} {
		if got, err := emptyNsMask(in); err != nil || got != unix.CLONE_NEWNET {
			t.Errorf("emptyNsMask(%v) = %#x, %v; want CLONE_NEWNET", in, got, err)
		}
	}
	if _, err := emptyNsMask([]string{"network", "pid"}); err == nil || !strings.Contains(err.Error(), `"pid"`) {
		t.Errorf("emptyNsMask(pid): %v, want an error naming it", err)
	}
}

func TestPageServer(t *testing.T) {
	ps, err := pageServer("10.0.0.1:2000")
	if err != nil || ps.GetAddress() != "10.0.0.1" || ps.GetPort() != 2000 {
		t.Errorf("pageServer(10.0.0.1:2000) = %v, %v", ps, err)
	}
	if ps, err := pageServer(""); ps != nil || err != nil {
		t.Errorf("pageServer(\"\") = %v, %v; want nothing", ps, err)
	}
	for _, bad := range []string{"host", ":1", "host:", "host:port", "host:0", "host:70000"} {
		if _, err := pageServer(bad); err == nil || !strings.Contains(err.Error(), "--page-server") {
			t.Errorf("pageServer(%q): %v, want an error naming the flag", bad, err)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := Options{StatusFd: -1}
	if err := ok.check(); err != nil {
		t.Errorf("default options: %v", err)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{StatusFd: -1, ParentPath: "/abs"}, "--parent-path"},
		{Options{StatusFd: 1}, "--lazy-pages"},
		{Options{StatusFd: 1000, LazyPages: true}, "--status-fd"},
		{Options{StatusFd: -1, EmptyNs: []string{"uts"}}, "--empty-ns"},
	} {
		if err := tc.o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check(%+v) = %v, want an error naming %s", tc.o, err, tc.want)
		}
	}
}

func TestImageDir(t *testing.T) {
	dir := t.TempDir()
	o := Options{ImagePath: filepath.Join(dir, "a", "img")}
	f, err := o.imageDir(true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(o.ImagePath)
	if err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("made image dir: %v %v, want mode 0711 (searchable by a user namespace's root)", fi.Mode(), err)
	}
	o = Options{ImagePath: filepath.Join(dir, "missing")}
	if _, err := o.imageDir(false); err == nil || !strings.Contains(err.Error(), "--image-path") {
		t.Errorf("restore from a missing dir: %v", err)
	}
	o = Options{ImagePath: filepath.Join(dir, "a", "img"), ParentPath: "../pre"}
	if _, err := o.imageDir(true); err == nil || !strings.Contains(err.Error(), "--parent-path ../pre") {
		t.Errorf("missing parent: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "a", "pre"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err = o.imageDir(true)
	if err != nil {
		t.Errorf("existing parent: %v", err)
	} else {
		f.Close()
	}
}

func TestLogErrors(t *testing.T) {
	log := `(00.000001) Version: 4.2
(00.040332) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.200715) Error (criu/files-reg.c:1790): Can't lookup mount=23 for fd=0 path=/dev/null
(00.200732) Error (criu/cr-dump.c:1698): Dump files (pid: 11266) failed with -1
(00.274794) Error (criu/cr-dump.c:2128): Dumping FAILED.
(00.281531) Error (criu/cgroup.c:1998): cg: cgroupd: recv req error: No such file or directory
`
	p := filepath.Join(t.TempDir(), "dump.log")
	if err := os.WriteFile(p, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	first, last := logErrors(p)
	if first != "Error (criu/files-reg.c:1790): Can't lookup mount=23 for fd=0 path=/dev/null" ||
		last != "Error (criu/cr-dump.c:1698): Dump files (pid: 11266) failed with -1" {
		t.Errorf("logErrors = %q, %q", first, last)
	}
	err := criuFailed("checkpoint of container x", os.ErrInvalid, filepath.Dir(p), "dump.log")
	for _, want := range []string{"checkpoint of container x: criu failed: Error (criu/files-reg.c:1790)", "last error: Error (criu/cr-dump.c:1698)", "(log: " + p + ")"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("criuFailed: %q lacks %q", err, want)
		}
	}
	// No log: CRIU's own answer.
	err = criuFailed("restore", os.ErrInvalid, t.TempDir(), "restore.log")
	if !strings.Contains(err.Error(), os.ErrInvalid.Error()) || !strings.Contains(err.Error(), "restore.log") {
		t.Errorf("criuFailed without a log: %q", err)
	}
}

func TestExtMounts(t *testing.T) {
	s := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "rel/dir"},
			{Destination: "/etc/hosts", Source: "/tmp/hosts-file", Options: []string{"rbind", "ro"}},
		},
		Linux: &specs.Linux{
			Devices:     []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
			Namespaces:  []specs.LinuxNamespace{{Type: specs.MountNamespace}},
			MaskedPaths: []string{"/proc/kcore"},
		},
	}
	rootfs := t.TempDir()
	binds := bindMounts(s, rootfs, "/bundle")
	if len(binds) != 2 || binds[0].dest != "/data" || binds[0].source != "/bundle/rel/dir" || binds[1].source != "/tmp/hosts-file" {
		t.Fatalf("bindMounts = %+v", binds)
	}
	if devs := deviceMounts(s, false); devs != nil {
		t.Errorf("devices without a user namespace are made, not bound: %+v", devs)
	}
	devs := deviceMounts(s, true)
	if len(devs) != len(defaultDevices)+1 || devs[len(devs)-1].dest != "/dev/fuse" {
		t.Errorf("deviceMounts in a user namespace = %+v", devs)
	}
	withDev := *s
	withDev.Mounts = append(append([]specs.Mount(nil), s.Mounts...), specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev"})
	if devs := deviceMounts(&withDev, true); devs != nil {
		t.Errorf("a /dev bound from the host has no devices of nook's: %+v", devs)
	}
	mounts := append(binds, extMount{dest: "/proc/kcore", name: devNullKey, source: devNullKey})
	dump, restore := &rpc.CriuOpts{}, &rpc.CriuOpts{}
	if err := addExtMounts(dump, mounts, true); err != nil {
		t.Fatal(err)
	}
	if err := addExtMounts(restore, mounts, false); err != nil {
		t.Fatal(err)
	}
	pairs := func(o *rpc.CriuOpts) string {
		var b []string
		for _, m := range o.ExtMnt {
			b = append(b, m.GetKey()+"="+m.GetVal())
		}
		return strings.Join(b, " ")
	}
	if got, want := pairs(dump), "/data=/data /etc/hosts=/etc/hosts /proc/kcore=/dev/null"; got != want {
		t.Errorf("dump mappings %q, want %q", got, want)
	}
	if got, want := pairs(restore), "/data=/bundle/rel/dir /dev/null=/dev/null /etc/hosts=/tmp/hosts-file"; got != want {
		t.Errorf("restore mappings %q, want %q", got, want)
	}
	for _, bad := range []string{"/a]:/b", "/"} {
		if err := addExtMounts(&rpc.CriuOpts{}, []extMount{newExtMount(bad, "/x", true)}, true); err == nil {
			t.Errorf("destination %q accepted as an external mount name", bad)
		}
	}
}

func TestMountDestResolvesInRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An absolute symlink resolves inside the root, never on the host.
	if err := os.Symlink("/real", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if got := mountDest(root, "/link/x"); got != "/real/x" {
		t.Errorf("mountDest(/link/x) = %q, want /real/x", got)
	}
	if got := mountDest(root, "data"); got != "/data" {
		t.Errorf("mountDest(data) = %q, want /data", got)
	}
}

func TestMakeMountpoints(t *testing.T) {
	root := t.TempDir()
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/dev", Type: "tmpfs"}}}
	mounts := []extMount{
		newExtMount("/a/b", "/src", true),
		newExtMount("/etc/file", "/src-file", false),
		newExtMount("/dev/null", "/dev/null", false), // in a tmpfs: CRIU's
	}
	if err := os.Mkdir(filepath.Join(root, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/elsewhere", filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	if err := makeMountpoints(root, s, mounts); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, "a", "b")); err != nil || !fi.IsDir() {
		t.Errorf("directory mountpoint: %v", err)
	}
	// The symlink was followed inside the root.
	if fi, err := os.Stat(filepath.Join(root, "elsewhere", "file")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("file mountpoint through an absolute symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "dev", "null")); err == nil {
		t.Errorf("a mountpoint in a tmpfs was made in the rootfs")
	}
}

func TestExtNsKey(t *testing.T) {
	if got := extNsKey(specs.NetworkNamespace); got != "extRootNetNS" {
		t.Errorf("network: %q", got)
	}
	if got := extNsKey(specs.PIDNamespace); got != "extRootPidNS" {
		t.Errorf("pid: %q", got)
	}
}

func TestReadDescriptors(t *testing.T) {
	dir := t.TempDir()
	if _, err := readDescriptors(dir); err == nil || !strings.Contains(err.Error(), "holds no checkpoint") {
		t.Errorf("no descriptors.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, descriptorsFile), []byte(`["/dev/null","pipe:[1]","pipe:[2]"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readDescriptors(dir); err != nil || len(got) != 3 || got[1] != "pipe:[1]" {
		t.Errorf("readDescriptors = %v, %v", got, err)
	}
}

func TestSearchableForUserns(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	userns := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.UserNamespace}}}}
	if err := searchableForUserns(f, &specs.Spec{}); err != nil {
		t.Errorf("without a user namespace: %v", err)
	}
	if err := searchableForUserns(f, userns); err == nil || !strings.Contains(err.Error(), "chmod o+x") {
		t.Errorf("mode 0700 with a user namespace: %v", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := searchableForUserns(f, userns); err != nil {
		t.Errorf("mode 0711: %v", err)
	}
}

// TestRemoveYardNeverRecurses: the yard's cleanup removes empty
// directories only; whatever is inside another (a host cgroup tree, were a
// hierarchy still mounted there) is never walked into.
func TestRemoveYardNeverRecurses(t *testing.T) {
	yard := filepath.Join(t.TempDir(), "yard")
	for _, d := range []string{"cpu", "memory", "busy/child"} {
		if err := os.MkdirAll(filepath.Join(yard, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removeYard(yard)
	for _, gone := range []string{"cpu", "memory"} {
		if _, err := os.Stat(filepath.Join(yard, gone)); err == nil {
			t.Errorf("empty %s left in the yard", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(yard, "busy", "child")); err != nil {
		t.Errorf("removeYard walked into a non-empty directory: %v", err)
	}
	os.Remove(filepath.Join(yard, "busy", "child"))
	removeYard(yard)
	if _, err := os.Stat(yard); err == nil {
		t.Errorf("an empty yard is left")
	}
}

func TestNeedMountNS(t *testing.T) {
	ns := func(nss ...specs.LinuxNamespace) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Namespaces: nss}}
	}
	if err := needMountNS(ns(specs.LinuxNamespace{Type: specs.MountNamespace}), "c"); err != nil {
		t.Errorf("own mount namespace: %v", err)
	}
	for _, s := range []*specs.Spec{{}, ns(), ns(specs.LinuxNamespace{Type: specs.MountNamespace, Path: "/proc/1/ns/mnt"})} {
		if err := needMountNS(s, "c"); err == nil || !strings.Contains(err.Error(), "mount namespace") {
			t.Errorf("needMountNS(%+v) = %v", s.Linux, err)
		}
	}
}

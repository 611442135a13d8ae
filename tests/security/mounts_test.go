package security

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// hostMountsAt lists the mount points of the test's mount namespace at dir or
// below it (exact path prefix: a path inside a rootfs that merely ends with
// the same components is not dir).
func hostMountsAt(dir string) []string {
	var out []string
	for _, m := range harness.MountsUnder(dir) {
		if m == dir || strings.HasPrefix(m, dir+"/") {
			out = append(out, m)
		}
	}
	return out
}

// untouched fails the test if anything was created in dir or mounted on or
// under it: dir is the host directory an attack aims at.
func untouched(t *testing.T, dir, when string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("%s: host directory %s: %v", when, dir, err)
	}
	for _, d := range entries {
		t.Errorf("%s: %s was written outside the rootfs, in the host directory %s", when, d.Name(), dir)
	}
	if m := hostMountsAt(dir); len(m) > 0 {
		t.Errorf("%s: mounted on the host directory the attack aims at: %v", when, m)
	}
}

// relativeEscape is a relative symlink target that climbs far above any
// rootfs and then names dir: resolved on the host, it is dir.
func relativeEscape(dir string) string {
	return strings.Repeat("../", 24) + strings.TrimPrefix(dir, "/")
}

// CVE-2021-30465 (static form): mount destinations that are symlinks, in
// the image, pointing outside the rootfs: absolute, relative with "..", and
// "/.." prefixed. Each mount must land inside the rootfs, where the symlink
// resolves when the rootfs is the root, and never on the host directory.
// The tmpfs destinations go one level below the symlink so that a lookup
// outside the root would also mkdir on the host. Run with and without a
// mount namespace: without one the container's mounts are the host's, so an
// escaped mount would show in this test's mountinfo.
//
// Protection (invariant 1): libcontainer/rootfs/paths.go openInRoot,
// mkdirInRoot and fileInRoot resolve with openat2(RESOLVE_IN_ROOT), and
// mount.go mounts onto the resulting fd. With a plain path join the tmpfs
// would be mounted on (and "sub" created in) the host directory.
func TestCVE2021_30465SymlinkMountDestination(t *testing.T) {
	for _, c := range []struct {
		mntNS bool
		// prepared: the image has the directory the links name, inside
		// itself, so resolving inside the root finds it; otherwise the
		// links dangle inside the root and nook may refuse them.
		prepared bool
	}{{true, true}, {false, true}, {true, false}, {false, false}} {
		t.Run(fmt.Sprintf("mountns=%v,prepared=%v", c.mntNS, c.prepared), func(t *testing.T) {
			e := newEnv(t)
			hostDir := filepath.Join(e.Dir, "hostdir")
			must(t, os.Mkdir(hostDir, 0o755))
			payload := filepath.Join(e.Dir, "payload")
			must(t, os.WriteFile(payload, []byte("payload\n"), 0o644))
			links := map[string]string{
				"/mnt-abs":    hostDir,
				"/mnt-rel":    relativeEscape(hostDir),
				"/mnt-dotdot": "/../../../../../../.." + hostDir,
			}
			mods := []harness.SpecMod{
				harness.AddMount(specs.Mount{Destination: "/mnt-abs/sub", Type: "tmpfs", Source: "tmpfs"}),
				harness.AddMount(specs.Mount{Destination: "/mnt-rel/sub2", Type: "tmpfs", Source: "tmpfs"}),
				harness.AddMount(specs.Mount{Destination: "/mnt-dotdot/file", Type: "bind", Source: payload, Options: []string{"bind", "ro"}}),
				// Inside the container the targets are where the links
				// resolve within its root: tmpfs there, the payload there.
				harness.Sh(fmt.Sprintf(`stat -f -c %%T %[1]s/sub %[1]s/sub2; cat %[1]s/file`, hostDir)),
			}
			if !c.mntNS {
				mods = append(mods, harness.WithoutNamespace(specs.MountNamespace),
					// Without a mount namespace cgroupfs and sysfs are
					// the host's; keep the test to what it is about.
					harness.WithoutMount("/sys/fs/cgroup"), harness.WithoutMount("/sys"))
			}
			b := e.Bundle(mods...)
			for link, target := range links {
				must(t, os.Symlink(target, filepath.Join(b, "rootfs", link)))
			}
			if c.prepared {
				must(t, os.MkdirAll(filepath.Join(b, "rootfs", hostDir), 0o755))
			}
			id := e.ID()
			_, cr := e.TryCreate(harness.Opts{}, b, id)
			if cr.Code != 0 {
				if c.prepared || cr.Code != 1 || cr.Crashed() {
					t.Errorf("create: %s", cr)
				} else {
					// Refusing a link that dangles inside the root is
					// safe; say so.
					t.Logf("create refused the dangling symlinked destinations: %s", cr.Stderr)
				}
				untouched(t, hostDir, "after a refused create")
				return
			}
			untouched(t, hostDir, "after create")
			e.OK(e.Nook("start", id))
			e.WaitStatus(id, "stopped")
			out := harness.ReadString(cr.OutPath)
			if want := "tmpfs\ntmpfs\npayload\n"; out != want {
				t.Errorf("inside the container: %q, want %q (the mounts where the symlinks resolve inside the root)", out, want)
			}
			untouched(t, hostDir, "while the container exists")
			e.OK(e.Nook("delete", id))
			untouched(t, hostDir, "after delete")
		})
	}
}

// CVE-2023-27561 (and the /proc half of CVE-2019-16884's family): a proc or
// sysfs mount whose destination is a symlink is refused, whatever the link
// points at: outside the rootfs, inside it, or at a directory the image
// prepared. Protection (invariant 5): libcontainer/rootfs/paths.go
// realDirInRoot opens the destination with RESOLVE_NO_SYMLINKS. Without it a
// procfs would be mounted wherever the image points, and nook's own later
// writes under /proc would go to a decoy.
func TestCVE2023_27561ProcSysDestinationSymlink(t *testing.T) {
	e := newEnv(t)
	hostDir := filepath.Join(e.Dir, "hostdir")
	must(t, os.Mkdir(hostDir, 0o755))
	cases := []struct {
		name, dest, link string
		typ              string
	}{
		{"proc-to-host-abs", "/proc", hostDir, "proc"},
		{"proc-to-host-rel", "/proc", relativeEscape(hostDir), "proc"},
		{"proc-to-fake-in-rootfs", "/proc", "/tmp/fakeproc", "proc"},
		{"sys-to-host-rel", "/sys", relativeEscape(hostDir), "sysfs"},
		{"other-proc-destination", "/altproc", hostDir, "proc"},
	}
	for _, c := range cases {
		b := e.Bundle(harness.AddMount(specs.Mount{Destination: c.dest, Type: c.typ, Source: c.typ}))
		rootfs := filepath.Join(b, "rootfs")
		must(t, os.MkdirAll(filepath.Join(rootfs, "tmp", "fakeproc"), 0o755))
		os.Remove(filepath.Join(rootfs, c.dest))
		must(t, os.Symlink(c.link, filepath.Join(rootfs, c.dest)))
		id := e.ID()
		_, r := e.TryCreate(harness.Opts{}, b, id)
		if r.Code == 0 {
			t.Errorf("%s: create accepted a %s mount on %s, a symlink to %s", c.name, c.typ, c.dest, c.link)
			e.ForceDelete(id)
		} else if r.Code != 1 || !strings.Contains(r.Stderr, c.dest) || !strings.Contains(r.Stderr, "symlink") {
			t.Errorf("%s: want exit 1 naming %s and the symlink: %s", c.name, c.dest, r)
		}
		if entries, _ := os.ReadDir(filepath.Join(rootfs, "tmp", "fakeproc")); len(entries) > 0 {
			t.Errorf("%s: something was created in the image's decoy directory: %v", c.name, entries)
		}
		untouched(t, hostDir, c.name)
	}
}

// CVE-2021-30465 (the race): a second container shares a volume with the one
// being created and swaps, in a loop, a directory in it with a symlink that
// points outside (renameat2 RENAME_EXCHANGE, as the exploit did; here the
// swapper runs on the host, which is faster and so harder than a container).
// Meanwhile 50 creates mount a tmpfs and bind a file below the swapped path.
// Half run without a mount namespace, where an escaped mount would be the
// host's. After each: no mount at or under the host directory the symlink
// names, nothing created in it. Protection: the same as for the static form;
// resolution and mount use one fd, so there is no window between check and
// use for the swap to hit. It fails at once with resolution inside the root
// removed; with only the mount-through-the-fd removed (a safe resolution,
// then a mount by path) the window it opens is too narrow for this race to
// hit in a test run (three tries, ~600k swaps each).
func TestCVE2021_30465SymlinkExchangeRace(t *testing.T) {
	e := newEnv(t)
	hostDir := filepath.Join(e.Dir, "hostdir")
	must(t, os.Mkdir(hostDir, 0o755))
	vol := filepath.Join(e.Dir, "vol")
	must(t, os.MkdirAll(filepath.Join(vol, "link"), 0o755))
	must(t, os.Symlink(relativeEscape(hostDir), filepath.Join(vol, "evil")))
	payload := filepath.Join(e.Dir, "payload")
	must(t, os.WriteFile(payload, []byte("payload\n"), 0o644))

	stop := make(chan struct{})
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(vol, "link"), unix.AT_FDCWD, filepath.Join(vol, "evil"), unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("swap: %v", err)
				return
			}
			swaps.Add(1)
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	const n = 50
	var ok, refused int
	bundles := map[bool]string{}
	for _, mntNS := range []bool{true, false} {
		mods := []harness.SpecMod{
			harness.Args("true"),
			harness.AddMount(specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind"}}),
			harness.AddMount(specs.Mount{Destination: "/vol/link/sub", Type: "tmpfs", Source: "tmpfs"}),
			harness.AddMount(specs.Mount{Destination: "/vol/link/file", Type: "bind", Source: payload, Options: []string{"bind"}}),
		}
		if !mntNS {
			mods = append(mods, harness.WithoutNamespace(specs.MountNamespace),
				harness.WithoutMount("/sys/fs/cgroup"), harness.WithoutMount("/sys"))
		}
		b := e.Bundle(mods...)
		// The link resolves inside the root to a directory that exists,
		// so a create that resolved it correctly succeeds.
		must(t, os.MkdirAll(filepath.Join(b, "rootfs", hostDir), 0o755))
		bundles[mntNS] = b
	}
	for i := 0; i < n; i++ {
		id := e.ID()
		_, r := e.TryCreate(harness.Opts{}, bundles[i%2 == 0], id)
		if r.Code == 0 {
			ok++
		} else {
			refused++
			if refused == 1 {
				t.Logf("first refused create: %s", r.Stderr)
			}
			if r.Crashed() || r.Code != 1 {
				t.Errorf("create %d: %s", i, r)
			}
		}
		untouched(t, hostDir, fmt.Sprintf("create %d (mount namespace %v)", i, i%2 == 0))
		e.ForceDelete(id)
		untouched(t, hostDir, fmt.Sprintf("delete %d", i))
		if t.Failed() {
			break
		}
	}
	t.Logf("%d creates succeeded, %d failed cleanly, %d swaps meanwhile", ok, refused, swaps.Load())
	if swaps.Load() < n {
		t.Errorf("only %d swaps during %d creates: the race was not exercised", swaps.Load(), n)
	}
}

package security

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

const (
	secretText = "SECRET\n"
	hostText   = "HOST-FILE\n"
	maskedText = "VISIBLE\n"
)

// trapBundle is a bundle whose /dev comes from the image (no /dev tmpfs in
// the config) and whose image holds /etc/secret and a file the config masks,
// /etc/masked. The process prints what a working mask shows (nothing), the
// secret (still the image's), and the type of /dev/null.
func trapBundle(e *harness.Env, mods ...harness.SpecMod) string {
	e.T.Helper()
	base := []harness.SpecMod{
		harness.WithoutMount("/dev"),
		func(s *specs.Spec) { s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/etc/masked") },
		harness.Sh(`echo "masked=[$(cat /etc/masked 2>&1)]"; echo "secret=[$(cat /etc/secret)]"; echo "null=$(stat -c %F:%t:%T /dev/null)"; echo "kcore=[$(head -c 8 /proc/kcore 2>/dev/null | od -An -c)]"`),
	}
	b := e.Bundle(append(base, mods...)...)
	must(e.T.(*testing.T), os.WriteFile(filepath.Join(b, "rootfs", "etc", "secret"), []byte(secretText), 0o644))
	must(e.T.(*testing.T), os.WriteFile(filepath.Join(b, "rootfs", "etc", "masked"), []byte(maskedText), 0o644))
	return b
}

// masked checks what trapBundle's process printed.
func checkMasked(t *testing.T, what, out string) {
	t.Helper()
	want := "masked=[]\nsecret=[SECRET]\nnull=character special file:1:3\nkcore=[]\n"
	if out != want {
		t.Errorf("%s: inside the container:\n%s\nwant:\n%s(the masked file empty, the secret the image's, /dev/null the 1:3 device, /proc/kcore masked)", what, out, want)
	}
}

// CVE-2025-31133: the image's /dev/null is a symlink (to a file of the
// image, or out of the rootfs to a host file) or a regular file, hoping that
// masking binds "/dev/null" — now the attacker's choice — over the masked
// paths, or writes through it. The masked paths must still show nothing,
// /dev/null must be the 1:3 device, and no host or image file may be written
// or mounted anywhere. Protection (invariant 4): libcontainer/rootfs/
// devices.go makeDevice replaces whatever the image put at a device path
// (unlink + mknod, through a handle resolved in the root), and setup.go
// trustedDevNull opens /dev/null with RESOLVE_NO_SYMLINKS and checks it is
// the 1:3 character device before maskPath clones it. Without both, masking
// would bind /etc/secret over /etc/masked and /proc/kcore.
func TestCVE2025_31133DevNullTrap(t *testing.T) {
	e := newEnv(t)
	hostFile := filepath.Join(e.Dir, "hostfile")
	must(t, os.WriteFile(hostFile, []byte(hostText), 0o644))
	traps := []struct {
		name string
		make func(null string) error
	}{
		{"symlink-to-image-file", func(p string) error { return os.Symlink("/etc/secret", p) }},
		{"relative-symlink-to-host-file", func(p string) error { return os.Symlink(relativeEscape(hostFile), p) }},
		{"absolute-symlink-to-host-file", func(p string) error { return os.Symlink(hostFile, p) }},
		{"regular-file", func(p string) error { return os.WriteFile(p, []byte(secretText), 0o644) }},
		{"hard-link-to-image-file", func(p string) error { return os.Link(filepath.Join(filepath.Dir(p), "..", "etc", "secret"), p) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }},
	}
	for _, tr := range traps {
		b := trapBundle(e)
		null := filepath.Join(b, "rootfs", "dev", "null")
		must(t, tr.make(null))
		id := e.ID()
		_, r := e.TryCreate(harness.Opts{}, b, id)
		if r.Code == 0 {
			e.OK(e.Nook("start", id))
			e.WaitStatus(id, "stopped")
			checkMasked(t, tr.name, harness.ReadString(r.OutPath))
			e.OK(e.Nook("delete", id))
		} else if r.Code != 1 || r.Crashed() {
			t.Errorf("%s: want success or a clean refusal: %s", tr.name, r)
		}
		if got := harness.ReadString(hostFile); got != hostText {
			t.Errorf("%s: the host file was written: %q", tr.name, got)
		}
		if got := harness.ReadString(filepath.Join(b, "rootfs", "etc", "secret")); got != secretText {
			t.Errorf("%s: the image's secret was written: %q", tr.name, got)
		}
		if m := hostMountsAt(hostFile); len(m) > 0 {
			t.Errorf("%s: host file mounted: %v", tr.name, m)
		}
	}
}

// CVE-2025-31133 (the race): the image's /dev is shared with something that
// swaps /dev/null with a symlink to the image's secret while nook creates the
// container (the runc exploit used a second container on a shared rootfs;
// here a host goroutine swaps, faster than any container could). Each create
// fails cleanly or masks with the real null device. Protection: as above;
// the decisive check is trustedDevNull's, made on the handle maskPath binds.
func TestCVE2025_31133DevNullSwapRace(t *testing.T) {
	e := newEnv(t)
	b := trapBundle(e)
	dev := filepath.Join(b, "rootfs", "dev")
	evil := filepath.Join(dev, "null-evil")
	must(t, os.Symlink("/etc/secret", evil))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		null := filepath.Join(dev, "null")
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := unix.Renameat2(unix.AT_FDCWD, evil, unix.AT_FDCWD, null, unix.RENAME_EXCHANGE)
			if errors.Is(err, unix.ENOENT) {
				// nook unlinked one of them to make its device: put the
				// bait back under whichever name is missing.
				if _, err := os.Lstat(evil); err != nil {
					os.Symlink("/etc/secret", evil)
				} else {
					os.Symlink("/etc/secret", null)
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	ok, refused := 0, 0
	for i := 0; i < 30; i++ {
		id := e.ID()
		_, r := e.TryCreate(harness.Opts{}, b, id)
		if r.Code != 0 {
			refused++
			if r.Code != 1 || r.Crashed() {
				t.Errorf("create %d: %s", i, r)
			}
			continue
		}
		ok++
		e.OK(e.Nook("start", id))
		e.WaitStatus(id, "stopped")
		out := harness.ReadString(r.OutPath)
		// /dev/null itself may be the swapped symlink by the time the
		// process looks: only the masks are the runtime's business.
		if !strings.HasPrefix(out, "masked=[]\nsecret=[SECRET]\n") || !strings.Contains(out, "kcore=[]") {
			t.Errorf("create %d: masking bound something else than the null device:\n%s", i, out)
		}
		e.OK(e.Nook("delete", id))
	}
	t.Logf("%d creates succeeded, %d refused", ok, refused)
	if got := harness.ReadString(filepath.Join(b, "rootfs", "etc", "secret")); got != secretText {
		t.Errorf("the image's secret was written: %q", got)
	}
}

// The same traps in a container with a user namespace: mknod is refused
// there, so nook bind-mounts the host's device nodes instead (devices.go
// bindDevice). A planted /dev/null symlink must not make masking use what
// it points at.
func TestCVE2025_31133DevNullTrapUserns(t *testing.T) {
	e := newEnv(t)
	b := trapBundle(e, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
		// sysfs cannot be mounted without a network namespace owned by
		// the user namespace; it is not what this test is about.
		s.Mounts = withoutDest(s.Mounts, "/sys", "/sys/fs/cgroup")
	})
	must(t, os.Symlink("/etc/secret", filepath.Join(b, "rootfs", "dev", "null")))
	id := e.ID()
	_, r := e.TryCreate(harness.Opts{}, b, id)
	if r.Code == 0 {
		e.OK(e.Nook("start", id))
		e.WaitStatus(id, "stopped")
		checkMasked(t, "userns", harness.ReadString(r.OutPath))
		e.OK(e.Nook("delete", id))
	} else if r.Code != 1 || r.Crashed() {
		t.Errorf("want success or a clean refusal: %s", r)
	} else {
		t.Logf("create refused: %s", strings.TrimSpace(r.Stderr))
	}
	if got := harness.ReadString(filepath.Join(b, "rootfs", "etc", "secret")); got != secretText {
		t.Errorf("the image's secret was written: %q", got)
	}
}

// In a user namespace the default devices are bind mounts of the host's
// nodes. An image that ships /dev/zero as a symlink to one of its own files
// must not make nook bind the host's device over that file: the container
// must get /dev/zero, the 1:5 device, at /dev/zero (as makeDevice ensures
// without a user namespace, by replacing what the image put there), and the
// file must stay what the image made it.
func TestDeviceSymlinkInUserns(t *testing.T) {
	e := newEnv(t)
	b := trapBundle(e, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
		s.Mounts = withoutDest(s.Mounts, "/sys", "/sys/fs/cgroup")
		s.Process.Args = []string{"sh", "-c", "stat -c %F:%t:%T /dev/zero /etc/secret"}
	})
	must(t, os.Symlink("/etc/secret", filepath.Join(b, "rootfs", "dev", "zero")))
	r := e.Nook("run", "--bundle", b, e.ID())
	switch {
	case r.Code == 0:
		if want := "character special file:1:5\nregular file:0:0\n"; r.Stdout != want {
			t.Errorf("inside the container: %q, want %q (/dev/zero the device, /etc/secret the image's file)", r.Stdout, want)
		}
	case r.Code != 1 || r.Crashed():
		t.Errorf("want a working container or a clean refusal: %s", r)
	}
}

func withoutDest(ms []specs.Mount, dests ...string) []specs.Mount {
	var out []specs.Mount
	for _, m := range ms {
		drop := false
		for _, d := range dests {
			drop = drop || m.Destination == d
		}
		if !drop {
			out = append(out, m)
		}
	}
	return out
}

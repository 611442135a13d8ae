package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fakeHostDev makes a directory that stands for the host's /dev in a
// `docker run --privileged -v /dev:/dev` config: a null device (1:3, root,
// 0666) and the directories the default mounts need. Tests never bind the
// real /dev: on a runtime with the hole they would rewrite the host's.
func fakeHostDev(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	for _, d := range []string{"pts", "shm", "mqueue"} {
		must(t, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	must(t, unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, os.Chmod(filepath.Join(dir, "null"), 0o666))
	must(t, os.WriteFile(filepath.Join(dir, "console"), nil, 0o600))
}

// devSnapshot lists every entry of dir with its inode, mode and owner.
func devSnapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var lines []string
	for _, ent := range entries {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(dir, ent.Name()), &st))
		lines = append(lines, fmt.Sprintf("%s ino=%d mode=%o uid=%d gid=%d", ent.Name(), st.Ino, st.Mode, st.Uid, st.Gid))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hostDevBind is the config an engine writes for -v /dev:/dev: the host
// directory bound on /dev after the default /dev tmpfs, and a linux.devices
// entry for /dev/null with another owner and mode.
func hostDevBind(hostDev string) specMod {
	return func(s *specs.Spec) {
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination == "/dev" {
				m = specs.Mount{Destination: "/dev", Type: "bind", Source: hostDev, Options: []string{"rbind", "rw"}}
			}
			mounts = append(mounts, m)
		}
		s.Mounts = mounts
		uid, gid, mode := uint32(1000), uint32(1000), os.FileMode(0o600)
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 3,
			UID: &uid, GID: &gid, FileMode: &mode})
	}
}

// Issue 15 §1: a host directory bound on /dev is left exactly as it is: no
// device made, replaced, chmod'ed or chown'ed in it, no /dev symlink added,
// and the container still runs (as with runc), with and without a user
// namespace. Fails on e192b04: /dev/null re-made with uid 1000 and 0600, and
// fd, stdin, ..., zero, ptmx added; with a user namespace create fails.
func TestHostDevBindLeftAlone(t *testing.T) {
	e := newEnv(t)
	// The user namespace's root opens bind sources (until nook opens them
	// on the host side, issue 16): let it traverse the test's directories.
	must(t, os.Chmod(filepath.Dir(e.Dir), 0o755))
	must(t, os.Chmod(e.Dir, 0o755))
	for _, userns := range []bool{false, true} {
		hostDev := filepath.Join(e.Dir, "hostdev"+strconv.Itoa(int(e.next())))
		fakeHostDev(t, hostDev)
		before := devSnapshot(t, hostDev)
		mods := []specMod{hostDevBind(hostDev), sh("test -c /dev/null && echo ok")}
		if userns {
			m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			mods = append(mods, func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
				s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
			})
		}
		r := e.run(mods...)
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "ok" {
			t.Errorf("userns %v: the container did not run: %s", userns, r)
		}
		if after := devSnapshot(t, hostDev); after != before {
			t.Errorf("userns %v: the host directory bound on /dev changed:\nbefore:\n%s\nafter:\n%s", userns, before, after)
		}
	}
}

// The same guard beyond /dev: a linux.devices entry inside another bind
// mount from the host is refused with a clear error instead of made there,
// and the host directory is untouched.
func TestDeviceInsideHostBindRefused(t *testing.T) {
	e := newEnv(t)
	hostDir := filepath.Join(e.Dir, "hostdir")
	must(t, os.Mkdir(hostDir, 0o755))
	before := devSnapshot(t, hostDir)
	b := e.bundle(args("true"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/host", Type: "bind", Source: hostDir, Options: []string{"rbind"}})
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/mnt/host/zero", Type: "c", Major: 1, Minor: 5})
	})
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "/mnt/host/zero", "bind mount from the host")
	if after := devSnapshot(t, hostDir); after != before {
		t.Errorf("the host directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// Issue 15 §3: with --no-pivot the host's /proc and /sys must not stay in
// the container's mount table, where they let a nested user+pid namespace
// mount a fresh, unmasked procfs (the kernel allows it while a whole,
// uncovered procfs is in the mount namespace). The container's own /proc is
// masked (linux.maskedPaths), so with them gone the mount is refused, as it
// is with pivot_root. CAP_SETFCAP lets the container map its root into the
// nested user namespace. Fails on e192b04: "mounted" with --no-pivot.
func TestNoPivotHidesHostProcAndSys(t *testing.T) {
	e := newEnv(t)
	nested := []specMod{
		sh(`unshare -r -p -f -m --mount-proc true 2>/dev/null && echo mounted || echo refused`),
		func(s *specs.Spec) {
			c := s.Process.Capabilities
			c.Bounding = append(c.Bounding, "CAP_SETFCAP")
			c.Effective = append(c.Effective, "CAP_SETFCAP")
			c.Permitted = append(c.Permitted, "CAP_SETFCAP")
		},
	}
	for _, noPivot := range []bool{false, true} {
		b := e.bundle(nested...)
		a := []string{"run", "--bundle", b, e.id()}
		if noPivot {
			a = append([]string{"run", "--no-pivot"}, a[1:]...)
		}
		r := e.ok(e.nook(a...))
		if got := strings.TrimSpace(r.Stdout); got != "refused" {
			t.Errorf("--no-pivot %v: a nested user+pid namespace mounting a procfs: %q, want refused", noPivot, got)
		}
	}
}

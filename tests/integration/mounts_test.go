package integration

// Mount edge cases runc handles (issue 16, section 3), each with the config
// an engine writes.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// usernsMod gives the container a user namespace whose root is host uid
// and gid 100000 (as TestUserNamespace).
func usernsMod(s *specs.Spec) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
}

// mountOpts returns the per-mount options of the mount at mp in a
// /proc/self/mountinfo text (the top one), or nil.
func mountOpts(mountinfo, mp string) []string {
	var opts []string
	for _, l := range nonEmptyLines(mountinfo) {
		if f := strings.Fields(l); len(f) >= 6 && f[4] == mp {
			opts = strings.Split(f[5], ",")
		}
	}
	return opts
}

// mountsAt is every mountinfo line whose mount point is mp.
func mountsAt(mountinfo, mp string) []string {
	var out []string
	for _, l := range nonEmptyLines(mountinfo) {
		if f := strings.Fields(l); len(f) >= 5 && f[4] == mp {
			out = append(out, l)
		}
	}
	return out
}

// hostTmpfs mounts a tmpfs on the host at dir with flags (removed when the
// test ends) and puts a marker file in it.
func hostTmpfs(t *testing.T, dir string, flags uintptr) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	must(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=755"))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	must(t, os.WriteFile(filepath.Join(dir, "marker"), []byte("marker\n"), 0o644))
	if flags != 0 {
		must(t, unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""))
	}
}

// A destination that carries the rootfs's host path (<bundle>/rootfs/data,
// as some generators write it) is /data in the container, as runc strips
// the rootfs lexically; nothing is made under a copy of the host path.
func TestMountDestinationWithRootfsPrefix(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	rootfs := filepath.Join(b, "rootfs")
	payload := filepath.Join(e.Dir, "payload")
	must(t, os.WriteFile(payload, []byte("payload\n"), 0o644))
	s := newSpec()
	s.Process.Args = []string{"sh", "-c", "stat -f -c %T /data; cat /etc/payload"}
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: rootfs + "/data", Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: rootfs + "/etc/payload", Type: "bind", Source: payload, Options: []string{"bind", "ro"}},
	)
	e.writeConfig(b, s)
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	if want := "tmpfs\npayload\n"; out != want {
		t.Errorf("inside the container: %q, want %q", out, want)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, b)); err == nil {
		t.Errorf("%s was created: the rootfs path was taken as a path inside the rootfs", filepath.Join(rootfs, b))
	}
}

// A relative destination is taken from "/" with a deprecation warning, as
// runc does, not refused.
func TestRelativeMountDestination(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh("stat -f -c %T /mnt/rel"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "mnt/rel", Type: "tmpfs", Source: "tmpfs"})
	})
	r := e.ok(e.nook("run", "--bundle", b, e.id()))
	if r.Stdout != "tmpfs\n" {
		t.Errorf("inside the container: %q, want a tmpfs at /mnt/rel", r.Stdout)
	}
	if !strings.Contains(r.Stderr, `mnt/rel`) || !strings.Contains(r.Stderr, "is not absolute") || !strings.Contains(r.Stderr, "deprecated") {
		t.Errorf("no deprecation warning naming the destination on stderr: %s", r)
	}
}

// A bind target reached through a dangling symlink (the last element, or a
// component) is created where the link points inside the root, as runc
// does, whether the link is absolute, relative climbing above the root, or
// "/.."-prefixed: never on the host.
func TestBindThroughDanglingSymlink(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(e.Dir, "src")
	must(t, os.Mkdir(src, 0o755))
	must(t, os.WriteFile(filepath.Join(src, "marker"), []byte("dir\n"), 0o644))
	file := filepath.Join(e.Dir, "file")
	must(t, os.WriteFile(file, []byte("file\n"), 0o644))
	// A host directory the links name: resolved on the host they would
	// land in it.
	hostDir := filepath.Join(e.Dir, "hostdir")
	must(t, os.Mkdir(hostDir, 0o755))
	hostFile := filepath.Join(e.Dir, "hostfile")
	links := map[string]string{
		"last":    "/made/by/last",                               // last element, absolute
		"comp":    strings.Repeat("../", 20) + "made/by/comp",    // component, relative above the root
		"escape":  "/../../../../.." + hostDir,                   // last element, host path
		"fileln":  "/../../../.." + hostFile,                     // file bind, last element
		"chain":   "chain2",                                      // two dangling links in a row
		"chain2":  "/made/by/chain",                              //
		"partial": "/etc/../made/by/partial/../partial2/./final", // ".." inside the target
	}
	mounts := []specs.Mount{
		{Destination: "/last", Type: "bind", Source: src, Options: []string{"rbind"}},
		{Destination: "/comp/sub", Type: "bind", Source: src, Options: []string{"rbind"}},
		{Destination: "/escape", Type: "bind", Source: src, Options: []string{"rbind"}},
		{Destination: "/fileln", Type: "bind", Source: file, Options: []string{"bind", "ro"}},
		{Destination: "/chain/x", Type: "bind", Source: src, Options: []string{"rbind"}},
		{Destination: "/partial", Type: "bind", Source: src, Options: []string{"rbind"}},
	}
	script := fmt.Sprintf(`cat /made/by/last/marker /last/marker /made/by/comp/sub/marker /comp/sub/marker
cat %[1]s/marker /escape/marker %[2]s /fileln /made/by/chain/x/marker /made/by/partial2/final/marker`, hostDir, hostFile)
	b := e.bundle(sh(script), func(s *specs.Spec) { s.Mounts = append(s.Mounts, mounts...) })
	rootfs := filepath.Join(b, "rootfs")
	for link, target := range links {
		must(t, os.Symlink(target, filepath.Join(rootfs, link)))
	}
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	want := "dir\ndir\ndir\ndir\ndir\ndir\nfile\nfile\ndir\ndir\n"
	if out != want {
		t.Errorf("inside the container: %q, want %q", out, want)
	}
	// Made inside the rootfs, and the links left as they were.
	for _, p := range []string{"made/by/last", "made/by/comp/sub", strings.TrimPrefix(hostDir, "/"), "made/by/chain/x", "made/by/partial2/final"} {
		if fi, err := os.Lstat(filepath.Join(rootfs, p)); err != nil || !fi.IsDir() {
			t.Errorf("%s was not created as a directory inside the rootfs: %v", p, err)
		}
	}
	if fi, err := os.Lstat(filepath.Join(rootfs, hostFile)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the file target was not created inside the rootfs: %v", err)
	}
	for link, target := range links {
		if got, err := os.Readlink(filepath.Join(rootfs, link)); err != nil || got != target {
			t.Errorf("symlink %s changed: %q, %v", link, got, err)
		}
	}
	// Nothing reached the host paths.
	if entries, _ := os.ReadDir(hostDir); len(entries) != 0 {
		t.Errorf("the host directory %s was written to: %v", hostDir, entries)
	}
	if _, err := os.Lstat(hostFile); err == nil {
		t.Errorf("the host file %s was created", hostFile)
	}
	if m := harness.MountsUnder(hostDir); len(m) != 0 {
		t.Errorf("mounted on the host: %q", m)
	}
}

// "ro" on the /dev tmpfs (and on any tmpfs) is applied once the mounts
// below it and the devices exist, as runc's finalizeRootfs does: /dev/pts,
// /dev/shm and /dev/mqueue are mounted, the devices made, and /dev ends up
// read-only. "rro" makes the whole /dev tree read-only the same way.
func TestReadonlyDevTmpfs(t *testing.T) {
	e := newEnv(t)
	script := `cat /proc/self/mountinfo; echo ---
stat -c %t:%T /dev/null
touch /dev/x 2>/dev/null && echo DEV-WRITABLE || echo DEV-RO
touch /dev/shm/x 2>/dev/null && echo SHM-WRITABLE || echo SHM-RO
touch /data/x 2>/dev/null && echo DATA-WRITABLE || echo DATA-RO
cat /data/copied`
	roDev := func(extra string) specMod {
		return func(s *specs.Spec) {
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/dev" {
					s.Mounts[i].Options = append(s.Mounts[i].Options, extra)
				}
			}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"ro", "tmpcopyup", "size=1m"}})
		}
	}
	for _, c := range []struct {
		opt, shm string
	}{{"ro", "SHM-WRITABLE"}, {"rro", "SHM-RO"}} {
		b := e.bundle(sh(script), roDev(c.opt))
		must(t, os.MkdirAll(filepath.Join(b, "rootfs", "data"), 0o755))
		must(t, os.WriteFile(filepath.Join(b, "rootfs", "data", "copied"), []byte("copied\n"), 0o644))
		out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
		mi, rest, _ := strings.Cut(out, "---\n")
		for _, mp := range []string{"/dev", "/data"} {
			if !containsStr(mountOpts(mi, mp), "ro") {
				t.Errorf("%s: %s is not read-only: %q", c.opt, mp, mountsAt(mi, mp))
			}
		}
		mt := mountTable(mi)
		for mp, typ := range map[string]string{"/dev/pts": "devpts", "/dev/shm": "tmpfs", "/dev/mqueue": "mqueue"} {
			if mt[mp] != typ {
				t.Errorf("%s: %s is %q, want %s mounted", c.opt, mp, mt[mp], typ)
			}
		}
		want := "1:3\nDEV-RO\n" + c.shm + "\nDATA-RO\ncopied\n"
		if rest != want {
			t.Errorf("%s: inside the container: %q, want %q", c.opt, rest, want)
		}
	}
}

// A tmpfs without mode= takes the mode of the directory it covers (the
// sticky, setgid bits included), as runc does; an explicit mode= wins, and
// a directory nook creates gets the tmpfs default, 1777.
func TestTmpfsInheritsMode(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh("stat -c %a /inherit /explicit /created/new"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/inherit", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			specs.Mount{Destination: "/explicit", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=700"}},
			specs.Mount{Destination: "/created/new", Type: "tmpfs", Source: "tmpfs"},
		)
	})
	for dir, mode := range map[string]os.FileMode{"inherit": 0o750 | os.ModeSticky | os.ModeSetgid, "explicit": 0o755} {
		p := filepath.Join(b, "rootfs", dir)
		must(t, os.Mkdir(p, 0o755))
		must(t, os.Chmod(p, mode))
	}
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	if want := "3750\n700\n1777\n"; out != want {
		t.Errorf("tmpfs modes: %q, want %q", out, want)
	}
}

// Masked paths: one listed twice is masked once, and every masked
// directory is a clone of one read-only tmpfs (one superblock), as runc
// 1.5 does for Kubernetes' dozens of per-CPU sysfs masks.
func TestMaskedPathsShareOneTmpfs(t *testing.T) {
	e := newEnv(t)
	dirs := []string{"/sys/firmware", "/sys/devices/system/cpu/cpu0", "/sys/devices/system/cpu/cpu1", "/sys/kernel/mm"}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Skipf("needs the directory %s on the host: %v", d, err)
		}
	}
	// A file the default config masks, listed a second time below.
	if _, err := os.Stat("/proc/keys"); err != nil {
		t.Skipf("needs /proc/keys on the host: %v", err)
	}
	out := e.runOK(sh("cat /proc/self/mountinfo; ls -A /sys/kernel/mm | wc -l; touch /sys/kernel/mm/x 2>/dev/null && echo WRITABLE || echo RO"),
		func(s *specs.Spec) {
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, dirs...)
			// Listed twice, spelt two ways.
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/sys/firmware/", "/proc/keys", "sys/kernel/mm")
		})
	lines := nonEmptyLines(out)
	if n := len(lines); n < 2 || lines[n-2] != "0" || lines[n-1] != "RO" {
		t.Fatalf("a masked directory is not empty and read-only: %q", lines[max(0, n-2):])
	}
	var dev string
	for _, d := range append(dirs, "/proc/keys") {
		at := mountsAt(out, d)
		if len(at) != 1 {
			t.Errorf("%s: %d mounts, want exactly one mask: %q", d, len(at), at)
			continue
		}
		if d == "/proc/keys" {
			continue
		}
		f := strings.Fields(at[0])
		if !containsStr(strings.Split(f[5], ","), "ro") {
			t.Errorf("mask of %s is not read-only: %s", d, at[0])
		}
		// Field 3 is the superblock's device: one tmpfs for all.
		if dev == "" {
			dev = f[2]
		} else if f[2] != dev {
			t.Errorf("mask of %s is tmpfs %s, the first mask is %s: want one shared tmpfs", d, f[2], dev)
		}
	}
}

// Bind flags follow runc's rules. The source is a host tmpfs mounted
// nosuid,nodev,noexec. Without a user namespace a bind with "ro" gets
// exactly ro (the source's other flags cleared) and a bind with no flag
// option keeps the source's flags. In a user namespace the kernel locks
// the source's flags: "ro" keeps them, and "suid" (clearing a locked flag)
// is a clear error naming the mount.
func TestBindFlagsFollowRunc(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(e.Dir, "flagged")
	hostTmpfs(t, src, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
	bindMods := func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: src, Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/mnt/plain", Type: "bind", Source: src, Options: []string{"bind"}},
			specs.Mount{Destination: "/mnt/rw", Type: "bind", Source: src, Options: []string{"rbind", "rw", "noexec"}},
		)
	}
	check := func(name, mi, mp string, want, not []string) {
		opts := mountOpts(mi, mp)
		for _, o := range want {
			if !containsStr(opts, o) {
				t.Errorf("%s: %s lacks %s: %q", name, mp, o, opts)
			}
		}
		for _, o := range not {
			if containsStr(opts, o) {
				t.Errorf("%s: %s has %s: %q", name, mp, o, opts)
			}
		}
	}
	mi := e.runOK(args("cat", "/proc/self/mountinfo"), bindMods)
	check("host", mi, "/mnt/ro", []string{"ro"}, []string{"nosuid", "nodev", "noexec"})
	check("host", mi, "/mnt/plain", []string{"rw", "nosuid", "nodev", "noexec"}, nil)
	check("host", mi, "/mnt/rw", []string{"rw", "noexec"}, []string{"nosuid", "nodev"})

	// The container's root (host uid 100000) cannot create directories in
	// the image (host root's): the mount points exist already.
	usernsBundle := func(mods ...specMod) string {
		b := e.bundle(append([]specMod{usernsMod}, mods...)...)
		for _, d := range []string{"ro", "plain", "suid"} {
			must(t, os.MkdirAll(filepath.Join(b, "rootfs", "mnt", d), 0o755))
		}
		return b
	}
	b := usernsBundle(args("cat", "/proc/self/mountinfo"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: src, Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/mnt/plain", Type: "bind", Source: src, Options: []string{"bind"}},
		)
	})
	mi = e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	check("userns", mi, "/mnt/ro", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
	check("userns", mi, "/mnt/plain", []string{"rw", "nosuid", "nodev", "noexec"}, nil)

	b = usernsBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/suid", Type: "bind", Source: src, Options: []string{"bind", "suid"}})
	})
	r := e.nook("run", "--bundle", b, e.id())
	e.expectFail(r, "nosuid", "locked")
	if !strings.Contains(r.Stderr, "mounts[7]") && !strings.Contains(r.Stderr, "/mnt/suid") {
		t.Errorf("the error does not name the mount (mounts[7] or /mnt/suid): %s", r)
	}
}

// A bind of the host's /proc on /proc is accepted when the container shares
// the host's pid namespace (rootless podman --pid=host writes it), as runc
// does; with a pid namespace of its own, or with a source that is not the
// root of a procfs, it is refused.
func TestHostProcBindWithHostPid(t *testing.T) {
	e := newEnv(t)
	hostProc := func(source string) specMod {
		return func(s *specs.Spec) {
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/proc" {
					s.Mounts[i] = specs.Mount{Destination: "/proc", Type: "bind", Source: source,
						Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
				}
			}
		}
	}
	out := e.runOK(sh("stat -f -c %T /proc; cat /proc/1/comm; test -e /proc/$$ && echo SELF"),
		withoutNamespace(specs.PIDNamespace), hostProc("/proc"))
	hostInit := strings.TrimSpace(readString("/proc/1/comm"))
	if want := "proc\n" + hostInit + "\nSELF\n"; out != want {
		t.Errorf("inside the container: %q, want %q (the host's procfs)", out, want)
	}

	b := e.bundle(hostProc("/proc"))
	e.expectFail(e.nook("run", "--bundle", b, e.id()), "/proc", "pid namespace")

	fake := filepath.Join(e.Dir, "fakeproc")
	must(t, os.MkdirAll(filepath.Join(fake, "1"), 0o755))
	b = e.bundle(withoutNamespace(specs.PIDNamespace), hostProc(fake))
	e.expectFail(e.nook("run", "--bundle", b, e.id()), "/proc", "root of a procfs")
	b = e.bundle(withoutNamespace(specs.PIDNamespace), hostProc("/proc/self"))
	e.expectFail(e.nook("run", "--bundle", b, e.id()), "/proc", "root of a procfs")
}

// user.* sysctls (the ucount limits) are per user namespace: set in a
// container with its own, refused without one (they would be the host's).
func TestUserSysctlWithUserns(t *testing.T) {
	e := newEnv(t)
	const key, file = "user.max_user_namespaces", "/proc/sys/user/max_user_namespaces"
	host := readString(file)
	if host == "" {
		t.Skipf("%s is not readable on this host", file)
	}
	out := e.runOK(args("cat", file), usernsMod, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{key: "7"}
	})
	if out != "7\n" {
		t.Errorf("inside the container %s = %q, want 7", file, out)
	}
	if got := readString(file); got != host {
		t.Errorf("the host's %s changed from %q to %q", file, host, got)
	}
	b := e.bundle(func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{key: "7"} })
	e.expectFail(e.nook("run", "--bundle", b, e.id()), "linux.sysctl", key, "user namespace")
	if got := readString(file); got != host {
		t.Errorf("the host's %s changed from %q to %q", file, host, got)
	}
}

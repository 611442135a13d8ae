package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// Fields of issue 4 (config.json beyond the foundation), each seen from
// inside a real container.

func TestTimeNamespaceOffsets(t *testing.T) {
	e := newEnv(t)
	const shift = 10 * 24 * 3600 // ten days of boottime
	out := e.runOK(args("cat", "/proc/uptime"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"boottime":  {Secs: shift},
			"monotonic": {Secs: 3600},
		}
	})
	inside, err := strconv.ParseFloat(strings.Fields(out)[0], 64)
	if err != nil {
		t.Fatalf("container's /proc/uptime = %q: %v", out, err)
	}
	host, err := strconv.ParseFloat(strings.Fields(readString("/proc/uptime"))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	if d := inside - host; d < shift-60 || d > shift+60 {
		t.Errorf("uptime inside %.0f s, on the host %.0f s: differ by %.0f s, want about %d", inside, host, d, shift)
	}
}

func TestBadTimeOffsetsWithoutTimeNamespace(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 5}}
	})
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "linux.timeOffsets", "time namespace")
}

func TestRecursiveReadOnlyBind(t *testing.T) {
	e := newEnv(t)
	// A host tree with a mount inside it: "ro" leaves the inner mount
	// writable, "rro" must not.
	outer := filepath.Join(e.Dir, "outer")
	inner := filepath.Join(outer, "inner")
	must(t, os.MkdirAll(inner, 0o755))
	must(t, unix.Mount("tmpfs", inner, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { unix.Unmount(inner, unix.MNT_DETACH) })
	script := `touch /mnt/ro/inner/x 2>/dev/null && echo RO-INNER-WRITABLE || echo RO-INNER-RO
touch /mnt/rro/inner/x 2>/dev/null && echo RRO-INNER-WRITABLE || echo RRO-INNER-RO
touch /mnt/rro/y 2>/dev/null && echo RRO-OUTER-WRITABLE || echo RRO-OUTER-RO`
	out := e.runOK(sh(script), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: outer, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/mnt/rro", Type: "bind", Source: outer, Options: []string{"rbind", "rro"}},
		)
	})
	want := []string{"RO-INNER-WRITABLE", "RRO-INNER-RO", "RRO-OUTER-RO"}
	if got := nonEmptyLines(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTmpcopyup(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh(`cat /etc/copied/a /etc/copied/sub/b; readlink /etc/copied/link
grep ' /etc/copied ' /proc/mounts | cut -d' ' -f3
echo changed > /etc/copied/a && cat /etc/copied/a`), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/copied", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"tmpcopyup", "size=1m", "mode=755"}})
	})
	dir := filepath.Join(b, "rootfs", "etc", "copied")
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "a"), []byte("file-a\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("file-b\n"), 0o600))
	must(t, os.Symlink("/outside-target", filepath.Join(dir, "link")))
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	want := []string{"file-a", "file-b", "/outside-target", "tmpfs", "changed"}
	if got := nonEmptyLines(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	// The copy is the container's: the image is unchanged.
	if got := readString(filepath.Join(dir, "a")); got != "file-a\n" {
		t.Errorf("the rootfs' file changed to %q", got)
	}
}

func TestBadMountOptions(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		m    specs.Mount
		want []string
	}{
		{specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "bogus"}}, []string{"mounts[", "bogus"}},
		{specs.Mount{Destination: "/mnt", Type: "proc", Source: "proc", Options: []string{"tmpcopyup"}}, []string{"tmpcopyup"}},
		// A relative destination is accepted with a warning (as runc):
		// TestRelativeMountDestination. A mount over the root is not.
		{specs.Mount{Destination: "/", Type: "tmpfs", Source: "tmpfs"}, []string{"mounts[", "destination", "root directory"}},
	} {
		b := e.bundle(func(s *specs.Spec) { s.Mounts = append(s.Mounts, tc.m) })
		e.expectFail(e.nook("create", "--bundle", b, e.id()), tc.want...)
	}
}

// TestUserNamespace: a container whose root is host uid 100000 sets up its
// rootfs (devices bind-mounted, sysfs mounted) and runs as that uid on the
// host; an exec'd process sees the mapping; a second container joins its
// user namespace by path.
func TestUserNamespace(t *testing.T) {
	e := newEnv(t)
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	id, pid, _ := e.createStarted(args("sleep", "100"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
	})
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	if !strings.Contains(string(status), "Uid:\t100000\t100000\t100000\t100000\n") {
		t.Errorf("the container process does not run as host uid 100000:\n%s", status)
	}
	out := e.ok(e.nook("exec", id, "sh", "-c", "cat /proc/self/uid_map; id -u; stat -c %F /dev/null; ls /sys/kernel >/dev/null && echo sysfs; touch /dev/shm/x && stat -c %u /dev/shm/x")).Stdout
	got := strings.Join(strings.Fields(out), " ")
	if want := "0 100000 65536 0 character special file sysfs 0"; got != want {
		t.Errorf("inside: %q, want %q", got, want)
	}
	joined := e.runOK(sh("cat /proc/self/uid_map"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces,
			specs.LinuxNamespace{Type: specs.UserNamespace, Path: fmt.Sprintf("/proc/%d/ns/user", pid)})
	})
	if got := strings.Join(strings.Fields(joined), " "); got != "0 100000 65536" {
		t.Errorf("a container joining the user namespace by path sees %q", got)
	}
	e.ok(e.nook("delete", "--force", id))
}

func TestBadIDMappings(t *testing.T) {
	e := newEnv(t)
	userns := func(uid []specs.LinuxIDMapping) specMod {
		return func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = uid
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		}
	}
	overlap := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 100}, {ContainerID: 50, HostID: 200000, Size: 100}}
	b := e.bundle(userns(overlap))
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "linux.uidMappings", "overlap")
	var many []specs.LinuxIDMapping
	for i := uint32(0); i < 341; i++ {
		many = append(many, specs.LinuxIDMapping{ContainerID: i, HostID: 100000 + i, Size: 1})
	}
	b = e.bundle(userns(many))
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "linux.uidMappings", "340")
}

func TestBadDeviceType(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/weird", Type: "x", Major: 1, Minor: 3})
	})
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "linux.devices[0].type")
}

func TestUsername(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(args("id"), func(s *specs.Spec) {
		s.Process.User = specs.User{Username: "nobody", AdditionalGids: []uint32{20}}
	})
	want := "uid=1000(nobody) gid=1000(nobody) groups=10(wheel),20(users),1000(nobody)"
	if got := strings.TrimSpace(out); got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	b := e.bundle(args("id"), func(s *specs.Spec) { s.Process.User = specs.User{Username: "nosuchuser"} })
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "process.user.username", "nosuchuser")
}

// TestSocketActivationFds: with LISTEN_FDS/LISTEN_PID naming nook, the fds
// reach the container, which is told about them as systemd would.
func TestSocketActivationFds(t *testing.T) {
	e := newEnv(t)
	data := filepath.Join(e.Dir, "listen-fd")
	must(t, os.WriteFile(data, []byte("activated\n"), 0o644))
	b := e.bundle(sh(`echo "$LISTEN_FDS $LISTEN_PID"; cat <&3`))
	// sh's $$ is nook's pid after exec.
	script := `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --root "$1" run --bundle "$2" "$3" 3<"$4"`
	cmd := exec.Command("/bin/sh", "-c", script, suite.Nook, e.Root, b, e.id(), data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "1 1\nactivated" {
		t.Errorf("container saw %q, want LISTEN_FDS=1 LISTEN_PID=1 and the fd's data", got)
	}
}

func withCaps(extra ...string) specMod {
	return func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, extra...)
		c.Effective = append(c.Effective, extra...)
		c.Permitted = append(c.Permitted, extra...)
	}
}

func TestRootfsPropagation(t *testing.T) {
	e := newEnv(t)
	prop := func(p string) specMod { return func(s *specs.Spec) { s.Linux.RootfsPropagation = p } }
	// rshared: a bind of "/" made first still sees a mount made after it
	// (recursive, since /tmp is a mount of its own).
	out := e.runOK(sh(`mkdir /tmp/t /tmp/m && mount --rbind / /tmp/t && mount -t tmpfs x /tmp/m && touch /tmp/m/f && test -e /tmp/t/tmp/m/f && echo exposed`),
		prop("rshared"), tmpfsTmp, withCaps("CAP_SYS_ADMIN"))
	if strings.TrimSpace(out) != "exposed" {
		t.Errorf("rootfsPropagation shared: %q", out)
	}
	// unbindable: "/" cannot be bound at all.
	out = e.runOK(sh(`mkdir /tmp/t; mount --rbind / /tmp/t 2>&1 || echo refused`), prop("unbindable"), tmpfsTmp, withCaps("CAP_SYS_ADMIN"))
	if !strings.Contains(out, "refused") {
		t.Errorf("rootfsPropagation unbindable: binding / worked: %q", out)
	}
	// Nothing of the container reached the host's mount table.
	if m := harness.MountsUnder(e.Dir); len(m) != 0 {
		t.Errorf("container mounts visible on the host: %q", m)
	}
}

// TestIdmappedMount: the mount's own mappings shift ownership both ways:
// a file owned by host uid 1000 shows as 0 inside, and a file root makes
// inside lands on the host as 1000.
func TestIdmappedMount(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.Dir, "shifted")
	must(t, os.Mkdir(dir, 0o777))
	must(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	must(t, os.Chown(filepath.Join(dir, "f"), 1000, 1000))
	must(t, os.Chown(dir, 1000, 1000))
	m := []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}}
	out := e.runOK(sh("stat -c '%u:%g' /mnt/f; touch /mnt/new && echo made"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: dir,
			Options: []string{"rbind"}, UIDMappings: m, GIDMappings: m})
	})
	if got := strings.Join(nonEmptyLines(out), " "); got != "0:0 made" {
		t.Errorf("inside the idmapped mount: %q, want 0:0 made", got)
	}
	var st unix.Stat_t
	must(t, unix.Stat(filepath.Join(dir, "new"), &st))
	if st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("a file root made through the idmapped mount is %d:%d on the host, want 1000:1000", st.Uid, st.Gid)
	}
	b := e.bundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: dir, Options: []string{"rbind", "idmap"}})
	})
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "idmap", "mounts[")
}

func TestDomainnameIOPriorityKeyring(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	b := e.bundle(sh(`cat /proc/sys/kernel/domainname; ionice -p $$; grep -c "keyring.*`+id+`" /proc/keys`), func(s *specs.Spec) {
		s.Domainname = "example.test"
		// The default config masks /proc/keys; unmask it to look.
		var masked []string
		for _, p := range s.Linux.MaskedPaths {
			if p != "/proc/keys" {
				masked = append(masked, p)
			}
		}
		s.Linux.MaskedPaths = masked
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
	})
	out := e.ok(e.nook("run", "--bundle", b, id)).Stdout
	// The session keyring is named after the container (not with --no-new-keyring).
	want := []string{"example.test", "best-effort: prio 6", "1"}
	if got := nonEmptyLines(out); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("inside: %q, want %q", got, want)
	}
}

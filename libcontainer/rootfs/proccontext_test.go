package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/kernel"
)

// With Config.ProcContext (the parent building a C init's root), proc is
// mounted from the init's context, never with mount(2): the source and the
// data go to the context, the flags become the mount's attributes.
func TestProcIsMountedFromTheInitsContext(t *testing.T) {
	s := defaultSpec()
	s.Mounts[0].Options = []string{"nosuid", "noexec", "nodev", "hidepid=2"}
	r := newRecorder(t)
	contexts := 0
	run := runSetup(t, r, s, Config{ProcContext: func() (int, error) {
		contexts++
		return r.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	}})
	if run.err != nil {
		t.Fatalf("Setup: %v\n%s", run.err, run.String())
	}
	if contexts != 1 {
		t.Fatalf("Setup took %d proc contexts, want 1 (one proc mount)", contexts)
	}
	for _, c := range run.Calls {
		if c.Op == "mount" && c.FSType == "proc" {
			t.Fatalf("proc mounted with mount(2) (%s): it would show nook's pid namespace\n%s", c, run.String())
		}
	}
	run.InOrder(t,
		step{Desc: "fsconfig source=proc", Match: func(c kernel.Call) bool {
			return c.Op == "fsconfig_set" && c.FSType == "proc" && c.Data == "source=proc"
		}},
		step{Desc: "fsconfig hidepid=2", Match: func(c kernel.Call) bool {
			return c.Op == "fsconfig_set" && c.Data == "hidepid=2"
		}},
		call("fsconfig_create", ""),
		step{Desc: "fsmount nosuid,noexec,nodev", Match: func(c kernel.Call) bool {
			return c.Op == "fsmount" && c.FSType == "proc" &&
				c.Flags == unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC|unix.MOUNT_ATTR_NODEV
		}},
		mountOn("/proc"),
		mountOn("/dev"),
	)
}

// A config without a cgroup namespace binds the init's cgroup: from the
// parent, the init's /proc/<pid>/cgroup names it, not the parent's own.
func TestCgroupFileNamesTheInitsCgroup(t *testing.T) {
	r := newRecorder(t)
	host := r.Host()
	if err := os.MkdirAll(filepath.Join(host, "/proc/42"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "/proc/42/cgroup"), []byte("0::/nook.slice/init42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(host, "/sys/fs/cgroup/nook.slice/init42"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := runSetup(t, r, defaultSpec(), Config{CgroupFile: "/proc/42/cgroup"})
	if run.err != nil {
		t.Fatalf("Setup: %v\n%s", run.err, run.String())
	}
	run.InOrder(t, call("open_tree", "host:/sys/fs/cgroup/nook.slice/init42"), mountOn("/sys/fs/cgroup"))
}

func TestProcMountFromContextTakesOnlyAttributes(t *testing.T) {
	for _, c := range []struct {
		m    specs.Mount
		want bool
	}{
		{specs.Mount{Type: "proc", Destination: "/proc", Source: "proc"}, true},
		{specs.Mount{Type: "proc", Options: []string{"nosuid", "noexec", "nodev", "ro", "hidepid=2", "subset=pid"}}, true},
		{specs.Mount{Type: "proc", Options: []string{"noatime", "nodiratime", "strictatime", "relatime"}}, true},
		{specs.Mount{Type: "proc", Options: []string{"sync"}}, false},           // a superblock flag
		{specs.Mount{Type: "proc", Options: []string{"rbind"}}, false},          // a bind of a proc
		{specs.Mount{Type: "proc", Options: []string{"rprivate"}}, false},       // propagation
		{specs.Mount{Type: "proc", Options: []string{"rro"}}, false},            // recursive attributes
		{specs.Mount{Type: "sysfs", Options: []string{"nosuid"}}, false},        // not proc
		{specs.Mount{Type: "proc", Options: []string{"tmpcopyup"}}, false},      // a copy
		{specs.Mount{Type: "proc", Options: []string{"dirsync"}}, false},        // a superblock flag
		{specs.Mount{Type: "proc", Options: []string{"mand", "nosuid"}}, false}, // a superblock flag
	} {
		if got := ProcMountFromContext(c.m); got != c.want {
			t.Errorf("ProcMountFromContext(%s %v) = %v, want %v", c.m.Type, c.m.Options, got, c.want)
		}
	}
}

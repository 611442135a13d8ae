package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/spec"
)

// rootlessSpec is what `nook spec --rootless` writes for uid/gid 1000.
func rootlessSpec() *specs.Spec {
	s := spec.Default(true)
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	return s
}

var user1000 = callerIDs{uid: 1000, gid: 1000}

func TestCheckRootlessAcceptsDefault(t *testing.T) {
	if err := checkRootless(rootlessSpec(), user1000); err != nil {
		t.Fatalf("nook spec --rootless refused: %v", err)
	}
}

func TestCheckRootlessRefusals(t *testing.T) {
	adj := -10
	for want, mod := range map[string]func(*specs.Spec){
		"linux.namespaces: nook runs as uid 1000": func(s *specs.Spec) {
			s.Linux.Namespaces = s.Linux.Namespaces[:len(s.Linux.Namespaces)-1]
		},
		"linux.uidMappings: a rootless container's new user namespace needs a mapping": func(s *specs.Spec) { s.Linux.UIDMappings = nil },
		"linux.gidMappings: a rootless container's new user namespace needs a mapping": func(s *specs.Spec) { s.Linux.GIDMappings = nil },
		"mounts[2] (/dev/pts): option gid=5 names an id that linux.gidMappings does not map": func(s *specs.Spec) {
			s.Mounts[2].Options = append(s.Mounts[2].Options, "gid=5")
		},
		"process.user.additionalGids [10]: nook (uid 1000) maps only its own gid 1000": func(s *specs.Spec) {
			s.Process.User.AdditionalGids = []uint32{10}
		},
		"process.ioPriority: class IOPRIO_CLASS_RT needs CAP_SYS_ADMIN": func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT}
		},
		"process.scheduler: policy SCHED_DEADLINE needs CAP_SYS_NICE": func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline}
		},
		"mounts[7] (/mnt): an idmapped mount needs CAP_SYS_ADMIN": func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "idmap"}})
		},
		"linux.netDevices: moving a host network device": func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth9": {}}
		},
	} {
		s := rootlessSpec()
		s.Process.OOMScoreAdj = &adj // refused by stage 0, not here
		mod(s)
		err := checkRootless(s, user1000)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %v, want prefix %q", err, want)
		}
	}
}

// With gids mapped through newgidmap, gid=5 and supplementary groups are
// fine; a joined user namespace needs no mapping of its own.
func TestCheckRootlessWithSubIDs(t *testing.T) {
	s := rootlessSpec()
	s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: 100000, Size: 65536})
	s.Mounts[2].Options = append(s.Mounts[2].Options, "gid=5")
	s.Process.User.AdditionalGids = []uint32{5, 10}
	if err := checkRootless(s, user1000); err != nil {
		t.Errorf("multi-range gid map refused: %v", err)
	}
	s = rootlessSpec()
	s.Linux.Namespaces[len(s.Linux.Namespaces)-1].Path = "/proc/1/ns/user"
	s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
	if err := checkRootless(s, user1000); err != nil {
		t.Errorf("joined user namespace refused: %v", err)
	}
}

func TestOwnIDOnly(t *testing.T) {
	for _, c := range []struct {
		m    []specs.LinuxIDMapping
		want bool
	}{
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, true},
		{[]specs.LinuxIDMapping{{ContainerID: 1000, HostID: 1000, Size: 1}}, true},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2}}, false},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}}, false},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 10}}, false},
	} {
		if got := ownIDOnly(c.m, 1000); got != c.want {
			t.Errorf("ownIDOnly(%v) = %v, want %v", c.m, got, c.want)
		}
	}
}

func TestSubIDRangesAndHint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subuid")
	content := "alice:100000:65536\nbob:165536:65536\n1000:300000:10\nbroken line\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := subIDRanges(path, "alice", "1000")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (idRange{100000, 65536}) || got[1] != (idRange{300000, 10}) {
		t.Errorf("ranges = %v", got)
	}
	if !covered(got, specs.LinuxIDMapping{ContainerID: 1, HostID: 100000, Size: 65536}) {
		t.Error("the whole range is not covered")
	}
	if covered(got, specs.LinuxIDMapping{ContainerID: 1, HostID: 100001, Size: 65536}) {
		t.Error("a range one past the end is covered")
	}
	k := idKind{field: "linux.uidMappings", subids: path, own: 1000}
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 5}}
	hint := k.rangeHintFor(m, []string{"alice", "1000"})
	for _, want := range []string{"linux.uidMappings[1]", "200000-200004", "alice's ranges in " + path, "100000-165535, 300000-300009"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q does not mention %q", hint, want)
		}
	}
	if hint := k.rangeHintFor(m[:1], []string{"alice"}); hint != "" {
		t.Errorf("own id alone: hint = %q", hint)
	}
}

// A multi-range mapping without newuidmap in PATH names the helper and
// its package.
func TestHelperMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := uidKind().runHelper(1, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}})
	if err == nil || !strings.Contains(err.Error(), "needs newuidmap (package uidmap)") || !strings.HasPrefix(err.Error(), "linux.uidMappings") {
		t.Errorf("error = %v", err)
	}
}

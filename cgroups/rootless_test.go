package cgroups

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hybridFake is a hybrid host in a temp dir: v1 pids and memory, and a
// cgroup2 hierarchy offering pids, whose cgroup "deleg" stands for a
// subtree delegated to the caller, who runs in deleg/shell.
func hybridFake(t *testing.T) (fakeTree, layout, func() (map[string]string, error)) {
	f := newFakeTree(t)
	f.dir("pids", files("pids.max", "cgroup.procs"))
	f.dir("memory", files("memory.limit_in_bytes", "cgroup.procs"))
	f.dir("unified", map[string]string{"cgroup.controllers": "pids", "cgroup.procs": "", "cgroup.subtree_control": ""})
	f.dir("unified/deleg", map[string]string{"cgroup.controllers": "pids", "cgroup.procs": "", "cgroup.subtree_control": ""})
	f.dir("unified/deleg/shell", map[string]string{"cgroup.controllers": "", "cgroup.procs": ""})
	l := layout{mode: ModeHybrid, v1: map[string]hierarchy{
		"pids":   {mountpoint: filepath.Join(f.root, "pids"), root: "/"},
		"memory": {mountpoint: filepath.Join(f.root, "memory"), root: "/"},
	}, unified: &hierarchy{mountpoint: filepath.Join(f.root, "unified"), root: "/"}}
	own := func() (map[string]string, error) {
		return map[string]string{"pids": "/", "memory": "/", "": "/deleg/shell"}, nil
	}
	return f, l, own
}

// onlyUnder grants access to paths inside dir alone, as the kernel would to
// a user owning dir.
func onlyUnder(dir string) accessFunc {
	return func(p string, _ uint32) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
}

// A relative path (what an unprivileged nook passes for a config without
// one) is under the parent of the caller's cgroup2 cgroup, so a delegated
// subtree holds it; Rootless itself changes no path.
func TestRootlessRelativePath(t *testing.T) {
	f, l, own := hybridFake(t)
	m, err := newManager(Config{Name: "c1", Path: "c1", Rootless: true}, l, own)
	if err != nil {
		t.Fatal(err)
	}
	// As root every hierarchy is writable: all are kept.
	if got, want := m.State().Paths[""], filepath.Join(f.root, "unified/deleg/c1"); got != want {
		t.Errorf("cgroup2 path = %q, want %q", got, want)
	}
	if got, want := m.State().Paths["pids"], filepath.Join(f.root, "pids/c1"); got != want {
		t.Errorf("v1 pids path = %q, want %q", got, want)
	}
	if !m.State().Rootless {
		t.Error("State().Rootless is false")
	}
	m, err = newManager(Config{Name: "c1", Rootless: true}, l, own)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.State().Paths[""], filepath.Join(f.root, "unified/nook/c1"); got != want {
		t.Errorf("default cgroup2 path with Rootless = %q, want %q", got, want)
	}
}

// Only the delegated cgroup2 subtree is usable: the v1 hierarchies are
// left out, and a config without limits needs nothing else.
func TestRootlessKeepsOnlyDelegated(t *testing.T) {
	f, l, own := hybridFake(t)
	m, err := newManager(Config{Name: "c1", Path: "c1", Rootless: true}, l, own)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.keepAccessible(nil, filepath.Join(f.root, "unified/deleg/shell"), onlyUnder(filepath.Join(f.root, "unified/deleg"))); err != nil {
		t.Fatal(err)
	}
	got := m.State().Paths
	if len(got) != 1 || got[""] != filepath.Join(f.root, "unified/deleg/c1") {
		t.Errorf("paths = %v, want only the delegated cgroup2 one", got)
	}
}

// Without any writable hierarchy a config without limits gets no cgroup;
// one with a limit fails naming the field, the cgroup and what it needs.
func TestRootlessLimitsNeedAccess(t *testing.T) {
	f, l, own := hybridFake(t)
	deny := func(string, uint32) bool { return false }
	m, err := newManager(Config{Name: "c1", Path: "c1", Rootless: true}, l, own)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.keepAccessible(nil, filepath.Join(f.root, "unified/deleg/shell"), deny); err != nil {
		t.Fatalf("no limits: %v", err)
	}
	if len(m.State().Paths) != 0 {
		t.Errorf("paths = %v, want none", m.State().Paths)
	}

	limit := int64(100)
	r := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
	m, err = newManager(Config{Name: "c1", Path: "c1", Rootless: true, Resources: r}, l, own)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := m.plan(r)
	if err != nil {
		t.Fatal(err)
	}
	err = m.keepAccessible(ops, filepath.Join(f.root, "unified/deleg/shell"), deny)
	for _, want := range []string{"linux.resources.pids", filepath.Join(f.root, "pids/c1"), "not writable", "delegated to its user"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to mention %q", err, want)
		}
	}
}

// A cgroup2 directory the user may create is not enough: moving a process
// in needs cgroup.procs of the common ancestor with the caller's cgroup.
func TestRootlessNeedsCommonAncestor(t *testing.T) {
	f, _, _ := hybridFake(t)
	deleg := filepath.Join(f.root, "unified/deleg")
	access := onlyUnder(filepath.Join(deleg, "sub"))
	f.dir("unified/deleg/sub", map[string]string{"cgroup.procs": ""})
	why := inaccessible(filepath.Join(deleg, "sub/c1"), true, filepath.Join(deleg, "shell"), access)
	if !strings.Contains(why, filepath.Join(deleg, "cgroup.procs")) {
		t.Errorf("why = %q, want it to name %s", why, filepath.Join(deleg, "cgroup.procs"))
	}
	if why := inaccessible(filepath.Join(deleg, "sub/c1"), true, filepath.Join(deleg, "sub/shell"), access); why != "" {
		t.Errorf("caller inside the subtree: why = %q, want usable", why)
	}
}

func TestCommonAncestor(t *testing.T) {
	for _, c := range [][3]string{
		{"/a/b/c", "/a/b/d", "/a/b"},
		{"/a/b", "/a/b/c", "/a/b"},
		{"/a", "/b", "/"},
		{"/a/bc", "/a/b", "/a"},
	} {
		if got := commonAncestor(c[0], c[1]); got != c[2] {
			t.Errorf("commonAncestor(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// A loaded rootless manager (nook update) says why a controller it left
// out cannot take a limit, rather than that the host lacks it.
func TestRootlessLoadedLimitError(t *testing.T) {
	f, _, _ := hybridFake(t)
	m, err := Load(State{Driver: DriverCgroupfs, Mode: ModeHybrid, Rootless: true,
		Paths: map[string]string{"": filepath.Join(f.root, "unified/deleg/c1")}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.State().Rootless {
		t.Error("Load drops Rootless")
	}
	limit := int64(5 << 20)
	err = m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})
	if err == nil || !strings.Contains(err.Error(), "rootless") || !strings.HasPrefix(err.Error(), "linux.resources.memory") {
		t.Errorf("error = %v, want a rootless error for linux.resources.memory", err)
	}
}

package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTree is a cgroupfs look-alike in a temporary directory: directories
// with the control files a kernel would show, which the tests create
// (a plain file system does not populate new directories the way cgroupfs
// does, so the container's directories are made up front too).
type fakeTree struct {
	t    *testing.T
	root string
}

func newFakeTree(t *testing.T) fakeTree {
	return fakeTree{t: t, root: t.TempDir()}
}

// dir makes root/rel with files (name → content) and returns its path.
func (f fakeTree) dir(rel string, files map[string]string) string {
	f.t.Helper()
	d := filepath.Join(f.root, rel)
	if err := os.MkdirAll(d, 0o755); err != nil {
		f.t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	return d
}

// files makes a file set with empty contents.
func files(names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = ""
	}
	return m
}

func read(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func expectFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	for f, v := range want {
		if got := read(t, dir, f); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}

func fakeManager(mode string, paths map[string]string) *fsManager {
	return &fsManager{st: State{Driver: DriverCgroupfs, Mode: mode, Paths: paths}}
}

func p64(v int64) *int64    { return &v }
func pu64(v uint64) *uint64 { return &v }
func pu16(v uint16) *uint16 { return &v }
func pu32(v uint32) *uint32 { return &v }
func pbool(v bool) *bool    { return &v }

// v1Files are the control files the v1 tests need, per controller.
var v1Files = map[string][]string{
	"memory": {"cgroup.procs", "memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes",
		"memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes", "memory.swappiness", "memory.oom_control",
		"memory.use_hierarchy", "memory.usage_in_bytes"},
	"cpu":     {"cgroup.procs", "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"},
	"cpuset":  {"cgroup.procs", "cpuset.cpus", "cpuset.mems"},
	"pids":    {"cgroup.procs", "pids.max"},
	"blkio":   {"cgroup.procs", "blkio.bfq.weight", "blkio.bfq.weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"},
	"freezer": {"cgroup.procs", "freezer.state"},
}

// fakeHybrid builds a hybrid host: v1 controllers (root and container
// directory /c) and a cgroup2 hierarchy offering unifiedCtrls.
func fakeHybrid(t *testing.T, unifiedCtrls string) (fakeTree, *fsManager) {
	f := newFakeTree(t)
	paths := map[string]string{}
	for c, names := range v1Files {
		root := f.dir(c, files(names...))
		paths[c] = f.dir(c+"/c", files(names...))
		if c == "cpuset" {
			expectWrite(t, root, "cpuset.effective_cpus", "0-3")
			expectWrite(t, root, "cpuset.effective_mems", "0")
		}
	}
	f.dir("unified", map[string]string{"cgroup.controllers": unifiedCtrls, "cgroup.subtree_control": unifiedCtrls})
	paths[""] = f.dir("unified/c", map[string]string{"cgroup.controllers": unifiedCtrls, "cgroup.procs": "", "cgroup.freeze": "", "cgroup.events": "populated 0\nfrozen 0\n"})
	return f, fakeManager(ModeHybrid, paths)
}

// fakeV2 builds a v2 host whose container directory /c has ctrls.
func fakeV2(t *testing.T, ctrls string, fileNames ...string) (fakeTree, *fsManager) {
	f := newFakeTree(t)
	f.dir("", map[string]string{"cgroup.controllers": ctrls, "cgroup.subtree_control": ctrls,
		"cpuset.cpus.effective": "0-1", "cpuset.mems.effective": "0"})
	fs := files(fileNames...)
	fs["cgroup.controllers"] = ctrls
	fs["cgroup.procs"] = ""
	d := f.dir("c", fs)
	return f, fakeManager(ModeV2, map[string]string{"": d})
}

func expectWrite(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hostPageSize(t *testing.T) string {
	t.Helper()
	sizes, err := hugePageSizes()
	if err != nil || len(sizes) == 0 {
		t.Skip("this machine has no huge page sizes (/sys/kernel/mm/hugepages)")
	}
	return sizes[0]
}

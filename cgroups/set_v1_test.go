package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSetV1Memory(t *testing.T) {
	_, m := fakeHybrid(t, "hugetlb")
	d := m.st.Paths["memory"]
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{
		Limit: p64(64 << 20), Reservation: p64(32 << 20), Swap: p64(128 << 20),
		Kernel: p64(1 << 20), KernelTCP: p64(2 << 20), Swappiness: pu64(10),
		DisableOOMKiller: pbool(true), UseHierarchy: pbool(true),
	}}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{
		"memory.limit_in_bytes": "67108864", "memory.soft_limit_in_bytes": "33554432",
		"memory.memsw.limit_in_bytes": "134217728", "memory.kmem.tcp.limit_in_bytes": "2097152",
		"memory.swappiness": "10", "memory.oom_control": "1", "memory.use_hierarchy": "1",
		// Kernel memory is ignored (deprecated, unenforced since 5.4).
		"memory.kmem.limit_in_bytes": "",
	})

	// Unlimited memory makes memory+swap unlimited too.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(-1)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"memory.limit_in_bytes": "-1", "memory.memsw.limit_in_bytes": "-1"})
}

func TestPlanV1MemorySwapOrder(t *testing.T) {
	_, m := fakeHybrid(t, "")
	d := m.st.Paths["memory"]
	order := func(cur string, limit, swap int64) string {
		expectWrite(t, d, "memory.limit_in_bytes", cur)
		ops, err := m.plan(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(limit), Swap: p64(swap)}})
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, o := range ops {
			files = append(files, o.file)
		}
		return strings.Join(files, ",")
	}
	// Growing: memsw must rise first; shrinking: the limit must drop first.
	if got := order("100", 200, 300); got != "memory.memsw.limit_in_bytes,memory.limit_in_bytes" {
		t.Errorf("growing: order %s", got)
	}
	if got := order("1000", 200, 300); got != "memory.limit_in_bytes,memory.memsw.limit_in_bytes" {
		t.Errorf("shrinking: order %s", got)
	}
}

func TestSetV1SwapWithoutAccounting(t *testing.T) {
	_, m := fakeHybrid(t, "")
	d := m.st.Paths["memory"]
	os.Remove(filepath.Join(d, "memory.memsw.limit_in_bytes"))
	os.Remove(filepath.Join(filepath.Dir(d), "memory.memsw.limit_in_bytes"))
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(100 << 20), Swap: p64(200 << 20)}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.swap: swap accounting is off") {
		t.Fatalf("error = %v", err)
	}
	if got := read(t, d, "memory.limit_in_bytes"); got != "" {
		t.Errorf("memory.limit_in_bytes = %q after a refused Set", got)
	}
	// Unlimited swap without swap accounting is what the host does anyway.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(100 << 20), Swap: p64(-1)}}); err != nil {
		t.Fatal(err)
	}
}

func TestSetV1CheckBeforeUpdate(t *testing.T) {
	_, m := fakeHybrid(t, "")
	d := m.st.Paths["memory"]
	expectWrite(t, d, "memory.usage_in_bytes", "5000000")
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(4000000), CheckBeforeUpdate: pbool(true)}})
	if err == nil || !strings.Contains(err.Error(), "below the current usage 5000000") {
		t.Fatalf("error = %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(6000000), CheckBeforeUpdate: pbool(true)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"memory.limit_in_bytes": "6000000"})
}

func TestSetV1CPU(t *testing.T) {
	_, m := fakeHybrid(t, "")
	d := m.st.Paths["cpu"]
	r := &specs.LinuxResources{CPU: &specs.LinuxCPU{
		Shares: pu64(512), Quota: p64(50000), Period: pu64(100000), Burst: pu64(10000),
		RealtimeRuntime: p64(5000), RealtimePeriod: pu64(10000), Idle: p64(1), Cpus: "1-2", Mems: "0",
	}}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{
		"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.cfs_burst_us": "10000",
		"cpu.rt_runtime_us": "5000", "cpu.rt_period_us": "10000", "cpu.idle": "1",
	})
	expectFiles(t, m.st.Paths["cpuset"], map[string]string{"cpuset.cpus": "1-2", "cpuset.mems": "0"})

	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: p64(-1)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"cpu.cfs_quota_us": "-1"})
}

func TestSetV1PidsBlkio(t *testing.T) {
	_, m := fakeHybrid(t, "")
	for limit, want := range map[int64]string{-1: "max", 0: "0", 42: "42"} {
		if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p64(limit)}}); err != nil {
			t.Fatal(err)
		}
		expectFiles(t, m.st.Paths["pids"], map[string]string{"pids.max": want})
	}

	dev := specs.LinuxBlockIODevice{Major: 8, Minor: 0}
	r := &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		Weight:                  pu16(300),
		WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev, Weight: pu16(500)}},
		ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 1000}},
		ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 2000}},
		ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 30}},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 40}},
	}}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	// This fake kernel has BFQ only (as the development machine).
	expectFiles(t, m.st.Paths["blkio"], map[string]string{
		"blkio.bfq.weight": "300", "blkio.bfq.weight_device": "8:0 500",
		"blkio.throttle.read_bps_device": "8:0 1000", "blkio.throttle.write_bps_device": "8:0 2000",
		"blkio.throttle.read_iops_device": "8:0 30", "blkio.throttle.write_iops_device": "8:0 40",
	})
	// No CFQ: a leaf weight cannot be honoured.
	err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: pu16(300)}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.blockIO.leafWeight") {
		t.Errorf("leafWeight without CFQ: error = %v", err)
	}
}

func TestSetHybridHugetlbOnCgroup2(t *testing.T) {
	ps := hostPageSize(t)
	f, m := fakeHybrid(t, "hugetlb")
	u := m.unified()
	expectWrite(t, u, "hugetlb."+ps+".max", "")
	expectWrite(t, u, "hugetlb."+ps+".rsvd.max", "")
	_ = f
	if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: ps, Limit: 8 << 20}}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, u, map[string]string{"hugetlb." + ps + ".max": "8388608", "hugetlb." + ps + ".rsvd.max": "8388608"})

	// The same on a host whose hugetlb is a v1 controller.
	hd := f.dir("hugetlb/c", files("hugetlb."+ps+".limit_in_bytes"))
	m.st.Paths["hugetlb"] = hd
	if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: ps, Limit: 4 << 20}}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, hd, map[string]string{"hugetlb." + ps + ".limit_in_bytes": "4194304"})

	err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}})
	if err == nil || !strings.Contains(err.Error(), `linux.resources.hugepageLimits[0].pageSize: "3MB" is not a huge page size of this host`) {
		t.Errorf("3MB pages: error = %v", err)
	}
}

func TestSetV1Network(t *testing.T) {
	f, m := fakeHybrid(t, "")
	r := &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: pu32(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}}}
	m.st.Paths["net_cls"] = f.dir("net_cls/c", files("net_cls.classid"))
	m.st.Paths["net_prio"] = f.dir("net_prio/c", files("net_prio.ifpriomap"))
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, m.st.Paths["net_cls"], map[string]string{"net_cls.classid": "1048577"})
	expectFiles(t, m.st.Paths["net_prio"], map[string]string{"net_prio.ifpriomap": "eth0 5"})
	r.Network.Priorities[0].Name = "bad name"
	if err := m.Set(r); err == nil || !strings.Contains(err.Error(), "linux.resources.network.priorities[0].name") {
		t.Errorf("bad interface name: error = %v", err)
	}
}

// On a v1 or hybrid host without net_cls or net_prio, a value that needs
// the missing controller is refused, naming the field, before anything is
// written (runc's cgroupfs driver refuses it too); what needs no
// controller (class 0, no priorities) passes.
func TestSetV1NetworkControllerNotMounted(t *testing.T) {
	for _, mode := range []string{ModeHybrid, ModeV1} {
		f, m := fakeHybrid(t, "")
		m.st.Mode = mode
		memLimit := filepath.Join(m.st.Paths["memory"], "memory.limit_in_bytes")
		for want, n := range map[string]*specs.LinuxNetwork{
			"linux.resources.network.classID: the net_cls cgroup controller is not mounted on this host":     {ClassID: pu32(0x100001)},
			"linux.resources.network.priorities: the net_prio cgroup controller is not mounted on this host": {Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
		} {
			r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1 << 30)}, Network: n}
			if err := m.Set(r); err == nil || err.Error() != want {
				t.Errorf("%s: error = %v, want %q", mode, err, want)
			}
			if b, _ := os.ReadFile(memLimit); len(b) != 0 {
				t.Errorf("%s: a refused Set wrote memory.limit_in_bytes = %q", mode, b)
			}
			// New plans the same way: create refuses before any cgroup exists.
			if _, err := m.plan(r); err == nil || err.Error() != want {
				t.Errorf("%s: plan error = %v, want %q", mode, err, want)
			}
		}
		// Only net_prio mounted: the class still needs net_cls.
		m.st.Paths["net_prio"] = f.dir("net_prio/c", files("net_prio.ifpriomap"))
		if err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: pu32(7)}}); err == nil || !strings.HasPrefix(err.Error(), "linux.resources.network.classID: the net_cls") {
			t.Errorf("%s: net_prio only, a class: error = %v", mode, err)
		}
		delete(m.st.Paths, "net_prio")
		if err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: pu32(0), Priorities: []specs.LinuxInterfacePriority{}}}); err != nil {
			t.Errorf("%s: class 0 and no priorities need no controller: %v", mode, err)
		}
	}
}

func TestSetUnifiedOnV1AndHybrid(t *testing.T) {
	ps := hostPageSize(t)
	_, m := fakeHybrid(t, "hugetlb")
	expectWrite(t, m.unified(), "hugetlb."+ps+".max", "")
	if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"hugetlb." + ps + ".max": "2097152"}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, m.unified(), map[string]string{"hugetlb." + ps + ".max": "2097152"})
	err := m.Set(&specs.LinuxResources{Unified: map[string]string{"memory.max": "1000"}})
	if err == nil || !strings.Contains(err.Error(), `linux.resources.unified["memory.max"]: the memory controller is not available in the cgroup2 hierarchy`) ||
		!strings.Contains(err.Error(), "runs as cgroup v1") {
		t.Errorf("v1 controller through unified: error = %v", err)
	}

	v1 := fakeManager(ModeV1, map[string]string{"memory": m.st.Paths["memory"]})
	err = v1.Set(&specs.LinuxResources{Unified: map[string]string{"memory.max": "1000"}})
	if err == nil || err.Error() != "linux.resources.unified: cgroup v2 keys cannot be set on a cgroup v1 host" {
		t.Errorf("unified on v1: error = %v", err)
	}
}

func TestFillCpuset(t *testing.T) {
	f := newFakeTree(t)
	f.dir("cpuset", map[string]string{"cpuset.cpus": "0-1\n", "cpuset.mems": "0\n"})
	f.dir("cpuset/a", files("cpuset.cpus", "cpuset.mems"))
	d := f.dir("cpuset/a/b", files("cpuset.cpus", "cpuset.mems"))
	if err := fillCpuset(d); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Dir(d), d} {
		expectFiles(t, dir, map[string]string{"cpuset.cpus": "0-1", "cpuset.mems": "0"})
	}
}

func TestEnableControllers(t *testing.T) {
	f := newFakeTree(t)
	d := f.dir("u", map[string]string{"cgroup.controllers": "cpu memory hugetlb", "cgroup.subtree_control": "memory"})
	enableControllers(d)
	expectFiles(t, d, map[string]string{"cgroup.subtree_control": "+cpu +hugetlb"})
}

func TestApplyFailureRemovesWhatItMade(t *testing.T) {
	// A plain directory has no cgroup.procs, so the pid write fails:
	// the directories Apply made must be gone again, the others kept.
	f := newFakeTree(t)
	f.dir("memory", nil)
	f.dir("pids/existing", nil)
	m := fakeManager(ModeV1, map[string]string{
		"memory": filepath.Join(f.root, "memory/a/b"),
		"pids":   filepath.Join(f.root, "pids/existing/c"),
	})
	if err := m.Apply(os.Getpid()); err == nil {
		t.Fatal("Apply into directories without cgroup.procs succeeded")
	}
	for _, gone := range []string{"memory/a", "pids/existing/c"} {
		if _, err := os.Stat(filepath.Join(f.root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is left behind (%v)", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.root, "pids/existing")); err != nil {
		t.Errorf("pre-existing directory removed: %v", err)
	}
}

func TestFreezeV1Fake(t *testing.T) {
	// A plain file reads back what was written, as a freezer that
	// freezes at once.
	_, m := fakeHybrid(t, "")
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if fr, err := m.Frozen(); err != nil || !fr {
		t.Errorf("Frozen() = %v, %v after Freeze", fr, err)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if fr, err := m.Frozen(); err != nil || fr {
		t.Errorf("Frozen() = %v, %v after Thaw", fr, err)
	}
}

func TestPidsRecursiveFake(t *testing.T) {
	f, m := fakeHybrid(t, "")
	fd := m.st.Paths["freezer"]
	expectWrite(t, fd, "cgroup.procs", "10\n11\n")
	f.dir("freezer/c/sub", map[string]string{"cgroup.procs": "12\n"})
	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 3 || pids[0] != 10 || pids[1] != 11 || pids[2] != 12 {
		t.Errorf("Pids() = %v, want [10 11 12]", pids)
	}
}

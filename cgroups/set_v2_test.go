package cgroups

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1024: 100, 262144: 10000, 512: 59, 2048: 174} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	for w, want := range map[uint16]uint64{10: 1, 1000: 10000, 500: 4950} {
		if got := blkioToIOWeight(w); got != want {
			t.Errorf("blkioToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestSetV2Memory(t *testing.T) {
	_, m := fakeV2(t, "cpu memory pids io", "memory.max", "memory.low", "memory.swap.max", "memory.current")
	d := m.unified()
	for _, c := range []struct {
		limit, swap, reservation int64
		want                     map[string]string
	}{
		// OCI swap is memory+swap; memory.swap.max is swap alone.
		{64 << 20, 96 << 20, 32 << 20, map[string]string{"memory.max": "67108864", "memory.swap.max": "33554432", "memory.low": "33554432"}},
		{64 << 20, 64 << 20, 0, map[string]string{"memory.max": "67108864", "memory.swap.max": "0"}},
		{64 << 20, -1, -1, map[string]string{"memory.max": "67108864", "memory.swap.max": "max", "memory.low": "max"}},
		{-1, 0, 0, map[string]string{"memory.max": "max", "memory.swap.max": "max"}},
	} {
		mem := &specs.LinuxMemory{Limit: p64(c.limit), Swap: p64(c.swap), Reservation: p64(c.reservation),
			// No cgroup2 counterpart: ignored.
			Swappiness: pu64(60), DisableOOMKiller: pbool(true), KernelTCP: p64(1 << 20), Kernel: p64(1 << 20)}
		if err := m.Set(&specs.LinuxResources{Memory: mem}); err != nil {
			t.Fatalf("limit %d swap %d: %v", c.limit, c.swap, err)
		}
		expectFiles(t, d, c.want)
	}
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: p64(100)}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.swap: 100 needs linux.resources.memory.limit") {
		t.Errorf("swap without limit: error = %v", err)
	}
	// A kernel without swap: "max" and "0" are what it does anyway.
	os.Remove(filepath.Join(d, "memory.swap.max"))
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1 << 20), Swap: p64(-1)}}); err != nil {
		t.Errorf("swap max without memory.swap.max: %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1 << 20), Swap: p64(2 << 20)}}); err == nil {
		t.Error("a real swap limit without memory.swap.max was accepted")
	}
}

func TestSetV2CPU(t *testing.T) {
	_, m := fakeV2(t, "cpu cpuset", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems")
	d := m.unified()
	r := &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: pu64(1024), Quota: p64(50000), Period: pu64(100000), Burst: pu64(1000), Idle: p64(0), Cpus: "1", Mems: "0"}}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"cpu.weight": "100", "cpu.max": "50000 100000", "cpu.max.burst": "1000", "cpu.idle": "0", "cpuset.cpus": "1", "cpuset.mems": "0"})

	// A period alone keeps the quota in force.
	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: pu64(200000)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"cpu.max": "50000 200000"})
	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: p64(-1)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"cpu.max": "max"})

	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: p64(1000)}})
	if err == nil || !strings.Contains(err.Error(), "not supported on cgroup v2") {
		t.Errorf("realtime on v2: error = %v", err)
	}
	err = m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-7"}})
	if err == nil || !strings.Contains(err.Error(), `linux.resources.cpu.cpus: "0-7" is outside the available cpus "0-1"`) {
		t.Errorf("cpus outside the host: error = %v", err)
	}
}

func TestSetV2IOAndPids(t *testing.T) {
	_, m := fakeV2(t, "io pids", "io.weight", "io.max", "pids.max")
	d := m.unified()
	dev := specs.LinuxBlockIODevice{Major: 8, Minor: 16}
	r := &specs.LinuxResources{
		Pids: &specs.LinuxPids{Limit: p64(-1)},
		BlockIO: &specs.LinuxBlockIO{
			Weight: pu16(500), LeafWeight: pu16(500), // leafWeight: CFQ only, ignored on v2
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 0}},
		},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	// No BFQ: io.weight on its own scale; a rate of 0 is no limit.
	expectFiles(t, d, map[string]string{"io.weight": "4950", "io.max": "8:16 rbps=max", "pids.max": "max"})

	expectWrite(t, d, "io.bfq.weight", "")
	r.BlockIO.ThrottleReadBpsDevice = []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 1 << 20}}
	r.BlockIO.WeightDevice = []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev, Weight: pu16(200)}}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"io.bfq.weight": "8:16 200", "io.max": "8:16 rbps=1048576"})
}

func TestSetV2UnifiedAndRdma(t *testing.T) {
	_, m := fakeV2(t, "memory rdma", "memory.high", "rdma.max")
	d := m.unified()
	if err := m.Set(&specs.LinuxResources{
		Unified: map[string]string{"memory.high": "1000000"},
		Rdma:    map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: pu32(3), HcaObjects: pu32(100)}},
	}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, d, map[string]string{"memory.high": "1000000", "rdma.max": "mlx5_0 hca_handle=3 hca_object=100"})

	os.Mkdir(filepath.Join(d, "memory.sub"), 0o755)
	for key, want := range map[string]string{
		"../memory.high":   "not a cgroup2 file name",
		"memory":           "not a cgroup2 file name",
		"memory.nosuch":    "is not a file of the container's cgroup",
		"memory.sub":       "is not a file of the container's cgroup",
		"cgroup.procs":     "not a resource",
		"cgroup.kill":      "not a resource",
		"hugetlb.2MB.max":  "the hugetlb controller is not available",
		"memory.high/../x": "not a cgroup2 file name",
	} {
		err := m.Set(&specs.LinuxResources{Unified: map[string]string{key: "1"}})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "linux.resources.unified[") {
			t.Errorf("unified key %q: error = %v, want %q", key, err, want)
		}
	}
}

func TestSetV2MissingControllers(t *testing.T) {
	// Only hugetlb, as on the development machine's cgroup2 hierarchy.
	_, m := fakeV2(t, "hugetlb")
	for name, r := range map[string]*specs.LinuxResources{
		"linux.resources.memory: the memory controller is not available": {Memory: &specs.LinuxMemory{Limit: p64(1 << 20)}},
		"linux.resources.pids: the pids controller is not available":     {Pids: &specs.LinuxPids{Limit: p64(10)}},
		"linux.resources.cpu: the cpu controller is not available":       {CPU: &specs.LinuxCPU{Shares: pu64(100)}},
		"linux.resources.rdma: the rdma controller is not available":     {Rdma: map[string]specs.LinuxRdma{"x": {HcaHandles: pu32(1)}}},
	} {
		err := m.Set(r)
		if err == nil || !strings.HasPrefix(err.Error(), name) || !strings.Contains(err.Error(), "offers only hugetlb") {
			t.Errorf("error = %v, want it to start with %q", err, name)
		}
	}
	// Empty groups and v1-only features need no controller.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{},
		Network: &specs.LinuxNetwork{ClassID: pu32(1)}}); err != nil {
		t.Errorf("nothing to write: %v", err)
	}
}

func TestValidationErrors(t *testing.T) {
	_, m := fakeHybrid(t, "hugetlb")
	for want, r := range map[string]*specs.LinuxResources{
		"linux.resources.memory.limit: -5 is not a valid limit (use -1 for unlimited)":                        {Memory: &specs.LinuxMemory{Limit: p64(-5)}},
		"linux.resources.memory.reservation: -2 is not a valid limit":                                         {Memory: &specs.LinuxMemory{Reservation: p64(-2)}},
		"linux.resources.memory.swap: 100 is below linux.resources.memory.limit 200":                          {Memory: &specs.LinuxMemory{Limit: p64(200), Swap: p64(100)}},
		"linux.resources.memory.swap: 300 cannot be set with an unlimited memory limit":                       {Memory: &specs.LinuxMemory{Limit: p64(-1), Swap: p64(300)}},
		"linux.resources.memory.swappiness: 101 is out of range (0-100)":                                      {Memory: &specs.LinuxMemory{Swappiness: pu64(101)}},
		"linux.resources.cpu.shares: 1 is out of range (2-262144)":                                            {CPU: &specs.LinuxCPU{Shares: pu64(1)}},
		"linux.resources.cpu.shares: 300000 is out of range":                                                  {CPU: &specs.LinuxCPU{Shares: pu64(300000)}},
		"linux.resources.cpu.quota: -2 is not a valid quota":                                                  {CPU: &specs.LinuxCPU{Quota: p64(-2)}},
		"linux.resources.cpu.quota: 10 is not a valid quota":                                                  {CPU: &specs.LinuxCPU{Quota: p64(10)}},
		"linux.resources.cpu.period: 10 is out of range (1000-1000000 µs)":                                    {CPU: &specs.LinuxCPU{Period: pu64(10)}},
		"linux.resources.cpu.burst: 60000 is above linux.resources.cpu.quota 50000":                           {CPU: &specs.LinuxCPU{Quota: p64(50000), Burst: pu64(60000)}},
		"linux.resources.cpu.idle: 2 is not valid (0 or 1)":                                                   {CPU: &specs.LinuxCPU{Idle: p64(2)}},
		"linux.resources.cpu.realtimeRuntime: 2000 is above linux.resources.cpu.realtimePeriod 1000":          {CPU: &specs.LinuxCPU{RealtimeRuntime: p64(2000), RealtimePeriod: pu64(1000)}},
		`linux.resources.cpu.cpus: "0-1000" is outside the available cpus "0-3"`:                              {CPU: &specs.LinuxCPU{Cpus: "0-1000"}},
		`linux.resources.cpu.cpus: "3-1" is not a cpu list`:                                                   {CPU: &specs.LinuxCPU{Cpus: "3-1"}},
		`linux.resources.cpu.mems: "a" is not a cpu list`:                                                     {CPU: &specs.LinuxCPU{Mems: "a"}},
		`linux.resources.cpu.mems: "1" is outside the available mems "0"`:                                     {CPU: &specs.LinuxCPU{Mems: "1"}},
		"linux.resources.pids.limit: -2 is not a valid limit (use -1 for unlimited)":                          {Pids: &specs.LinuxPids{Limit: p64(-2)}},
		"linux.resources.blockIO.weight: 5 is out of range (10-1000)":                                         {BlockIO: &specs.LinuxBlockIO{Weight: pu16(5)}},
		"linux.resources.blockIO.weightDevice[0].weight: 2000 is out of range":                                {BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{Weight: pu16(2000)}}}},
		"linux.resources.blockIO.throttleWriteIOPSDevice[0]: device -1:0 is not valid":                        {BlockIO: &specs.LinuxBlockIO{ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1}}}}},
		`linux.resources.rdma: "bad dev" is not an RDMA device name`:                                          {Rdma: map[string]specs.LinuxRdma{"bad dev": {}}},
		"linux.resources.rdma: the rdma controller is not available: it is not mounted as cgroup v1":          {Rdma: map[string]specs.LinuxRdma{"mlx": {HcaHandles: pu32(1)}}},
		`linux.resources.unified["cgroup.freeze"]: not a resource`:                                            {Unified: map[string]string{"cgroup.freeze": "1"}},
		"linux.resources.unified[\"memory.max\"]: the memory controller is not available in the cgroup2 hier": {Unified: map[string]string{"memory.max": "1"}},
	} {
		err := m.Set(r)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %v\nwant prefix %q", err, want)
		}
	}
	// Nothing was written by any refused Set.
	expectFiles(t, m.st.Paths["memory"], map[string]string{"memory.limit_in_bytes": "", "memory.swappiness": ""})
	expectFiles(t, m.st.Paths["cpu"], map[string]string{"cpu.shares": "", "cpu.cfs_quota_us": "", "cpu.cfs_burst_us": ""})
}

func TestNewRefusesBadConfigBeforeWriting(t *testing.T) {
	f := newFakeTree(t)
	f.dir("memory", files("memory.limit_in_bytes"))
	f.dir("cpuset", map[string]string{"cpuset.effective_cpus": "0-1", "cpuset.effective_mems": "0"})
	l := layout{mode: ModeV1, v1: map[string]hierarchy{
		"memory": {mountpoint: filepath.Join(f.root, "memory"), root: "/"},
		"cpuset": {mountpoint: filepath.Join(f.root, "cpuset"), root: "/"},
	}}
	own := func() (map[string]string, error) { return map[string]string{"memory": "/", "cpuset": "/"}, nil }
	for want, cfg := range map[string]Config{
		"linux.resources.memory.limit: -5":                    {Name: "a", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(-5)}}},
		"linux.resources.cpu.cpus: \"5\" is outside":          {Name: "a", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "5"}}},
		"linux.resources.unified: cgroup v2 keys cannot be":   {Name: "a", Resources: &specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}}},
		"linux.cgroupsPath \"/x/../../y\": \"..\" leaves the": {Name: "a", Path: "/x/../../y"},
		"linux.cgroupsPath \"../y\": \"..\" leaves the":       {Name: "a", Path: "../y"},
	} {
		_, err := newManager(cfg, l, own)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %v, want prefix %q", err, want)
		}
	}
	for _, h := range []string{"memory", "cpuset"} {
		ents, _ := os.ReadDir(filepath.Join(f.root, h))
		for _, e := range ents {
			if e.IsDir() {
				t.Errorf("%s/%s was created by a refused New", h, e.Name())
			}
		}
	}
	m, err := newManager(Config{Name: "ok", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1"}}}, l, own)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.State().Paths["memory"]; got != filepath.Join(f.root, "memory/nook/ok") {
		t.Errorf("default path = %q", got)
	}
}

func TestLoad(t *testing.T) {
	st := State{Driver: DriverCgroupfs, Mode: ModeHybrid, Paths: map[string]string{"memory": "/sys/fs/cgroup/memory/a", "": "/sys/fs/cgroup/unified/a"}}
	m, err := Load(st)
	if err != nil {
		t.Fatal(err)
	}
	got := m.State()
	if got.Mode != st.Mode || got.Paths["memory"] != st.Paths["memory"] || got.Paths[""] != st.Paths[""] {
		t.Errorf("State() = %+v, want %+v", got, st)
	}
	got.Paths["memory"] = "changed"
	if m.State().Paths["memory"] == "changed" {
		t.Error("State() shares its map with the manager")
	}
	for _, bad := range []State{
		{Driver: "systemd", Mode: ModeV2, Paths: map[string]string{"": "/sys/fs/cgroup/a"}},
		{Driver: DriverCgroupfs, Mode: "v3", Paths: map[string]string{"": "/sys/fs/cgroup/a"}},
		{Driver: DriverCgroupfs, Mode: ModeV2, Paths: map[string]string{"memory": "/sys/fs/cgroup/a"}},
		{Driver: DriverCgroupfs, Mode: ModeV1, Paths: map[string]string{"memory": "relative"}},
		{Driver: DriverCgroupfs, Mode: ModeV1, Paths: map[string]string{"memory": "/a/../b"}},
		{Driver: DriverCgroupfs, Mode: ModeV1},
	} {
		if _, err := Load(bad); err == nil {
			t.Errorf("Load(%+v) accepted", bad)
		}
	}
}

func TestNewRefusesBadDeviceRule(t *testing.T) {
	f := newFakeTree(t)
	f.dir("devices", nil)
	l := layout{mode: ModeV1, v1: map[string]hierarchy{"devices": {mountpoint: filepath.Join(f.root, "devices"), root: "/"}}}
	_, err := newManager(Config{Name: "a", Resources: &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "x", Access: "rwm"}},
	}}, l, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.devices[0]") {
		t.Errorf("bad device type: error = %v", err)
	}
}

func TestOOMEventsV2Inotify(t *testing.T) {
	// memory.events of a plain file system: inotify reports writes as on
	// cgroupfs, and removing the file ends the watch as removing the
	// cgroup does.
	_, m := fakeV2(t, "memory")
	d := m.unified()
	expectWrite(t, d, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := m.OOMEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expectWrite(t, d, "memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 3\n")
	for i := 0; i < 2; i++ { // 1 → 3: two kills; the one before the call is not reported
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d events", i)
			}
		case <-ctx.Done():
			t.Fatalf("got %d OOM events, want 2", i)
		}
	}
	os.Remove(filepath.Join(d, "memory.events"))
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("an OOM event after the count stopped rising")
		}
	case <-ctx.Done():
		t.Error("the stream did not end when memory.events went away")
	}
}

func TestOOMEventsStopWithContext(t *testing.T) {
	_, m := fakeV2(t, "memory")
	expectWrite(t, m.unified(), "memory.events", "oom_kill 0\n")
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := m.OOMEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("an OOM event after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Error("the stream did not end with its context")
	}
}

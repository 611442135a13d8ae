package cgroups

import (
	"encoding/json"
	"math"
	"testing"
)

func TestStatsJSONShape(t *testing.T) {
	// Field names and omitempty choices of runc's types.Stats: an empty
	// sample must encode byte for byte as runc's does.
	empty := &Stats{Hugetlb: map[string]Hugetlb{}}
	b, err := json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cpu":{"usage":{"kernel":0,"user":0},"throttling":{}},` +
		`"cpuset":{"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":0,"sched_relax_domain_level":0},` +
		`"memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0}},` +
		`"pids":{},"blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}`
	if string(b) != want {
		t.Errorf("empty stats JSON:\n got %s\nwant %s", b, want)
	}

	full := &Stats{
		CPU: CPU{Usage: CPUUsage{Total: 1, Percpu: []uint64{1}, PercpuKernel: []uint64{2}, PercpuUser: []uint64{3}, Kernel: 4, User: 5},
			Throttling: Throttling{Periods: 6, ThrottledPeriods: 7, ThrottledTime: 8}},
		Memory:  Memory{Cache: 9, Usage: MemoryEntry{Limit: 10, Usage: 11, Max: 12, Failcnt: 13}, Raw: map[string]uint64{"rss": 14}},
		Pids:    Pids{Current: 15, Limit: 16},
		Blkio:   Blkio{IoServiceBytesRecursive: []BlkioEntry{{Major: 8, Minor: 1, Op: "Read", Value: 17}}},
		Hugetlb: map[string]Hugetlb{"2MB": {Usage: 18, Max: 19, Failcnt: 20}},
	}
	b, _ = json.Marshal(full)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"cpu", "usage", "total"}, {"cpu", "usage", "percpu"}, {"cpu", "usage", "percpu_kernel"}, {"cpu", "usage", "percpu_user"},
		{"cpu", "usage", "kernel"}, {"cpu", "usage", "user"}, {"cpu", "throttling", "periods"},
		{"cpu", "throttling", "throttledPeriods"}, {"cpu", "throttling", "throttledTime"},
		{"memory", "cache"}, {"memory", "usage", "limit"}, {"memory", "usage", "usage"}, {"memory", "usage", "max"},
		{"memory", "usage", "failcnt"}, {"memory", "raw", "rss"}, {"pids", "current"}, {"pids", "limit"},
		{"hugetlb", "2MB", "usage"}, {"hugetlb", "2MB", "max"}, {"hugetlb", "2MB", "failcnt"},
	} {
		var v any = doc
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		if v == nil {
			t.Errorf("%v missing from %s", path, b)
		}
	}
	entry := doc["blkio"].(map[string]any)["ioServiceBytesRecursive"].([]any)[0].(map[string]any)
	if entry["major"] != 8.0 || entry["minor"] != 1.0 || entry["op"] != "Read" || entry["value"] != 17.0 {
		t.Errorf("blkio entry = %v", entry)
	}
}

func TestStatsV1Fake(t *testing.T) {
	f, m := fakeHybrid(t, "hugetlb")
	f.dir("cpuacct/c", map[string]string{
		"cgroup.procs": "", "cpuacct.usage": "3000\n", "cpuacct.usage_percpu": "1000 2000 \n",
		"cpuacct.usage_percpu_sys": "100 200\n", "cpuacct.usage_percpu_user": "900 1800\n",
		"cpuacct.usage_sys": "300\n", "cpuacct.usage_user": "2700\n",
	})
	m.st.Paths["cpuacct"] = f.root + "/cpuacct/c"
	expectWrite(t, m.st.Paths["cpu"], "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n")
	md := m.st.Paths["memory"]
	expectWrite(t, md, "memory.stat", "cache 4096\nrss 8192\n")
	expectWrite(t, md, "memory.usage_in_bytes", "12288")
	expectWrite(t, md, "memory.limit_in_bytes", "9223372036854771712")
	expectWrite(t, md, "memory.failcnt", "3")
	expectWrite(t, m.st.Paths["pids"], "pids.current", "2")
	expectWrite(t, m.st.Paths["pids"], "pids.max", "max")
	expectWrite(t, m.st.Paths["blkio"], "blkio.bfq.io_service_bytes_recursive", "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n")
	expectWrite(t, m.st.Paths["blkio"], "blkio.bfq.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n")
	expectWrite(t, m.st.Paths["cpuset"], "cpuset.cpus", "0-1,3")
	ps := ""
	if sizes, _ := hugePageSizes(); len(sizes) > 0 {
		ps = sizes[0]
		expectWrite(t, m.unified(), "hugetlb."+ps+".current", "2097152")
		expectWrite(t, m.unified(), "hugetlb."+ps+".events", "max 4\n")
	}
	expectWrite(t, m.unified(), "cpu.pressure", "some avg10=1.50 avg60=0.00 avg300=0.00 total=77\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")

	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if u := s.CPU.Usage; u.Total != 3000 || len(u.Percpu) != 2 || u.Percpu[1] != 2000 || u.Kernel != 300 || u.User != 2700 || u.PercpuKernel[1] != 200 || u.PercpuUser[0] != 900 {
		t.Errorf("cpu usage = %+v", u)
	}
	if th := s.CPU.Throttling; th.Periods != 10 || th.ThrottledPeriods != 2 || th.ThrottledTime != 5000 {
		t.Errorf("throttling = %+v", th)
	}
	if s.CPU.PSI == nil || s.CPU.PSI.Some.Avg10 != 1.5 || s.CPU.PSI.Some.Total != 77 {
		t.Errorf("cpu psi = %+v", s.CPU.PSI)
	}
	if s.Memory.Cache != 4096 || s.Memory.Raw["rss"] != 8192 || s.Memory.Usage.Usage != 12288 || s.Memory.Usage.Failcnt != 3 || s.Memory.Usage.Limit != 9223372036854771712 {
		t.Errorf("memory = %+v", s.Memory)
	}
	if s.Pids.Current != 2 || s.Pids.Limit != 0 {
		t.Errorf("pids = %+v", s.Pids)
	}
	if b := s.Blkio.IoServiceBytesRecursive; len(b) != 2 || b[1] != (BlkioEntry{Major: 8, Minor: 0, Op: "Write", Value: 1024}) {
		t.Errorf("blkio bytes = %+v", b)
	}
	if len(s.CPUSet.CPUs) != 3 || s.CPUSet.CPUs[2] != 3 {
		t.Errorf("cpuset cpus = %v", s.CPUSet.CPUs)
	}
	if ps != "" && (s.Hugetlb[ps].Usage != 2097152 || s.Hugetlb[ps].Failcnt != 4) {
		t.Errorf("hugetlb = %+v", s.Hugetlb)
	}
}

func TestStatsV2Fake(t *testing.T) {
	_, m := fakeV2(t, "cpu memory pids io")
	d := m.unified()
	expectWrite(t, d, "cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 5\nnr_throttled 1\nthrottled_usec 2\n")
	expectWrite(t, d, "memory.stat", "file 100\nanon 200\n")
	expectWrite(t, d, "memory.current", "300")
	expectWrite(t, d, "memory.max", "max")
	expectWrite(t, d, "memory.swap.current", "50")
	expectWrite(t, d, "memory.swap.max", "max")
	expectWrite(t, d, "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
	expectWrite(t, d, "pids.current", "3")
	expectWrite(t, d, "pids.max", "100")
	expectWrite(t, d, "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n")
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if u := s.CPU.Usage; u.Total != 10000 || u.User != 6000 || u.Kernel != 4000 {
		t.Errorf("cpu usage = %+v", u)
	}
	if th := s.CPU.Throttling; th.Periods != 5 || th.ThrottledPeriods != 1 || th.ThrottledTime != 2000 {
		t.Errorf("throttling = %+v", th)
	}
	if s.Memory.Cache != 100 || s.Memory.Usage.Usage != 300 || s.Memory.Usage.Limit != math.MaxUint64 || s.Memory.Usage.Failcnt != 7 {
		t.Errorf("memory usage = %+v", s.Memory)
	}
	if s.Memory.Swap.Usage != 350 || s.Memory.Swap.Limit != math.MaxUint64 {
		t.Errorf("memory swap (memory+swap, as v1) = %+v", s.Memory.Swap)
	}
	if s.Pids.Current != 3 || s.Pids.Limit != 100 {
		t.Errorf("pids = %+v", s.Pids)
	}
	if b := s.Blkio.IoServiceBytesRecursive; len(b) != 2 || b[0].Op != "Read" || b[0].Value != 10 || b[1].Value != 20 {
		t.Errorf("io bytes = %+v", b)
	}
	if b := s.Blkio.IoServicedRecursive; len(b) != 2 || b[1].Op != "Write" || b[1].Value != 2 {
		t.Errorf("io ops = %+v", b)
	}
}

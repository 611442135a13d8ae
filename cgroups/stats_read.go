package cgroups

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats reads the container's statistics from whichever hierarchy runs
// each controller (in hybrid mode, hugetlb and pressure from cgroup2).
// Missing files (controllers that are absent, kernels without a counter)
// leave their fields zero.
func (m *fsManager) Stats() (*Stats, error) {
	dirs := m.allDirs()
	if len(dirs) == 0 || !exists(dirs[0]) {
		return nil, fmt.Errorf("cgroups: stats: the container's cgroup %v does not exist", dirs)
	}
	s := &Stats{Hugetlb: map[string]Hugetlb{}}
	p := &planner{m: m}
	at := func(v1, v2 string) (string, bool, bool) {
		d, isV2, err := p.dest("", v1, v2)
		return d, isV2, err == nil
	}
	if d, v2, ok := at("cpuacct", "cpu"); ok && !v2 {
		cpuacctStats(d, &s.CPU.Usage)
	}
	if d, v2, ok := at("cpu", "cpu"); ok && !v2 {
		st, _ := readKeyValues(d, "cpu.stat")
		s.CPU.Throttling = Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_time"]}
	}
	if u := m.unified(); u != "" {
		// cpu.stat's usage lines are core cgroup2: present without the
		// cpu controller.
		if m.st.Mode == ModeV2 || m.st.Paths["cpuacct"] == "" {
			cpuStatV2(u, &s.CPU)
		}
		s.CPU.PSI = readPSI(u, "cpu.pressure")
	}
	if d, v2, ok := at("cpuset", "cpuset"); ok {
		cpusetStats(d, v2, &s.CPUSet)
	}
	if d, v2, ok := at("memory", "memory"); ok {
		if v2 {
			memoryStatsV2(d, &s.Memory)
		} else {
			memoryStatsV1(d, &s.Memory)
		}
	}
	if u := m.unified(); u != "" {
		s.Memory.PSI = readPSI(u, "memory.pressure")
	}
	if d, _, ok := at("pids", "pids"); ok {
		s.Pids.Current, _ = readUint(d, "pids.current")
		if lim, err := readUint(d, "pids.max"); err == nil && lim != math.MaxUint64 {
			s.Pids.Limit = lim
		}
	}
	if d, v2, ok := at("blkio", "io"); ok {
		if v2 {
			ioStatV2(d, &s.Blkio)
		} else {
			blkioStatsV1(d, &s.Blkio)
		}
	}
	if u := m.unified(); u != "" {
		s.Blkio.PSI = readPSI(u, "io.pressure")
	}
	if d, v2, ok := at("hugetlb", "hugetlb"); ok {
		sizes, _ := hugePageSizes()
		for _, ps := range sizes {
			s.Hugetlb[ps] = hugetlbStats(d, ps, v2)
		}
	}
	return s, nil
}

func cpuacctStats(d string, u *CPUUsage) {
	u.Total, _ = readUint(d, "cpuacct.usage")
	u.Percpu = readUintList(d, "cpuacct.usage_percpu")
	u.PercpuKernel = readUintList(d, "cpuacct.usage_percpu_sys")
	u.PercpuUser = readUintList(d, "cpuacct.usage_percpu_user")
	sys, err1 := readUint(d, "cpuacct.usage_sys")
	usr, err2 := readUint(d, "cpuacct.usage_user")
	if err1 == nil && err2 == nil {
		u.Kernel, u.User = sys, usr
		return
	}
	// Older kernels: cpuacct.stat in USER_HZ ticks (100 per second on
	// every Linux architecture nook builds for).
	st, _ := readKeyValues(d, "cpuacct.stat")
	const nsPerTick = 1e9 / 100
	u.Kernel, u.User = st["system"]*nsPerTick, st["user"]*nsPerTick
}

func cpuStatV2(d string, c *CPU) {
	st, err := readKeyValues(d, "cpu.stat")
	if err != nil {
		return
	}
	c.Usage.Total = st["usage_usec"] * 1000
	c.Usage.User = st["user_usec"] * 1000
	c.Usage.Kernel = st["system_usec"] * 1000
	if _, ok := st["nr_periods"]; ok { // only with the cpu controller
		c.Throttling = Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_usec"] * 1000}
	}
}

func cpusetStats(d string, v2 bool, c *CPUSet) {
	if v2 {
		c.CPUs = readIDList(d, "cpuset.cpus.effective")
		c.Mems = readIDList(d, "cpuset.mems.effective")
		return
	}
	c.CPUs = readIDList(d, "cpuset.cpus")
	c.Mems = readIDList(d, "cpuset.mems")
	for _, f := range []struct {
		file string
		dst  *uint64
	}{
		{"cpuset.cpu_exclusive", &c.CPUExclusive}, {"cpuset.mem_hardwall", &c.MemHardwall},
		{"cpuset.mem_exclusive", &c.MemExclusive}, {"cpuset.memory_migrate", &c.MemoryMigrate},
		{"cpuset.memory_spread_page", &c.MemorySpreadPage}, {"cpuset.memory_spread_slab", &c.MemorySpreadSlab},
		{"cpuset.memory_pressure", &c.MemoryPressure}, {"cpuset.sched_load_balance", &c.SchedLoadBalance},
	} {
		*f.dst, _ = readUint(d, f.file)
	}
	if s, err := readFile(d, "cpuset.sched_relax_domain_level"); err == nil {
		c.SchedRelaxDomainLevel, _ = strconv.ParseInt(s, 10, 64)
	}
}

func memoryEntryV1(d, prefix string) MemoryEntry {
	var e MemoryEntry
	e.Usage, _ = readUint(d, prefix+"usage_in_bytes")
	e.Max, _ = readUint(d, prefix+"max_usage_in_bytes")
	e.Failcnt, _ = readUint(d, prefix+"failcnt")
	e.Limit, _ = readUint(d, prefix+"limit_in_bytes")
	return e
}

func memoryStatsV1(d string, m *Memory) {
	m.Raw, _ = readKeyValues(d, "memory.stat")
	m.Cache = m.Raw["cache"]
	m.Usage = memoryEntryV1(d, "memory.")
	m.Swap = memoryEntryV1(d, "memory.memsw.")
	m.Kernel = memoryEntryV1(d, "memory.kmem.")
	m.KernelTCP = memoryEntryV1(d, "memory.kmem.tcp.")
}

// memoryStatsV2 fills the v1-shaped document from cgroup2: Swap is
// memory+swap (swap.current + current) as v1's memsw, so consumers see one
// meaning on both.
func memoryStatsV2(d string, m *Memory) {
	m.Raw, _ = readKeyValues(d, "memory.stat")
	m.Cache = m.Raw["file"]
	m.Usage.Usage, _ = readUint(d, "memory.current")
	m.Usage.Max, _ = readUint(d, "memory.peak")
	m.Usage.Limit, _ = readUint(d, "memory.max")
	if ev, err := readKeyValues(d, "memory.events"); err == nil {
		m.Usage.Failcnt = ev["max"]
	}
	if sw, err := readUint(d, "memory.swap.current"); err == nil {
		m.Swap.Usage = sw + m.Usage.Usage
		m.Swap.Limit = math.MaxUint64
		if sl, err := readUint(d, "memory.swap.max"); err == nil && sl != math.MaxUint64 && m.Usage.Limit != math.MaxUint64 {
			m.Swap.Limit = sl + m.Usage.Limit
		}
		if ev, err := readKeyValues(d, "memory.swap.events"); err == nil {
			m.Swap.Failcnt = ev["fail"]
		}
	}
}

// blkioStatsV1 reads CFQ's recursive counters, else BFQ's, else the
// throttling layer's (which always exist).
func blkioStatsV1(d string, b *Blkio) {
	for _, prefix := range []string{"blkio.", "blkio.bfq.", "blkio.throttle."} {
		if !exists(filepath.Join(d, prefix+"io_service_bytes_recursive")) {
			continue
		}
		b.IoServiceBytesRecursive = readBlkioEntries(d, prefix+"io_service_bytes_recursive")
		b.IoServicedRecursive = readBlkioEntries(d, prefix+"io_serviced_recursive")
		if prefix == "blkio." {
			b.IoQueuedRecursive = readBlkioEntries(d, "blkio.io_queued_recursive")
			b.IoServiceTimeRecursive = readBlkioEntries(d, "blkio.io_service_time_recursive")
			b.IoWaitTimeRecursive = readBlkioEntries(d, "blkio.io_wait_time_recursive")
			b.IoMergedRecursive = readBlkioEntries(d, "blkio.io_merged_recursive")
			b.IoTimeRecursive = readBlkioEntries(d, "blkio.time_recursive")
			b.SectorsRecursive = readBlkioEntries(d, "blkio.sectors_recursive")
		}
		return
	}
}

// readBlkioEntries parses "8:0 Read 4096" (or "8:0 4096") lines; the
// "Total" line is dropped.
func readBlkioEntries(d, file string) []BlkioEntry {
	f, err := os.Open(filepath.Join(d, file))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []BlkioEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		maj, min, ok := parseDev(fs[0])
		if !ok {
			continue
		}
		e := BlkioEntry{Major: maj, Minor: min}
		vs := fs[1]
		if len(fs) >= 3 {
			e.Op, vs = fs[1], fs[2]
		}
		v, err := strconv.ParseUint(vs, 10, 64)
		if err != nil {
			continue
		}
		e.Value = v
		out = append(out, e)
	}
	return out
}

// ioStatV2 reads io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 …").
func ioStatV2(d string, b *Blkio) {
	f, err := os.Open(filepath.Join(d, "io.stat"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		maj, min, ok := parseDev(fs[0])
		if !ok {
			continue
		}
		for _, kv := range fs[1:] {
			k, vs, _ := strings.Cut(kv, "=")
			v, err := strconv.ParseUint(vs, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: maj, Minor: min, Value: v}
			switch k {
			case "rbytes":
				e.Op = "Read"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
}

func hugetlbStats(d, size string, v2 bool) Hugetlb {
	var h Hugetlb
	p := "hugetlb." + size + "."
	if v2 {
		h.Usage, _ = readUint(d, p+"current")
		if ev, err := readKeyValues(d, p+"events"); err == nil {
			h.Failcnt = ev["max"]
		}
		return h
	}
	h.Usage, _ = readUint(d, p+"usage_in_bytes")
	h.Max, _ = readUint(d, p+"max_usage_in_bytes")
	h.Failcnt, _ = readUint(d, p+"failcnt")
	return h
}

// readPSI parses a pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00
// total=0"); nil when absent.
func readPSI(d, file string) *PSIStats {
	s, err := readFile(d, file)
	if err != nil {
		return nil
	}
	var psi PSIStats
	for _, line := range strings.Split(s, "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		var dst *PSIData
		switch fs[0] {
		case "some":
			dst = &psi.Some
		case "full":
			dst = &psi.Full
		default:
			continue
		}
		for _, kv := range fs[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "avg10":
				dst.Avg10, _ = strconv.ParseFloat(v, 64)
			case "avg60":
				dst.Avg60, _ = strconv.ParseFloat(v, 64)
			case "avg300":
				dst.Avg300, _ = strconv.ParseFloat(v, 64)
			case "total":
				dst.Total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return &psi
}

func parseDev(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	maj, err1 := strconv.ParseUint(a, 10, 64)
	min, err2 := strconv.ParseUint(b, 10, 64)
	return maj, min, err1 == nil && err2 == nil
}

func readUintList(d, file string) []uint64 {
	s, err := readFile(d, file)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func readIDList(d, file string) []uint16 {
	s, err := readFile(d, file)
	if err != nil {
		return nil
	}
	set, err := parseCPUList(s)
	if err != nil {
		return nil
	}
	var out []uint16
	for i := 0; i < maxCPUListID && len(out) < len(set); i++ {
		if set[i] {
			out = append(out, uint16(i))
		}
	}
	return out
}

package cgroups

import (
	"math"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Kernel bounds (kernel/sched): shares 2..262144, CFS period 1ms..1s,
// quota at least 1ms.
const (
	minShares = 2
	maxShares = 262144
	minPeriod = 1000
	maxPeriod = 1000000
	minQuota  = 1000
)

// SharesToWeight maps cgroup v1 cpu.shares (2..262144, default 1024) onto
// cgroup v2 cpu.weight (1..10000, default 100) with the log-scale quadratic
// through 2→1, 1024→100 and 262144→10000 that crun and runc adopted in
// 2025, so the default maps to the default (the older linear formula sent
// 1024 to 39). Both nook drivers use it. 0 means "not set".
func SharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612 - 7.0/34
	return uint64(math.Ceil(math.Pow(10, exp)))
}

// cpu plans linux.resources.cpu except cpus/mems (see cpuset). 0 or absent
// means "not set" for shares, quota and period; quota -1 is unlimited.
func (p *planner) cpu(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	const f = "linux.resources.cpu."
	shares, quota, period := deref(c.Shares), deref(c.Quota), deref(c.Period)
	rtRuntime, rtPeriod := deref(c.RealtimeRuntime), deref(c.RealtimePeriod)
	if shares != 0 && (shares < minShares || shares > maxShares) {
		return fieldErr(f+"shares", "%d is out of range (%d-%d)", shares, minShares, maxShares)
	}
	if quota < -1 || (quota > 0 && quota < minQuota) {
		return fieldErr(f+"quota", "%d is not a valid quota (-1 for unlimited, else at least %d µs)", quota, minQuota)
	}
	if period != 0 && (period < minPeriod || period > maxPeriod) {
		return fieldErr(f+"period", "%d is out of range (%d-%d µs)", period, minPeriod, maxPeriod)
	}
	if c.Burst != nil && quota > 0 && *c.Burst > uint64(quota) {
		return fieldErr(f+"burst", "%d is above linux.resources.cpu.quota %d", *c.Burst, quota)
	}
	if rtRuntime < -1 {
		return fieldErr(f+"realtimeRuntime", "%d is not valid (-1 for unlimited)", rtRuntime)
	}
	if rtPeriod != 0 && rtRuntime > 0 && uint64(rtRuntime) > rtPeriod {
		return fieldErr(f+"realtimeRuntime", "%d is above linux.resources.cpu.realtimePeriod %d", rtRuntime, rtPeriod)
	}
	if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
		return fieldErr(f+"idle", "%d is not valid (0 or 1)", *c.Idle)
	}
	if shares == 0 && quota == 0 && period == 0 && c.Burst == nil && rtRuntime == 0 && rtPeriod == 0 && c.Idle == nil {
		return nil
	}
	dir, v2, err := p.dest("linux.resources.cpu", "cpu", "cpu")
	if err != nil {
		return err
	}
	if v2 {
		return p.cpuV2(c, dir, shares, quota, period)
	}
	if shares != 0 {
		p.add(op{field: f + "shares", dir: dir, file: "cpu.shares", value: utoa(shares)})
	}
	// The kernel checks a period against the quota in force (and the
	// parent's): when both change, a failing period write is retried once
	// the quota is written.
	if period != 0 {
		p.add(op{field: f + "period", dir: dir, file: "cpu.cfs_period_us", value: utoa(period), laterOnEINVAL: quota != 0})
	}
	// The burst must stay within the quota at every write: written before
	// a new quota (to lower it first) and, failing that, after it.
	if c.Burst != nil {
		if !probe(dir, "cpu.cfs_burst_us") {
			return fieldErr(f+"burst", "not supported by this kernel (no cpu.cfs_burst_us)")
		}
		p.add(op{field: f + "burst", dir: dir, file: "cpu.cfs_burst_us", value: utoa(*c.Burst), laterOnEINVAL: quota != 0})
	}
	if quota != 0 {
		p.add(op{field: f + "quota", dir: dir, file: "cpu.cfs_quota_us", value: itoa(quota)})
	}
	if rtPeriod != 0 {
		p.add(op{field: f + "realtimePeriod", dir: dir, file: "cpu.rt_period_us", value: utoa(rtPeriod)})
	}
	if rtRuntime != 0 {
		p.add(op{field: f + "realtimeRuntime", dir: dir, file: "cpu.rt_runtime_us", value: itoa(rtRuntime)})
	}
	if c.Idle != nil {
		if !probe(dir, "cpu.idle") {
			return fieldErr(f+"idle", "not supported by this kernel (no cpu.idle)")
		}
		p.add(op{field: f + "idle", dir: dir, file: "cpu.idle", value: itoa(*c.Idle)})
	}
	return nil
}

// cpuV2 maps cpu onto cgroup2: cpu.weight from shares, cpu.max "quota
// period", cpu.max.burst, cpu.idle. Real-time limits have no cgroup2 form.
func (p *planner) cpuV2(c *specs.LinuxCPU, dir string, shares uint64, quota int64, period uint64) error {
	const f = "linux.resources.cpu."
	if deref(c.RealtimeRuntime) != 0 || deref(c.RealtimePeriod) != 0 {
		return fieldErr(f+"realtimeRuntime", "real-time CPU limits are not supported on cgroup v2")
	}
	if shares != 0 {
		p.add(op{field: f + "shares", dir: dir, file: "cpu.weight", value: utoa(SharesToWeight(shares))})
	}
	// cpu.max always takes a quota; with only a period given (an update),
	// keep the quota in force instead of resetting it to "max".
	if quota != 0 || period != 0 {
		q := maxOr(quota)
		if quota == 0 {
			q = "max"
			if cur, err := readFile(dir, "cpu.max"); err == nil {
				if fs := strings.Fields(cur); len(fs) > 0 {
					q = fs[0]
				}
			}
		}
		v := q
		if period != 0 {
			v += " " + utoa(period)
		}
		// As on v1: the burst goes before the quota, or after it when the
		// quota in force is too small for it.
		if c.Burst != nil {
			p.add(op{field: f + "burst", dir: dir, file: "cpu.max.burst", value: utoa(*c.Burst), laterOnEINVAL: true})
		}
		p.add(op{field: f + "quota", dir: dir, file: "cpu.max", value: v})
	} else if c.Burst != nil {
		p.add(op{field: f + "burst", dir: dir, file: "cpu.max.burst", value: utoa(*c.Burst)})
	}
	if c.Idle != nil {
		p.add(op{field: f + "idle", dir: dir, file: "cpu.idle", value: itoa(*c.Idle)})
	}
	return nil
}

// cpuset plans linux.resources.cpu.cpus/mems, refusing CPUs or memory
// nodes the cgroup's parent (on a plain host, the host) does not have.
func (p *planner) cpuset(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil || (c.Cpus == "" && c.Mems == "") {
		return nil
	}
	const f = "linux.resources.cpu."
	type item struct{ name, value, kind string }
	items := []item{{"cpus", c.Cpus, "cpus"}, {"mems", c.Mems, "mems"}}
	for _, it := range items {
		if it.value == "" {
			continue
		}
		set, err := parseCPUList(it.value)
		if err != nil {
			return fieldErr(f+it.name, "%v", err)
		}
		if len(set) == 0 {
			return fieldErr(f+it.name, "%q names no %s", it.value, it.kind)
		}
	}
	dir, v2, err := p.dest("linux.resources.cpu.cpus", "cpuset", "cpuset")
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.value == "" {
			continue
		}
		set, _ := parseCPUList(it.value)
		allowed, from, err := allowedCPUs(dir, it.kind, v2)
		if err != nil {
			return fieldErr(f+it.name, "%v", err)
		}
		for id := range set {
			if !allowed[id] {
				return fieldErr(f+it.name, "%q is outside the available %s %q (%s)", it.value, it.kind, formatCPUList(allowed), from)
			}
		}
		p.add(op{field: f + it.name, dir: dir, file: "cpuset." + it.kind, value: it.value})
	}
	return nil
}

package systemd

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/nookrt/nook/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// infinity is systemd's "no limit" (UINT64_MAX, CGROUP_LIMIT_MAX and
	// USEC_INFINITY alike).
	infinity = uint64(math.MaxUint64)
	// defaultCPUPeriod is the kernel's CFS period (100 ms), v1 and v2.
	defaultCPUPeriod = uint64(100000)
	// cpuQuotaStep is the granularity systemd keeps CPUQuota= in: it stores
	// a percentage of one CPU, i.e. multiples of 10 ms per second.
	cpuQuotaStep = uint64(10000)
)

func newProp(name string, value any) sddbus.Property {
	return sddbus.Property{Name: name, Value: dbus.MakeVariant(value)}
}

// resourceProperties maps linux.resources to systemd unit properties, as
// runc does. unified selects the cgroup v2 property set (pure v2 hosts);
// otherwise the v1 set is used (v1 and hybrid hosts, where systemd drives
// the v1 controllers). Devices are mapped separately (deviceProperties).
// Everything systemd cannot express is left to the cgroupfs manager.
func resourceProperties(r *specs.LinuxResources, unified bool) ([]sddbus.Property, error) {
	if r == nil {
		return nil, nil
	}
	var props []sddbus.Property
	add := func(p ...sddbus.Property) { props = append(props, p...) }

	if m := r.Memory; m != nil {
		mem, err := memoryProperties(m, unified)
		if err != nil {
			return nil, err
		}
		add(mem...)
	}
	if c := r.CPU; c != nil {
		cpu, err := cpuProperties(c, unified)
		if err != nil {
			return nil, err
		}
		add(cpu...)
	}
	// pids.limit 0 is a real limit for the kernel, but systemd refuses
	// TasksMax=0; the cgroupfs manager writes it.
	if p := r.Pids; p != nil && p.Limit != nil && *p.Limit != 0 {
		add(newProp("TasksMax", limitValue(*p.Limit)))
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		w := *b.Weight
		if w < 10 || w > 1000 {
			return nil, fmt.Errorf("linux.resources.blockIO.weight: %d is outside 10-1000", w)
		}
		if unified {
			add(newProp("IOWeight", blkioWeightToIOWeight(w)))
		} else {
			add(newProp("BlockIOWeight", uint64(w)))
		}
	}
	if unified && len(r.Unified) > 0 {
		u, err := unifiedProperties(r.Unified)
		if err != nil {
			return nil, err
		}
		add(u...)
	}
	return props, nil
}

func memoryProperties(m *specs.LinuxMemory, unified bool) ([]sddbus.Property, error) {
	var props []sddbus.Property
	limit := int64(0)
	if m.Limit != nil {
		limit = *m.Limit
		if limit < -1 {
			return nil, fmt.Errorf("linux.resources.memory.limit: %d is neither -1 (unlimited) nor a byte count", limit)
		}
		// 0 means "not set" to runc and the kernel alike; systemd
		// refuses MemoryMax=0.
		if limit != 0 {
			name := "MemoryLimit"
			if unified {
				name = "MemoryMax"
			}
			props = append(props, newProp(name, limitValue(limit)))
		}
	}
	if !unified {
		// v1 reservation (soft limit) and memsw have no systemd
		// property; the cgroupfs manager writes them.
		return props, nil
	}
	if m.Reservation != nil && *m.Reservation != 0 {
		if *m.Reservation < -1 {
			return nil, fmt.Errorf("linux.resources.memory.reservation: %d is neither -1 (unlimited) nor a byte count", *m.Reservation)
		}
		props = append(props, newProp("MemoryLow", limitValue(*m.Reservation)))
	}
	swap, set, err := swapOnlyLimit(m.Swap, limit)
	if err != nil {
		return nil, err
	}
	if set {
		props = append(props, newProp("MemorySwapMax", swap))
	}
	return props, nil
}

// swapOnlyLimit turns OCI's memory.swap, which is memory+swap as in v1's
// memsw, into cgroup v2's swap-only limit. An unlimited memory limit with
// no swap value means "unlimited swap too", as v1 behaves.
func swapOnlyLimit(swap *int64, limit int64) (value uint64, set bool, err error) {
	if swap == nil || *swap == 0 {
		if limit == -1 {
			return infinity, true, nil
		}
		return 0, false, nil
	}
	s := *swap
	switch {
	case s == -1:
		return infinity, true, nil
	case s < -1:
		return 0, false, fmt.Errorf("linux.resources.memory.swap: %d is neither -1 (unlimited) nor a byte count", s)
	case limit == 0 || limit == -1:
		return 0, false, fmt.Errorf("linux.resources.memory.swap: %d needs a memory limit (linux.resources.memory.limit) to be set, as swap is memory+swap", s)
	case s < limit:
		return 0, false, fmt.Errorf("linux.resources.memory.swap: %d is smaller than linux.resources.memory.limit %d (swap is memory+swap)", s, limit)
	}
	return uint64(s - limit), true, nil
}

func cpuProperties(c *specs.LinuxCPU, unified bool) ([]sddbus.Property, error) {
	var props []sddbus.Property
	if c.Shares != nil && *c.Shares != 0 {
		if unified {
			props = append(props, newProp("CPUWeight", cpuSharesToWeight(*c.Shares)))
		} else {
			// systemd refuses CPUShares= outside 2-262144 where
			// the kernel clamps; clamp as the kernel would.
			props = append(props, newProp("CPUShares", min(max(*c.Shares, 2), 262144)))
		}
	}
	quota, period := int64(0), uint64(0)
	if c.Quota != nil {
		quota = *c.Quota
		if quota < -1 {
			return nil, fmt.Errorf("linux.resources.cpu.quota: %d is neither -1 (unlimited) nor a positive number of microseconds", quota)
		}
	}
	if c.Period != nil {
		period = *c.Period
	}
	q, err := cpuQuotaProperties(quota, period)
	if err != nil {
		return nil, fmt.Errorf("linux.resources.cpu: %w", err)
	}
	props = append(props, q...)
	if c.Cpus != "" {
		mask, err := cpuSetMask(c.Cpus)
		if err != nil {
			return nil, fmt.Errorf("linux.resources.cpu.cpus: %w", err)
		}
		props = append(props, newProp("AllowedCPUs", mask))
	}
	if c.Mems != "" {
		mask, err := cpuSetMask(c.Mems)
		if err != nil {
			return nil, fmt.Errorf("linux.resources.cpu.mems: %w", err)
		}
		props = append(props, newProp("AllowedMemoryNodes", mask))
	}
	return props, nil
}

// cpuQuotaProperties expresses a CFS quota/period pair (microseconds; quota
// 0 = not set, -1 = unlimited; period 0 = not set) the way systemd takes it:
// CPUQuotaPerSecUSec (quota per second of wall time) and CPUQuotaPeriodUSec.
//
// systemd keeps the quota as a whole percentage of a CPU, so a quota that
// is not a multiple of 10 ms per second is rounded *up* to the next one:
// rounding down would leave the unit's cgroup below the quota the container
// asked for, and the cgroupfs manager could then not write the exact value
// into the child. As in runc, a period with no quota means "unlimited
// quota", since systemd has no way to say "keep the quota".
func cpuQuotaProperties(quota int64, period uint64) ([]sddbus.Property, error) {
	var props []sddbus.Property
	if period != 0 {
		props = append(props, newProp("CPUQuotaPeriodUSec", period))
	}
	if quota == 0 && period == 0 {
		return props, nil
	}
	perSec := infinity
	if quota > 0 {
		p := period
		if p == 0 {
			p = defaultCPUPeriod
		}
		hi, lo := bits.Mul64(uint64(quota), 1000000)
		if hi != 0 {
			return nil, fmt.Errorf("quota %d is too large", quota)
		}
		perSec = lo / p
		if rem := perSec % cpuQuotaStep; rem != 0 {
			perSec += cpuQuotaStep - rem
		}
	}
	props = append(props, newProp("CPUQuotaPerSecUSec", perSec))
	return props, nil
}

// cpuSharesToWeight is the cgroupfs driver's conversion, so both drivers
// give a config the same weight.
func cpuSharesToWeight(shares uint64) uint64 { return cgroups.SharesToWeight(shares) }

// blkioWeightToIOWeight maps v1 blkio.weight (10-1000) linearly onto v2
// io.weight (1-10000), the conversion runc's cgroupfs v2 driver uses.
func blkioWeightToIOWeight(w uint16) uint64 {
	return 1 + (uint64(w)-10)*9999/990
}

// limitValue turns an OCI limit (-1 or any negative = unlimited) into
// systemd's uint64 with infinity for "no limit".
func limitValue(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

// unifiedProperties maps the linux.resources.unified keys systemd has a
// property for; other keys are the cgroupfs manager's alone. Keys are
// handled in sorted order so the result does not depend on map order.
func unifiedProperties(unified map[string]string) ([]sddbus.Property, error) {
	keys := make([]string, 0, len(unified))
	for k := range unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var props []sddbus.Property
	for _, k := range keys {
		v := strings.TrimSpace(unified[k])
		field := fmt.Sprintf("linux.resources.unified[%q]", k)
		if strings.Contains(k, "/") {
			return nil, fmt.Errorf("%s: a key is a cgroup file name and cannot hold '/'", field)
		}
		switch k {
		case "cpu.max":
			quota, period, err := parseCPUMax(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			q, err := cpuQuotaProperties(quota, period)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			props = append(props, q...)
		case "cpu.weight":
			w, err := strconv.ParseUint(v, 10, 64)
			if err != nil || w < 1 || w > 10000 {
				return nil, fmt.Errorf("%s: %q is not a weight in 1-10000", field, v)
			}
			props = append(props, newProp("CPUWeight", w))
		case "cpuset.cpus", "cpuset.mems":
			mask, err := cpuSetMask(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			name := "AllowedCPUs"
			if k == "cpuset.mems" {
				name = "AllowedMemoryNodes"
			}
			props = append(props, newProp(name, mask))
		case "memory.high", "memory.low", "memory.min", "memory.max", "memory.swap.max", "pids.max":
			n, err := parseMaxOrUint(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			name := unifiedKeyProperty(k)
			if n == 0 && !zeroAllowed(name) {
				// systemd refuses 0 for these; the cgroupfs
				// manager writes it.
				continue
			}
			props = append(props, newProp(name, n))
		}
	}
	return props, nil
}

// zeroAllowed reports whether systemd takes 0 for a limit property: the
// protections (MemoryLow, MemoryMin) and MemorySwapMax do; MemoryMax,
// MemoryHigh and TasksMax must be at least 1.
func zeroAllowed(property string) bool {
	switch property {
	case "MemoryLow", "MemoryMin", "MemorySwapMax":
		return true
	}
	return false
}

func unifiedKeyProperty(key string) string {
	switch key {
	case "memory.high":
		return "MemoryHigh"
	case "memory.low":
		return "MemoryLow"
	case "memory.min":
		return "MemoryMin"
	case "memory.max":
		return "MemoryMax"
	case "memory.swap.max":
		return "MemorySwapMax"
	}
	return "TasksMax"
}

// parseCPUMax reads cgroup v2's "cpu.max" value: "$QUOTA|max [$PERIOD]".
// "max" is returned as quota 0 with the period set, which
// cpuQuotaProperties turns into an unlimited quota.
func parseCPUMax(v string) (quota int64, period uint64, err error) {
	f := strings.Fields(v)
	if len(f) < 1 || len(f) > 2 {
		return 0, 0, fmt.Errorf("%q is not \"QUOTA|max [PERIOD]\"", v)
	}
	period = defaultCPUPeriod
	if len(f) == 2 {
		period, err = strconv.ParseUint(f[1], 10, 64)
		if err != nil || period == 0 {
			return 0, 0, fmt.Errorf("period %q is not a positive number of microseconds", f[1])
		}
	}
	if f[0] != "max" {
		quota, err = strconv.ParseInt(f[0], 10, 64)
		if err != nil || quota <= 0 {
			return 0, 0, fmt.Errorf("quota %q is neither \"max\" nor a positive number of microseconds", f[0])
		}
	}
	return quota, period, nil
}

func parseMaxOrUint(v string) (uint64, error) {
	if v == "max" {
		return infinity, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is neither \"max\" nor a number", v)
	}
	return n, nil
}

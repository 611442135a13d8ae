package cgroups

import (
	"math"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// memory plans linux.resources.memory. OCI values: 0 or absent is "not
// set", -1 is "unlimited"; swap is the memory+swap total (v1 memsw
// semantics). Kernel memory is ignored (the kernel stopped enforcing it in
// 5.4, as runc ignores it); kernelTCP is set on v1 where the file exists.
// swappiness, disableOOMKiller, useHierarchy and kernelTCP have no cgroup2
// counterpart and are ignored there, as runc does. useHierarchy false is
// ignored too: kernels since 5.x account hierarchically, always.
func (p *planner) memory(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	const f = "linux.resources.memory."
	limit, swap, reservation := deref(mem.Limit), deref(mem.Swap), deref(mem.Reservation)
	for _, c := range []struct {
		name string
		v    *int64
	}{{"limit", mem.Limit}, {"reservation", mem.Reservation}, {"swap", mem.Swap}, {"kernelTCP", mem.KernelTCP}} {
		if c.v != nil && *c.v < -1 {
			return fieldErr(f+c.name, "%d is not a valid limit (use -1 for unlimited)", *c.v)
		}
	}
	if swap > 0 && limit > 0 && swap < limit {
		return fieldErr(f+"swap", "%d is below linux.resources.memory.limit %d (swap is the memory+swap total)", swap, limit)
	}
	if swap > 0 && limit == -1 {
		return fieldErr(f+"swap", "%d cannot be set with an unlimited memory limit", swap)
	}
	if mem.Swappiness != nil && *mem.Swappiness != math.MaxUint64 && *mem.Swappiness > 100 {
		return fieldErr(f+"swappiness", "%d is out of range (0-100)", *mem.Swappiness)
	}
	oom := mem.DisableOOMKiller != nil
	hier := mem.UseHierarchy != nil && *mem.UseHierarchy
	swappiness := mem.Swappiness != nil && *mem.Swappiness != math.MaxUint64
	tcp := deref(mem.KernelTCP) != 0
	if limit == 0 && swap == 0 && reservation == 0 && !oom && !hier && !swappiness && !tcp {
		return nil
	}
	dir, v2, err := p.dest(f[:len(f)-1], "memory", "memory")
	if err != nil {
		return err
	}
	if v2 {
		return p.memoryV2(mem, dir, limit, swap, reservation)
	}

	memsw := probe(dir, "memory.memsw.limit_in_bytes")
	if limit == -1 && swap == 0 && memsw {
		swap = -1 // unlimited memory means unlimited memory+swap too
	}
	if swap != 0 && !memsw {
		if swap > 0 {
			return fieldErr(f+"swap", "swap accounting is off on this host (no memory.memsw.limit_in_bytes)")
		}
		swap = 0
	}
	if err := p.checkBeforeUpdate(mem, dir, "memory.usage_in_bytes", limit); err != nil {
		return err
	}
	limitOp := op{field: f + "limit", dir: dir, file: "memory.limit_in_bytes", value: itoa(limit)}
	swapOp := op{field: f + "swap", dir: dir, file: "memory.memsw.limit_in_bytes", value: itoa(swap)}
	switch {
	case limit != 0 && swap != 0:
		// The kernel keeps limit <= memsw at every write: raise memsw first
		// when the new memsw is above the limit in force, else lower the
		// limit first.
		cur, err := readUint(dir, "memory.limit_in_bytes")
		if err != nil {
			cur = math.MaxUint64 // a new cgroup is unlimited
		}
		if swap == -1 || cur < uint64(swap) {
			p.add(swapOp)
			p.add(limitOp)
		} else {
			p.add(limitOp)
			p.add(swapOp)
		}
	case limit != 0:
		p.add(limitOp)
	case swap != 0:
		p.add(swapOp)
	}
	if reservation != 0 {
		p.add(op{field: f + "reservation", dir: dir, file: "memory.soft_limit_in_bytes", value: itoa(reservation)})
	}
	if tcp {
		p.add(op{field: f + "kernelTCP", dir: dir, file: "memory.kmem.tcp.limit_in_bytes", value: itoa(*mem.KernelTCP), missingOK: true})
	}
	if swappiness {
		p.add(op{field: f + "swappiness", dir: dir, file: "memory.swappiness", value: utoa(*mem.Swappiness)})
	}
	if oom {
		v := "0"
		if *mem.DisableOOMKiller {
			v = "1"
		}
		p.add(op{field: f + "disableOOMKiller", dir: dir, file: "memory.oom_control", value: v})
	}
	if hier {
		p.add(op{field: f + "useHierarchy", dir: dir, file: "memory.use_hierarchy", value: "1", missingOK: true})
	}
	return nil
}

// memoryV2 maps memory onto cgroup2: memory.max, memory.low and
// memory.swap.max, which counts swap alone, so it gets swap - limit.
func (p *planner) memoryV2(mem *specs.LinuxMemory, dir string, limit, swap, reservation int64) error {
	const f = "linux.resources.memory."
	var swapMax string
	switch {
	case limit == -1 && swap == 0:
		swapMax = "max" // as on v1: unlimited memory, unlimited swap
	case swap == -1:
		swapMax = "max"
	case swap > 0 && limit <= 0:
		return fieldErr(f+"swap", "%d needs linux.resources.memory.limit to be set (cgroup v2 limits swap apart from memory)", swap)
	case swap > 0:
		swapMax = itoa(swap - limit)
	}
	if err := p.checkBeforeUpdate(mem, dir, "memory.current", limit); err != nil {
		return err
	}
	if swapMax != "" {
		// A kernel without swap has no memory.swap.max; "no swap" and
		// "unlimited swap" are then both what it does anyway.
		p.add(op{field: f + "swap", dir: dir, file: "memory.swap.max", value: swapMax, missingOK: swapMax == "max" || swapMax == "0"})
	}
	if limit != 0 {
		p.add(op{field: f + "limit", dir: dir, file: "memory.max", value: maxOr(limit)})
	}
	if reservation != 0 {
		p.add(op{field: f + "reservation", dir: dir, file: "memory.low", value: maxOr(reservation)})
	}
	return nil
}

// checkBeforeUpdate refuses, when asked to, a limit below current usage.
func (p *planner) checkBeforeUpdate(mem *specs.LinuxMemory, dir, usageFile string, limit int64) error {
	if mem.CheckBeforeUpdate == nil || !*mem.CheckBeforeUpdate || limit <= 0 {
		return nil
	}
	usage, err := readUint(dir, usageFile)
	if err != nil {
		return nil // no cgroup yet: nothing to compare with
	}
	if uint64(limit) < usage {
		return fieldErr("linux.resources.memory.limit", "%d is below the current usage %d (checkBeforeUpdate is set; see %s)", limit, usage, filepath.Join(dir, usageFile))
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

package sched

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Modes and mode flags of set_mempolicy(2) (linux/mempolicy.h); x/sys/unix
// does not define them.
var memoryPolicyModes = map[specs.MemoryPolicyModeType]int{
	specs.MpolDefault:            0,
	specs.MpolPreferred:          1,
	specs.MpolBind:               2,
	specs.MpolInterleave:         3,
	specs.MpolLocal:              4,
	specs.MpolPreferredMany:      5,
	specs.MpolWeightedInterleave: 6,
}

var memoryPolicyFlags = map[specs.MemoryPolicyFlagType]int{
	specs.MpolFNumaBalancing: 1 << 13,
	specs.MpolFRelativeNodes: 1 << 14,
	specs.MpolFStaticNodes:   1 << 15,
}

// MemoryPolicyModes and MemoryPolicyFlags list what ValidateMemoryPolicy
// accepts, for `nook features`.
func MemoryPolicyModes() []string { return sortedKeys(memoryPolicyModes) }

// MemoryPolicyFlags: see MemoryPolicyModes.
func MemoryPolicyFlags() []string { return sortedKeys(memoryPolicyFlags) }

// sortedKeys lists m's keys in the order of their values: the kernel's
// order, which is also the spec's.
func sortedKeys[K ~string](m map[K]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(m[K(a)], m[K(b)]) })
	return out
}

// memoryPolicy is linux.memoryPolicy as set_mempolicy(2)'s arguments.
type memoryPolicy struct {
	mode  int         // the mode with its flags
	nodes unix.CPUSet // none: a nil nodemask
}

// parseMemoryPolicy checks linux.memoryPolicy the way set_mempolicy(2)
// would, so that a mistake is named by its field before anything runs.
func parseMemoryPolicy(p *specs.LinuxMemoryPolicy) (memoryPolicy, error) {
	var mp memoryPolicy
	mode, ok := memoryPolicyModes[p.Mode]
	if !ok {
		return mp, fmt.Errorf("linux.memoryPolicy.mode: unknown mode %q (want one of %s)",
			p.Mode, strings.Join(MemoryPolicyModes(), ", "))
	}
	mp.mode = mode
	for _, f := range p.Flags {
		bit, ok := memoryPolicyFlags[f]
		if !ok {
			return mp, fmt.Errorf("linux.memoryPolicy.flags: unknown flag %q (want one of %s)",
				f, strings.Join(MemoryPolicyFlags(), ", "))
		}
		mp.mode |= bit
	}
	static, relative := memoryPolicyFlags[specs.MpolFStaticNodes], memoryPolicyFlags[specs.MpolFRelativeNodes]
	if mp.mode&static != 0 && mp.mode&relative != 0 {
		return mp, fmt.Errorf("linux.memoryPolicy.flags: %s and %s exclude each other",
			specs.MpolFStaticNodes, specs.MpolFRelativeNodes)
	}
	noNodes := strings.TrimSpace(p.Nodes) == ""
	if !noNodes {
		nodes, err := parseList("node", "node", p.Nodes)
		if err != nil {
			return mp, fmt.Errorf("linux.memoryPolicy.nodes: %w", err)
		}
		mp.nodes = nodes
	}
	switch p.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if !noNodes {
			return mp, fmt.Errorf("linux.memoryPolicy.nodes: %s takes no nodes", p.Mode)
		}
		if len(p.Flags) > 0 {
			return mp, fmt.Errorf("linux.memoryPolicy.flags: %s takes no flags", p.Mode)
		}
	case specs.MpolBind, specs.MpolInterleave, specs.MpolWeightedInterleave, specs.MpolPreferredMany:
		if noNodes {
			return mp, fmt.Errorf("linux.memoryPolicy.nodes: %s needs at least one node", p.Mode)
		}
	}
	// MPOL_PREFERRED without nodes means "the local node", as the kernel has it.
	return mp, nil
}

// ValidateMemoryPolicy checks linux.memoryPolicy; nil is valid.
func ValidateMemoryPolicy(p *specs.LinuxMemoryPolicy) error {
	if p == nil {
		return nil
	}
	_, err := parseMemoryPolicy(p)
	return err
}

// SetMemoryPolicy validates p and sets the calling thread's NUMA memory
// policy with set_mempolicy(2); it is inherited across fork and execve. nil
// leaves it alone. The kernel refuses nodes the host does not have (EINVAL)
// or may not use (a cpuset without them).
func SetMemoryPolicy(p *specs.LinuxMemoryPolicy) error {
	if p == nil {
		return nil
	}
	mp, err := parseMemoryPolicy(p)
	if err != nil {
		return err
	}
	var mask unsafe.Pointer
	var maxnode uintptr
	if mp.nodes.Count() > 0 {
		mask = unsafe.Pointer(&mp.nodes[0])
		// The kernel reads maxnode-1 bits (mm/mempolicy.c get_nodes).
		maxnode = uintptr(len(mp.nodes)*64 + 1)
	}
	if _, _, errno := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mp.mode), uintptr(mask), maxnode); errno != 0 {
		return fmt.Errorf("linux.memoryPolicy (mode %s, nodes %q): set_mempolicy: %w", p.Mode, p.Nodes, errno)
	}
	return nil
}

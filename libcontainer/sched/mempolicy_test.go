package sched

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidateMemoryPolicy(t *testing.T) {
	valid := []specs.LinuxMemoryPolicy{
		{Mode: specs.MpolDefault},
		{Mode: specs.MpolLocal},
		{Mode: specs.MpolPreferred},
		{Mode: specs.MpolPreferred, Nodes: "1"},
		{Mode: specs.MpolBind, Nodes: "0-3,7"},
		{Mode: specs.MpolInterleave, Nodes: "2-3", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}},
		{Mode: specs.MpolWeightedInterleave, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFRelativeNodes}},
		{Mode: specs.MpolPreferredMany, Nodes: "0,1"},
		{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}},
	}
	for _, p := range valid {
		if err := ValidateMemoryPolicy(&p); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if err := ValidateMemoryPolicy(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
	for _, c := range []struct {
		p    specs.LinuxMemoryPolicy
		want string
	}{
		{specs.LinuxMemoryPolicy{Mode: "MPOL_NOSUCH"}, `linux.memoryPolicy.mode: unknown mode "MPOL_NOSUCH" (want one of MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE)`},
		{specs.LinuxMemoryPolicy{}, `linux.memoryPolicy.mode: unknown mode ""`},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_NOSUCH"}}, `linux.memoryPolicy.flags: unknown flag "MPOL_F_NOSUCH"`},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes, specs.MpolFRelativeNodes}}, "exclude each other"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind}, "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: " "}, "MPOL_INTERLEAVE needs at least one node"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0"}, "linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolLocal, Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, "linux.memoryPolicy.flags: MPOL_LOCAL takes no flags"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-x"}, `linux.memoryPolicy.nodes: node list "0-x": item "0-x": "x" is not a node number`},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "3-1"}, "range ends before it starts"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "5000"}, "node 5000 is beyond the 1024 nodes this runtime can address"},
	} {
		err := ValidateMemoryPolicy(&c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.p, err, c.want)
		}
		if serr := SetMemoryPolicy(&c.p); serr == nil || serr.Error() != err.Error() {
			t.Errorf("%+v: SetMemoryPolicy = %v, want the validation error", c.p, serr)
		}
	}
}

func TestMemoryPolicyFeatures(t *testing.T) {
	if got := strings.Join(MemoryPolicyFlags(), " "); got != "MPOL_F_NUMA_BALANCING MPOL_F_RELATIVE_NODES MPOL_F_STATIC_NODES" {
		t.Errorf("MemoryPolicyFlags = %s", got)
	}
	if n := len(MemoryPolicyModes()); n != 7 {
		t.Errorf("MemoryPolicyModes has %d modes, want 7", n)
	}
}

// getMempolicy returns the calling thread's policy mode and the first word
// of its nodemask.
func getMempolicy(t *testing.T) (mode int, mask uint64) {
	var m int32
	var nodes [16]uint64
	if _, _, errno := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&m)),
		uintptr(unsafe.Pointer(&nodes[0])), uintptr(len(nodes)*64), 0, 0, 0); errno != 0 {
		t.Fatalf("get_mempolicy: %v", errno)
	}
	return int(m), nodes[0]
}

// The policy the kernel then reports, on a thread of its own (node 0
// exists on every Linux host).
func TestSetMemoryPolicy(t *testing.T) {
	for _, c := range []struct {
		p        specs.LinuxMemoryPolicy
		mode     int
		nodeMask uint64
	}{
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, 2, 1},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, 3 | 1<<15, 1},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0"}, 1, 1},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolLocal}, 4, 0},
	} {
		err := onThrowawayThread(func() error {
			if err := SetMemoryPolicy(&c.p); err != nil {
				return err
			}
			if mode, mask := getMempolicy(t); mode != c.mode || mask != c.nodeMask {
				t.Errorf("%+v: the kernel reports mode %#x nodes %#x, want %#x %#x", c.p, mode, mask, c.mode, c.nodeMask)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%+v: %v", c.p, err)
		}
	}
	// A node the host does not have: the kernel's refusal, named.
	err := onThrowawayThread(func() error {
		return SetMemoryPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1000"})
	})
	if err == nil || !strings.Contains(err.Error(), `linux.memoryPolicy (mode MPOL_BIND, nodes "1000"): set_mempolicy: invalid argument`) {
		t.Errorf("node 1000: got %v", err)
	}
}

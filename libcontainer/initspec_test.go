package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestInitSpecDropsWhatOnlyTheParentUses(t *testing.T) {
	s := &specs.Spec{
		Hostname: "h",
		Linux: &specs.Linux{
			Resources:  &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			Seccomp:    &specs.LinuxSeccomp{DefaultAction: specs.ActErrno},
			Sysctl:     map[string]string{"kernel.shmmax": "1"},
			NetDevices: map[string]specs.LinuxNetDevice{"eth0": {}},
		},
	}
	got := initSpec(s)
	if got.Linux.Resources != nil || got.Linux.Seccomp != nil || got.Linux.NetDevices != nil {
		t.Errorf("init spec keeps resources %v, seccomp %v, netDevices %v", got.Linux.Resources, got.Linux.Seccomp, got.Linux.NetDevices)
	}
	if got.Hostname != "h" || got.Linux.Sysctl["kernel.shmmax"] != "1" {
		t.Errorf("init spec lost what the init uses: %+v", got)
	}
	if s.Linux.Resources == nil || s.Linux.Seccomp == nil || s.Linux.NetDevices == nil {
		t.Error("initSpec changed the caller's spec")
	}
	if initSpec(&specs.Spec{}).Linux != nil {
		t.Error("a spec without linux got one")
	}
}

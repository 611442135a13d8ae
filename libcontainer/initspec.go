package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// initSpec is the spec as the init gets it: without what only the parent
// uses. linux.resources is applied to the cgroup by the parent, which also
// moves linux.netDevices in, and linux.seccomp travels compiled
// (initproto.InitConfig.Seccomp); a Docker or
// Kubernetes profile is hundreds of syscall names the init would otherwise
// decode for nothing. s itself is not changed.
func initSpec(s *specs.Spec) *specs.Spec {
	out := *s
	if s.Linux != nil {
		l := *s.Linux
		l.Resources = nil
		l.Seccomp = nil
		l.NetDevices = nil
		out.Linux = &l
	}
	return &out
}

package spec

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// VersionAnnotation is the features annotation carrying nook's version.
const VersionAnnotation = "io.github.nookrt.nook.version"

// Support switches for subsystems that later work implements. Flip each one
// to true in the change that makes the subsystem real: the features document
// must describe what this build does, since containerd and others enable
// behaviour based on it.
const (
	implCgroupV1          = true
	implCgroupV2          = true
	implCgroupSystemd     = true
	implCgroupSystemdUser = false
	implCgroupRdma        = true
	implSeccomp           = true // the details come from package seccomp (cli/features.go)
	implApparmor          = true
	implSelinux           = true
	implIntelRdt          = false
	implNetDevices        = true
	implIDMapMounts       = true
)

// Features returns the runtime-spec features document for this build of
// nook; version goes into the VersionAnnotation annotation. The result is a
// fresh value each call, so callers may modify it.
func Features(version string) *features.Features {
	return &features.Features{
		OCIVersionMin: ociVersionMin,
		OCIVersionMax: ociVersionMax,
		Hooks:         clone(hookNames),
		MountOptions:  clone(mountOptions),
		Linux: &features.Linux{
			Namespaces:   clone(namespaceTypes),
			Capabilities: clone(capabilityNames),
			Cgroup: &features.Cgroup{
				V1:          boolPtr(implCgroupV1),
				V2:          boolPtr(implCgroupV2),
				Systemd:     boolPtr(implCgroupSystemd),
				SystemdUser: boolPtr(implCgroupSystemdUser),
				Rdma:        boolPtr(implCgroupRdma),
			},
			Seccomp:    &features.Seccomp{Enabled: boolPtr(implSeccomp)},
			Apparmor:   &features.Apparmor{Enabled: boolPtr(implApparmor)},
			Selinux:    &features.Selinux{Enabled: boolPtr(implSelinux)},
			IntelRdt:   &features.IntelRdt{Enabled: boolPtr(implIntelRdt)},
			NetDevices: &features.NetDevices{Enabled: boolPtr(implNetDevices)},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: boolPtr(implIDMapMounts)},
			},
		},
		Annotations: map[string]string{VersionAnnotation: version},
	}
}

func boolPtr(b bool) *bool { return &b }

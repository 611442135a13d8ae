package libcontainer

import (
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/apparmor"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/netdev"
	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/libcontainer/sched"
	"github.com/nookrt/nook/libcontainer/sysctl"
)

// validate checks, before anything is created, every field whose mistakes
// would otherwise surface half-way through create (spec.Validate has done
// the structural checks).
func validate(s *specs.Spec) error {
	for i, m := range s.Mounts {
		if err := rootfs.CheckMount(i, m, rootfs.SharesHostPID(s)); err != nil {
			return err
		}
	}
	if err := hooks.Validate(s.Hooks); err != nil {
		return err
	}
	if err := hooks.CheckRuntimePaths(s.Hooks); err != nil {
		return err
	}
	if p := s.Process; p != nil {
		if err := sched.ValidateScheduler(p.Scheduler); err != nil {
			return err
		}
		if err := sched.ValidateIOPriority(p.IOPriority); err != nil {
			return err
		}
		if err := sched.ValidateCPUAffinity(p.ExecCPUAffinity); err != nil {
			return err
		}
		// runc's behaviour: a profile on a host without AppArmor fails
		// (here, before anything exists). An SELinux label on a host
		// without SELinux is skipped by the init with a debug line.
		if p.ApparmorProfile != "" {
			if err := apparmor.ValidateProfile(p.ApparmorProfile); err != nil {
				return err
			}
		}
	}
	if l := s.Linux; l != nil {
		if err := sched.ValidatePersonality(l.Personality); err != nil {
			return err
		}
		if err := sched.ValidateMemoryPolicy(l.MemoryPolicy); err != nil {
			return err
		}
		if len(l.NetDevices) > 0 {
			if !initproto.HasNamespace(l, specs.NetworkNamespace) {
				return errors.New("linux.netDevices: needs a network namespace in linux.namespaces (without one the devices would stay on the host)")
			}
			if err := netdev.Validate(l.NetDevices); err != nil {
				return err
			}
		}
		// Not implemented: refused rather than ignored, since a container
		// that asked for cache or memory-bandwidth limits must not run
		// without them.
		if l.IntelRdt != nil {
			return errors.New("linux.intelRdt: Intel RDT is not supported by nook (see `nook features`)")
		}
		if err := sysctl.Validate(l.Sysctl, sysctlNamespaces(l)); err != nil {
			return err
		}
	}
	return nil
}

// normalizeMounts rewrites mounts[].destination to where each lands in
// the root (rootfs.NormalizeDestinations: a relative one, or one that
// carries the rootfs's host path, as runc takes it) and passes on the
// deprecation warnings, before validate and everything else sees them.
func normalizeMounts(o CreateOptions) {
	for _, w := range rootfs.NormalizeDestinations(o.Spec.Mounts, o.Rootfs) {
		if o.Warn != nil {
			o.Warn(w)
		}
	}
}

// sysctlNamespaces says which namespaces a sysctl may be set in: the
// container's own, created or joined, but not the host's joined by path.
func sysctlNamespaces(l *specs.Linux) sysctl.Namespaces {
	own := func(t specs.LinuxNamespaceType, proc string) bool {
		for _, ns := range l.Namespaces {
			if ns.Type != t {
				continue
			}
			return ns.Path == "" || !sameFile(ns.Path, "/proc/self/ns/"+proc)
		}
		return false
	}
	return sysctl.Namespaces{
		IPC:  own(specs.IPCNamespace, "ipc"),
		Net:  own(specs.NetworkNamespace, "net"),
		UTS:  own(specs.UTSNamespace, "uts"),
		User: own(specs.UserNamespace, "user"),
	}
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/initproto"
)

// nsKinds maps runtime-spec namespace types to clone flags and /proc/<pid>/ns names.
var nsKinds = []struct {
	typ  specs.LinuxNamespaceType
	flag uint32
	proc string
}{
	{specs.UserNamespace, unix.CLONE_NEWUSER, "user"},
	{specs.MountNamespace, unix.CLONE_NEWNS, "mnt"},
	{specs.PIDNamespace, unix.CLONE_NEWPID, "pid"},
	{specs.NetworkNamespace, unix.CLONE_NEWNET, "net"},
	{specs.IPCNamespace, unix.CLONE_NEWIPC, "ipc"},
	{specs.UTSNamespace, unix.CLONE_NEWUTS, "uts"},
	{specs.CgroupNamespace, unix.CLONE_NEWCGROUP, "cgroup"},
	{specs.TimeNamespace, unix.CLONE_NEWTIME, "time"},
}

// namespacePlan splits linux.namespaces into namespaces to create (clone
// flags) and namespaces to join (paths). Validation has already refused
// unknown types and duplicates.
func namespacePlan(l *specs.Linux) (flags uint32, join []initproto.NsPath) {
	if l == nil {
		return 0, nil
	}
	for _, ns := range l.Namespaces {
		for _, k := range nsKinds {
			if k.typ != ns.Type {
				continue
			}
			if ns.Path == "" {
				flags |= k.flag
			} else {
				join = append(join, initproto.NsPath{Flag: k.flag, Path: ns.Path})
			}
		}
	}
	return flags, join
}

// hasNamespace says whether the container gets a namespace of this type, new or joined.
func hasNamespace(l *specs.Linux, t specs.LinuxNamespaceType) bool {
	if l == nil {
		return false
	}
	for _, ns := range l.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

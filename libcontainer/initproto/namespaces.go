package initproto

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// NamespaceKind ties a runtime-spec namespace type to its clone flag and
// its name under /proc/<pid>/ns.
type NamespaceKind struct {
	Type specs.LinuxNamespaceType
	Flag uint32
	Proc string
}

// namespaceKinds lists every namespace type nook knows.
var namespaceKinds = [...]NamespaceKind{
	{specs.UserNamespace, unix.CLONE_NEWUSER, "user"},
	{specs.MountNamespace, unix.CLONE_NEWNS, "mnt"},
	{specs.PIDNamespace, unix.CLONE_NEWPID, "pid"},
	{specs.NetworkNamespace, unix.CLONE_NEWNET, "net"},
	{specs.IPCNamespace, unix.CLONE_NEWIPC, "ipc"},
	{specs.UTSNamespace, unix.CLONE_NEWUTS, "uts"},
	{specs.CgroupNamespace, unix.CLONE_NEWCGROUP, "cgroup"},
	{specs.TimeNamespace, unix.CLONE_NEWTIME, "time"},
}

// NamespaceKinds returns every namespace type nook knows (an array, so a
// copy: callers cannot change the table).
func NamespaceKinds() [len(namespaceKinds)]NamespaceKind { return namespaceKinds }

// NamespacePlan splits linux.namespaces into namespaces to create (clone
// flags) and namespaces to join (paths). Validation has already refused
// unknown types and duplicates.
func NamespacePlan(l *specs.Linux) (flags uint32, join []NsPath) {
	if l == nil {
		return 0, nil
	}
	for _, ns := range l.Namespaces {
		for _, k := range namespaceKinds {
			if k.Type != ns.Type {
				continue
			}
			if ns.Path == "" {
				flags |= k.Flag
			} else {
				join = append(join, NsPath{Flag: k.Flag, Path: ns.Path})
			}
		}
	}
	return flags, join
}

// HasNamespace says whether the container gets a namespace of this type, new or joined.
func HasNamespace(l *specs.Linux, t specs.LinuxNamespaceType) bool {
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

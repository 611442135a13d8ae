// Package sysctl checks and applies linux.sysctl: Validate runs on the host at create time,
// Write runs in the container's init after its /proc is mounted.
//
// /proc/sys is only partly namespaced, so a sysctl is accepted only when the container has
// its own copy of the kernel namespace that owns it; any other key would change the host.
package sysctl

import (
	"fmt"
	"sort"
	"strings"
)

// Namespaces says which of the namespaces that own sysctls the container has its own of:
// created for it, or joined by path. A path that names the runtime's own namespace (for net,
// the host's) is not separate and must be reported false.
type Namespaces struct {
	IPC  bool
	Net  bool
	UTS  bool
	User bool
}

// ipcKeys are the kernel.* sysctls that live in the IPC namespace; fs.mqueue.* does too.
var ipcKeys = map[string]bool{
	"kernel.msgmax":          true,
	"kernel.msgmnb":          true,
	"kernel.msgmni":          true,
	"kernel.sem":             true,
	"kernel.shmall":          true,
	"kernel.shmmax":          true,
	"kernel.shmmni":          true,
	"kernel.shm_rmid_forced": true,
}

// Validate checks every key of linux.sysctl (in sorted order, so the error is always the
// same one) and returns the first problem, naming the key.
func Validate(sysctl map[string]string, ns Namespaces) error {
	for _, name := range sortedKeys(sysctl) {
		k, err := parseKey(name)
		if err != nil {
			return fmt.Errorf("linux.sysctl: %w", err)
		}
		if err := checkNamespace(k.dotted, ns); err != nil {
			return fmt.Errorf("linux.sysctl: %w", err)
		}
	}
	return nil
}

// checkNamespace applies runc's rules to one canonical (dotted) key.
func checkNamespace(name string, ns Namespaces) error {
	const refuse = "refusing to set it (it would change the host)"
	switch {
	case ipcKeys[name] || strings.HasPrefix(name, "fs.mqueue."):
		if !ns.IPC {
			return fmt.Errorf("%q belongs to the ipc namespace and the container has none of its own; %s", name, refuse)
		}
	case strings.HasPrefix(name, "net."):
		if !ns.Net {
			return fmt.Errorf("%q belongs to the network namespace and the container has none of its own; %s", name, refuse)
		}
	case name == "kernel.hostname" || name == "kernel.domainname":
		if !ns.UTS {
			return fmt.Errorf("%q belongs to the uts namespace and the container has none of its own; %s", name, refuse)
		}
	case strings.HasPrefix(name, "user."):
		// The ucount limits (user.max_user_namespaces, …) are per user
		// namespace. Without one of its own the container would set the
		// host's, which may have been lowered on purpose (0 disables
		// user namespaces), as runc refuses too.
		if !ns.User {
			return fmt.Errorf("%q belongs to the user namespace and the container has none of its own; %s", name, refuse)
		}
	default:
		return fmt.Errorf("%q is not in a separate kernel namespace of this container; %s", name, refuse)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

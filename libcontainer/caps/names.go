// Package caps turns the capabilities of an OCI config into kernel capability
// sets and applies them to the container init.
//
// The init applies them in steps so that it can change uids in between:
//
//	DropBounding(s)          // needs CAP_SETPCAP, so before Apply
//	prctl(PR_SET_KEEPCAPS)   // caller: keep permitted across setuid
//	setresgid/setgroups/setresuid
//	Apply(s)                 // effective, permitted, inheritable
//	ApplyAmbient(s)          // needs the caps in permitted and inheritable
//	execve
package caps

import "strconv"

// names maps a capability number (the index) to its name, as in
// capabilities(7) and <linux/capability.h>. The numbers are kernel ABI.
var names = [...]string{
	0:  "CAP_CHOWN",
	1:  "CAP_DAC_OVERRIDE",
	2:  "CAP_DAC_READ_SEARCH",
	3:  "CAP_FOWNER",
	4:  "CAP_FSETID",
	5:  "CAP_KILL",
	6:  "CAP_SETGID",
	7:  "CAP_SETUID",
	8:  "CAP_SETPCAP",
	9:  "CAP_LINUX_IMMUTABLE",
	10: "CAP_NET_BIND_SERVICE",
	11: "CAP_NET_BROADCAST",
	12: "CAP_NET_ADMIN",
	13: "CAP_NET_RAW",
	14: "CAP_IPC_LOCK",
	15: "CAP_IPC_OWNER",
	16: "CAP_SYS_MODULE",
	17: "CAP_SYS_RAWIO",
	18: "CAP_SYS_CHROOT",
	19: "CAP_SYS_PTRACE",
	20: "CAP_SYS_PACCT",
	21: "CAP_SYS_ADMIN",
	22: "CAP_SYS_BOOT",
	23: "CAP_SYS_NICE",
	24: "CAP_SYS_RESOURCE",
	25: "CAP_SYS_TIME",
	26: "CAP_SYS_TTY_CONFIG",
	27: "CAP_MKNOD",
	28: "CAP_LEASE",
	29: "CAP_AUDIT_WRITE",
	30: "CAP_AUDIT_CONTROL",
	31: "CAP_SETFCAP",
	32: "CAP_MAC_OVERRIDE",
	33: "CAP_MAC_ADMIN",
	34: "CAP_SYSLOG",
	35: "CAP_WAKE_ALARM",
	36: "CAP_BLOCK_SUSPEND",
	37: "CAP_AUDIT_READ",
	38: "CAP_PERFMON",
	39: "CAP_BPF",
	40: "CAP_CHECKPOINT_RESTORE",
}

// Parse returns the number of the capability called name ("CAP_SYS_ADMIN").
// Names are matched exactly, as the OCI spec and capabilities(7) spell them.
func Parse(name string) (int, bool) {
	// A linear scan of 41 short strings is cheaper than keeping a second,
	// reverse table in sync with the first.
	for n, s := range names {
		if s == name {
			return n, true
		}
	}
	return 0, false
}

// Names returns every capability name this package knows, ordered by number.
func Names() []string {
	out := make([]string, len(names))
	copy(out, names[:])
	return out
}

// Name returns the name of capability c, or "capability N" for a number the
// table does not know (a kernel newer than this package).
func Name(c int) string {
	if c >= 0 && c < len(names) {
		return names[c]
	}
	return "capability " + strconv.Itoa(c)
}

package spec

// The tables below describe what nook recognises. They are read-only: Go has
// no constant slices, so callers that hand them out must copy them first.

// namespaceTypes are the Linux namespace types nook can create or join, in
// the order the features document lists them.
var namespaceTypes = []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}

// hookNames are the lifecycle hooks nook runs.
var hookNames = []string{
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
}

// rlimitTypes are the resource limits setrlimit(2) knows on Linux.
var rlimitTypes = []string{
	"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
	"RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
	"RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
}

// mountOptions are the generic mount options nook's mount parser turns into
// mount flags or propagation changes. Filesystem-specific data options
// (mode=, size=, …) are passed through to mount(2) and are not listed, as the
// features document asks.
var mountOptions = []string{
	"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap", "iversion",
	"lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
	"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
	"ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "ridmap", "rnoatime",
	"rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow",
	"ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
	"rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
	"symfollow", "sync", "tmpcopyup", "unbindable",
}

// capabilityNames lists every Linux capability; the index is the
// capability's number (CAP_CHOWN is 0, CAP_CHECKPOINT_RESTORE is 40).
var capabilityNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/seccomp"
)

// InitConfig is the Config message: everything the Go init needs, sent by the
// parent once the init is in its namespaces (InitGo follows once it is in
// its cgroup).
type InitConfig struct {
	ID     string      `json:"id"`
	Spec   *specs.Spec `json:"spec"`
	Rootfs string      `json:"rootfs"` // absolute host path
	Bundle string      `json:"bundle"`
	// NewUserns: the init is in a user namespace it created, still with the
	// host uid; it switches to the namespace's root once the rootfs is open.
	NewUserns bool `json:"newUserns"`
	// Pid is the init's pid in the host's pid namespace (for hook states).
	Pid int `json:"pid"`
	// ParentHooks: prestart/createRuntime hooks exist; the init sends
	// RunHooks before pivot_root and waits for HooksDone.
	ParentHooks bool `json:"parentHooks,omitempty"`
	// Exec: a process joining a running container (`nook exec`), not its
	// init: no rootfs, no barrier.
	Exec         bool `json:"exec,omitempty"`
	NoPivot      bool `json:"noPivot"`
	NoNewKeyring bool `json:"noNewKeyring"`
	// PreserveFds extra fds (3..3+N-1) stay open across execve.
	PreserveFds int `json:"preserveFds"`
	// ListenFds of them (the first) are socket-activation fds: the process
	// gets LISTEN_FDS and LISTEN_PID.
	ListenFds int `json:"listenFds,omitempty"`
	// FifoFd is the inherited O_PATH fd of the start barrier.
	FifoFd int `json:"fifoFd"`
	// ConsoleFd is the connected --console-socket (0: no terminal).
	ConsoleFd int `json:"consoleFd,omitempty"`
	// Seccomp is linux.seccomp compiled by the parent; SeccompFd the
	// connected listenerPath socket when it uses SCMP_ACT_NOTIFY.
	Seccomp   *seccomp.Program `json:"seccomp,omitempty"`
	SeccompFd int              `json:"seccompFd,omitempty"`
	// IdmapFds maps the index of an idmapped mount to the fd of the user
	// namespace holding its mappings.
	IdmapFds map[int]int `json:"idmapFds,omitempty"`
}

package initproto

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

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
	// Userns: the init is in a user namespace (made or joined by path),
	// still with the host uid; it switches to the namespace's root once the
	// rootfs is open (a joined one's too: the host uid is not mapped there,
	// and files it made would fail with EOVERFLOW).
	Userns bool `json:"userns"`
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
	// The files the init takes over come with the Config message
	// (SCM_RIGHTS). The parent writes each one's slot, its 1-based position
	// among them (0: not sent); ResolveFds turns slots into the init's fds.
	//
	// FifoFd is the start barrier, open read-write (create only).
	FifoFd int `json:"fifoFd,omitempty"`
	// ProcFd is a clone of the host's /proc (procfs.OpenHost): every
	// procfs write of the init goes through it, never through the
	// container's /proc.
	ProcFd int `json:"procFd,omitempty"`
	// ConsoleFd is the connected --console-socket (0: no terminal).
	ConsoleFd int `json:"consoleFd,omitempty"`
	// ConsoleRelayed: the console socket is nook's own (run or exec in
	// the foreground relays the terminal): the terminal is made with
	// ONLCR off, before the process can write, so its output is relayed
	// as written (CreateOptions.RelayConsole).
	ConsoleRelayed bool `json:"consoleRelayed,omitempty"`
	// Seccomp is linux.seccomp compiled by the parent; SeccompFd the
	// connected listenerPath socket when it uses SCMP_ACT_NOTIFY.
	Seccomp   *seccomp.Program `json:"seccomp,omitempty"`
	SeccompFd int              `json:"seccompFd,omitempty"`
	// IdmapFds maps the index of an idmapped mount to the user namespace
	// holding its mappings.
	IdmapFds map[int]int `json:"idmapFds,omitempty"`
	// BindFds maps the index of a bind mount to its source, cloned by the
	// parent on the host (rootfs.PrepareBind).
	BindFds map[int]int `json:"bindFds,omitempty"`
}

// ResolveFds turns the slots the parent wrote into the fds the files
// arrived as (fds, in the order sent). Each slot names a distinct file; a
// file no slot names is closed.
func (c *InitConfig) ResolveFds(fds []int) error {
	used := make([]bool, len(fds))
	resolve := func(slot *int, what string) error {
		if *slot == 0 {
			return nil
		}
		if *slot < 1 || *slot > len(fds) || used[*slot-1] {
			return fmt.Errorf("init config: %s names file %d of the %d sent", what, *slot, len(fds))
		}
		used[*slot-1] = true
		*slot = fds[*slot-1]
		return nil
	}
	err := resolve(&c.FifoFd, "the start barrier")
	if err == nil {
		err = resolve(&c.ProcFd, "the host's procfs")
	}
	if err == nil {
		err = resolve(&c.ConsoleFd, "the console socket")
	}
	if err == nil {
		err = resolve(&c.SeccompFd, "the seccomp listener socket")
	}
	for mount, slot := range c.IdmapFds {
		if err == nil {
			err = resolve(&slot, fmt.Sprintf("the user namespace of idmapped mount %d", mount))
			c.IdmapFds[mount] = slot
		}
	}
	for mount, slot := range c.BindFds {
		if err == nil {
			err = resolve(&slot, fmt.Sprintf("the source of bind mount %d", mount))
			c.BindFds[mount] = slot
		}
	}
	if err != nil {
		CloseFds(fds)
		return err
	}
	for i, fd := range fds {
		if !used[i] {
			unix.Close(fd)
		}
	}
	return nil
}

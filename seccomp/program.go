package seccomp

import (
	"encoding/binary"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// sockFilterSize is the size of one classic-BPF instruction (struct
// sock_filter: u16 code, u8 jt, u8 jf, u32 k).
const sockFilterSize = 8

// maxInstructions is the kernel's BPF_MAXINSNS: longer programs are refused.
const maxInstructions = 4096

// Program is a compiled seccomp filter: everything the init needs to install
// it with one seccomp(2) call and hand the listener on. It is plain data,
// meant to travel to the init inside its JSON configuration.
type Program struct {
	// Filter is the classic-BPF program as the kernel reads it: an array of
	// struct sock_filter in native byte order (JSON: base64).
	Filter []byte `json:"filter"`
	// Flags are the seccomp(2) SECCOMP_SET_MODE_FILTER flags, including
	// SECCOMP_FILTER_FLAG_NEW_LISTENER when a rule uses SCMP_ACT_NOTIFY.
	Flags uint `json:"flags,omitempty"`
	// ListenerPath is linux.seccomp.listenerPath when the filter notifies,
	// empty otherwise (the spec says the path is ignored without NOTIFY).
	ListenerPath string `json:"listenerPath,omitempty"`
	// ListenerMetadata is linux.seccomp.listenerMetadata, sent to the agent
	// as the container process state's "metadata".
	ListenerMetadata string `json:"listenerMetadata,omitempty"`
}

// NeedsListener reports whether loading the program yields a listener fd
// that must be sent to the agent at ListenerPath.
func (p *Program) NeedsListener() bool {
	return p != nil && p.Flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
}

// Instructions decodes Filter into the kernel's instruction structs,
// checking its shape so a damaged Program fails with a clear error instead
// of an EINVAL from the kernel.
func (p *Program) Instructions() ([]unix.SockFilter, error) {
	if p == nil {
		return nil, fmt.Errorf("no seccomp program")
	}
	n := len(p.Filter) / sockFilterSize
	switch {
	case len(p.Filter) == 0:
		return nil, fmt.Errorf("seccomp program is empty")
	case len(p.Filter)%sockFilterSize != 0:
		return nil, fmt.Errorf("seccomp program is %d bytes, not a whole number of %d-byte instructions", len(p.Filter), sockFilterSize)
	case n > maxInstructions:
		return nil, fmt.Errorf("seccomp program has %d instructions; the kernel accepts at most %d", n, maxInstructions)
	}
	insns := make([]unix.SockFilter, n)
	for i := range insns {
		b := p.Filter[i*sockFilterSize:]
		insns[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:2]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:8]),
		}
	}
	return insns, nil
}

// ProcessState builds the container process state sent to the agent with the
// listener fd (runtime-spec config-linux.md "The container process state"):
// pid is the container process as seen by the runtime, state the container's
// state at the time of sending.
func (p *Program) ProcessState(pid int, state specs.State) specs.ContainerProcessState {
	return specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      pid,
		Metadata: p.ListenerMetadata,
		State:    state,
	}
}

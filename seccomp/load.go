package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs the program on the calling thread with
// seccomp(SECCOMP_SET_MODE_FILTER, Flags, &prog) and returns the listener fd
// (O_CLOEXEC, as the kernel creates it) when NeedsListener, else -1. The
// init uses Install, which also hands the listener on.
//
// The filter applies to the calling OS thread only (never
// SECCOMP_FILTER_FLAG_TSYNC, see LoadFlags) and to everything it execs or
// forks, so the caller must hold runtime.LockOSThread and call execve from
// the same thread. The thread needs no_new_privs set or CAP_SYS_ADMIN in
// its user namespace. After Load, every syscall the thread makes goes
// through the filter.
func (p *Program) Load() (listenerFd int, err error) {
	insns, err := p.Instructions()
	if err != nil {
		return -1, err
	}
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	// Raw: the call is quick, and no scheduler code (entersyscall's and
	// exitsyscall's futex calls) runs on the thread once the filter is on.
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.LoadFlags()), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return -1, loadError(errno)
	}
	if p.NeedsListener() {
		return int(r), nil
	}
	return -1, nil
}

// LoadFlags are Flags without SECCOMP_FILTER_FLAG_TSYNC, whatever a
// Program says: Compile leaves it out (see newPlan), and Install depends on
// the other threads staying unfiltered.
func (p *Program) LoadFlags() uint {
	return p.Flags &^ (unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH)
}

func loadError(errno unix.Errno) error {
	if errors.Is(errno, unix.EACCES) {
		return fmt.Errorf("seccomp: load filter: %w (the thread needs no_new_privs or CAP_SYS_ADMIN)", errno)
	}
	return fmt.Errorf("seccomp: load filter: %w", errno)
}

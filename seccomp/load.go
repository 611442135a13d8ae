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
// (O_CLOEXEC, as the kernel creates it) when NeedsListener, else -1.
//
// The filter applies to the calling OS thread (all threads with
// SECCOMP_FILTER_FLAG_TSYNC) and to everything it execs or forks, so the
// caller must hold runtime.LockOSThread and call execve from the same thread.
// The thread needs no_new_privs set or CAP_SYS_ADMIN in its user namespace.
// After Load, every syscall the thread makes goes through the filter.
func (p *Program) Load() (listenerFd int, err error) {
	insns, err := p.Instructions()
	if err != nil {
		return -1, err
	}
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return -1, loadError(errno)
	}
	if p.NeedsListener() {
		return int(r), nil
	}
	if r != 0 {
		// TSYNC without a listener reports the id of a thread that could not
		// be synchronised as a positive result; the filter is not installed.
		return -1, fmt.Errorf("seccomp: thread %d could not be synchronised to the filter (SECCOMP_FILTER_FLAG_TSYNC)", r)
	}
	return -1, nil
}

func loadError(errno unix.Errno) error {
	switch {
	case errors.Is(errno, unix.EACCES):
		return fmt.Errorf("seccomp: load filter: %w (the thread needs no_new_privs or CAP_SYS_ADMIN)", errno)
	case errors.Is(errno, unix.ESRCH):
		return fmt.Errorf("seccomp: load filter: %w (another thread could not be synchronised, SECCOMP_FILTER_FLAG_TSYNC)", errno)
	}
	return fmt.Errorf("seccomp: load filter: %w", errno)
}

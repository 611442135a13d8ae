package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The init changes its ids on the one locked thread that goes on to
// execve, as it does its capabilities: execve gives the new program the
// calling thread's credentials and ends every other thread. Go's
// syscall.Setresuid and friends instead change every thread of the process
// (with cgo, the C library, glibc or musl, signals each thread and waits
// for it: three such rounds cost the init ~1 ms on the CI VM, on create's
// critical path). The other
// threads are the Go runtime's own; no container process exists yet.

// setresuidThread sets the calling thread's real, effective and saved uid.
func setresuidThread(uid uint32) error {
	if _, _, errno := unix.Syscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); errno != 0 {
		return errno
	}
	return nil
}

// setresgidThread sets the calling thread's real, effective and saved gid.
func setresgidThread(gid uint32) error {
	if _, _, errno := unix.Syscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); errno != 0 {
		return errno
	}
	return nil
}

// setgroupsThread sets the calling thread's supplementary groups.
func setgroupsThread(gids []uint32) error {
	var p unsafe.Pointer
	if len(gids) > 0 {
		p = unsafe.Pointer(&gids[0])
	}
	if _, _, errno := unix.Syscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(p), 0); errno != 0 {
		return errno
	}
	return nil
}

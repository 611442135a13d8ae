package hooks

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fallbackFdScan bounds the fd scan when /proc/self/fd cannot be read (no
// procfs mounted where the hook runs). Go raises the soft RLIMIT_NOFILE to
// the hard limit at start-up, often 2^20, which is too many to probe one by
// one.
const fallbackFdScan = 1 << 16

// sealInheritedFds marks close-on-exec every descriptor above stderr that is
// not already, so that a hook receives nothing but its stdio, and returns the
// function that undoes it.
//
// Every fd nook opens itself is O_CLOEXEC, but fds it inherited on purpose
// (LISTEN_FDS, --preserve-fds, which the init hands to the container
// process) are not, and os.StartProcess has no way to close fds in the child.
// They are therefore sealed for the moment of the fork and restored after, so
// the init still passes them to the container. The window is the duration of
// one fork+exec, during which nook's single-threaded lifecycle code starts
// nothing else.
func sealInheritedFds() (restore func()) {
	var sealed []int
	for _, fd := range candidateFds() {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC); err == nil {
			sealed = append(sealed, fd)
		}
	}
	return func() {
		for _, fd := range sealed {
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			if err == nil {
				_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags&^unix.FD_CLOEXEC)
			}
		}
	}
}

// candidateFds lists the open descriptors above 2, from /proc/self/fd, or
// every number up to a bound when procfs is not there.
func candidateFds() []int {
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close() // its own fd is in names; it is O_CLOEXEC and now closed
		if err == nil {
			fds := make([]int, 0, len(names))
			for _, n := range names {
				if fd, err := strconv.Atoi(n); err == nil && fd > 2 {
					fds = append(fds, fd)
				}
			}
			return fds
		}
	}
	limit := fallbackFdScan
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur < uint64(limit) {
		limit = int(rl.Cur)
	}
	fds := make([]int, 0, limit)
	for fd := 3; fd < limit; fd++ {
		fds = append(fds, fd)
	}
	return fds
}

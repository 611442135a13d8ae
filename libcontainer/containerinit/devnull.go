package containerinit

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// reopenDevNull points each of stdin, stdout and stderr that is a null
// device (the host's /dev/null an engine gave the container, as conmon does
// for stdin) at the container's own /dev/null, as runc does. CRIU cannot
// checkpoint a process holding a file of a mount outside the container.
// It runs in the container's root, once its /dev is made.
func reopenDevNull() error {
	f, err := os.OpenFile("/dev/null", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("reopen /dev/null in the container: %w", err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || !isNullDevice(&st) {
		return fmt.Errorf("reopen /dev/null in the container: it is not the null device (1:3)")
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Fstat(fd, &st); err != nil || !isNullDevice(&st) {
			continue
		}
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return fmt.Errorf("reopen /dev/null as fd %d: %w", fd, err)
		}
	}
	return nil
}

func isNullDevice(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3)
}

package console

import (
	"errors"
	"fmt"
	"os"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// SetupSlaveStdio makes slave the controlling terminal of a new session led
// by the caller and puts it on fds 0, 1 and 2 (without FD_CLOEXEC), which is
// what the init does just before it executes the container process. slave
// itself stays open and O_CLOEXEC; the caller may close it.
//
// setsid(2) fails when the caller already leads a process group; the init,
// forked as PID 1 of a new pid namespace, never does.
func SetupSlaveStdio(slave *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("setsid: %w (the caller already leads a process group)", err)
		}
		return fmt.Errorf("setsid: %w", err)
	}
	return rawfile.Control(slave, func(fd int) error {
		// 0: do not steal a terminal that is some other session's.
		if err := unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("make %s the controlling terminal (TIOCSCTTY): %w", slave.Name(), err)
		}
		for target := 0; target <= 2; target++ {
			if fd == target {
				// Already in place: it only has to survive execve.
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
					return fmt.Errorf("clear FD_CLOEXEC on fd %d: %w", fd, err)
				}
				continue
			}
			if err := unix.Dup3(fd, target, 0); err != nil {
				return fmt.Errorf("dup %s onto fd %d: %w", slave.Name(), target, err)
			}
		}
		return nil
	})
}

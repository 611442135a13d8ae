// Package console gives a container a terminal: it allocates the pty inside
// the container, hands its master to the engine over --console-socket
// (runc's protocol, see CONTRACT.md), sets the slave up as the container
// process's controlling terminal and stdio, and, for a foreground `nook run`
// without --console-socket, receives the master itself and relays it to the
// caller's terminal.
package console

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// Device numbers (devices.txt): /dev/ptmx is 5:2, and Unix98 pty slaves use
// majors 136 to 143.
const (
	ptmxMajor     = 5
	ptmxMinor     = 2
	ptsMajorFirst = 136
	ptsMajorLast  = 143
)

// NewPty allocates a pty pair from /dev/ptmx and returns its master and the
// slave's path. The init calls it inside the container after pivot_root, so
// that /dev/ptmx (a symlink to pts/ptmx there) allocates from the container's
// own devpts instance and the slave is /dev/pts/N of the container. The
// master is O_CLOEXEC and in blocking mode, the state in which runc hands it
// to engines.
func NewPty() (master *os.File, slavePath string, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	// A container's /dev is the runtime's own tmpfs, but what /dev/ptmx
	// leads to is still checked: only the real multiplexer may become the
	// container's terminal.
	if err := checkMaster(fd); err != nil {
		return nil, "", fmt.Errorf("open /dev/ptmx: %w", err)
	}
	// unlockpt(3): a new slave is locked until the master clears the lock.
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, "", fmt.Errorf("unlock pty slave (TIOCSPTLCK): %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return nil, "", fmt.Errorf("get pty number (TIOCGPTN): %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), "/dev/pts/" + strconv.FormatUint(uint64(n), 10), nil
}

// OpenSlave opens the slave at path (as returned by NewPty) without making it
// the caller's controlling terminal, and checks that it is a pty slave.
// OpenPeer does the same without a path lookup and is preferable inside a
// container, whose /dev/pts the container's own processes could tamper with.
func OpenSlave(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open pty slave %s: %w", path, err)
	}
	if err := checkSlave(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open pty slave %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenPeer opens the slave of master through the master itself
// (TIOCGPTPEER, Linux 4.13), so that no path, and nothing mounted over one,
// can substitute another file. name is only the returned file's name.
func OpenPeer(master *os.File, name string) (*os.File, error) {
	var peer int
	err := rawfile.Control(master, func(fd int) error {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER,
			uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
		if errno != 0 {
			return errno
		}
		peer = int(r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open pty slave %s (TIOCGPTPEER): %w", name, err)
	}
	if err := checkSlave(peer); err != nil {
		unix.Close(peer)
		return nil, fmt.Errorf("open pty slave %s: %w", name, err)
	}
	return os.NewFile(uintptr(peer), name), nil
}

func checkSlave(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	major := unix.Major(st.Rdev)
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || major < ptsMajorFirst || major > ptsMajorLast {
		return fmt.Errorf("not a pty slave (mode %#o, device %d:%d)", st.Mode, major, unix.Minor(st.Rdev))
	}
	return nil
}

// GiveToUser makes the pty slave f (the container's terminal) owned by
// uid, so that a process running as another user than the one that
// allocated it can reopen and configure its own terminal, as runc does.
// The group stays the one devpts gave it (its gid= option, tty's group in
// the usual config). As with runc, a slave the caller may not chown (its
// owner is unmapped in a user namespace, /dev is read-only) is left as it
// is: the process still has it open.
func GiveToUser(f *os.File, uid int) error {
	return rawfile.Control(f, func(fd int) error {
		if err := checkSlave(fd); err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("stat %s: %w", f.Name(), err)
		}
		if int(st.Uid) == uid {
			return nil
		}
		err := unix.Fchown(fd, uid, -1)
		if err == nil || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
			return nil
		}
		return fmt.Errorf("chown %s to uid %d: %w", f.Name(), uid, err)
	})
}

// ClearONLCR turns off the translation of "\n" into "\r\n" on the
// terminal of master, for a runtime that relays the container's output
// itself: the caller's own terminal (in raw mode) or file then gets the
// bytes the container wrote, as with runc.
func ClearONLCR(master *os.File) error {
	return rawfile.Control(master, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return fmt.Errorf("get terminal settings (TCGETS): %w", err)
		}
		t.Oflag &^= unix.ONLCR
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
			return fmt.Errorf("clear ONLCR (TCSETS): %w", err)
		}
		return nil
	})
}

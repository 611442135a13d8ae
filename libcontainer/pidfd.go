package libcontainer

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// dialPidfdSocket connects to the --pidfd-socket the caller listens on,
// before anything is made for the container, so a bad path fails at once.
// A path too long for a socket address is reached through its directory.
func dialPidfdSocket(path string) (*net.UnixConn, error) {
	addr := path
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("--pidfd-socket %s: open its directory: %w", path, err)
		}
		defer unix.Close(dir)
		addr = "/proc/self/fd/" + strconv.Itoa(dir) + "/" + filepath.Base(path)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("--pidfd-socket %s: %w", path, err)
	}
	return conn, nil
}

// sendPidfd sends a pidfd of pid (the container's process, our child and
// not reaped: the pid cannot have been reused) to the --pidfd-socket, if
// one was given: one message whose payload names the kind of process
// ("standard" for an init, "setns" for an exec'd one) and whose SCM_RIGHTS
// carry the fd, as runc sends it.
func (h *handoffs) sendPidfd(pid int, kind string) error {
	if h == nil || h.pidfd == nil {
		return nil
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: pidfd_open of pid %d (needs Linux 5.3): %w", pid, err)
	}
	defer unix.Close(fd)
	if _, _, err := h.pidfd.WriteMsgUnix([]byte(kind), unix.UnixRights(fd), nil); err != nil {
		return fmt.Errorf("--pidfd-socket: send the pidfd: %w", err)
	}
	return nil
}

package console

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// maxNameLen bounds the payload (the pty's name): go-runc, which containerd's
// shim uses, rejects a message of 4096 bytes or more.
const maxNameLen = 4095

// sunPathMax is the size of sockaddr_un.sun_path, NUL included.
const sunPathMax = 108

// DialSocket connects to the engine's console socket (--console-socket): an
// AF_UNIX SOCK_STREAM socket the engine listens on. Call it in the runtime's
// namespaces, with the runtime's credentials (the parent, or the init before
// it joins the container): the path is the engine's, on the host. Paths too
// long for a socket address are reached through their directory.
func DialSocket(path string) (*net.UnixConn, error) {
	if path == "" {
		return nil, errors.New("--console-socket: empty path")
	}
	addr := path
	if len(path) >= sunPathMax {
		dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("--console-socket %s: open its directory: %w", path, err)
		}
		defer unix.Close(dir)
		addr = "/proc/self/fd/" + strconv.Itoa(dir) + "/" + filepath.Base(path)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return nil, explainDial(path, err)
	}
	return conn, nil
}

// explainDial turns connect(2)'s terse errno into what the user needs to
// know. It runs only on failure, so the common path costs no extra stat.
func explainDial(path string, err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("--console-socket %s: %w", path, err)
	}
	fi, serr := os.Stat(path)
	switch {
	case errors.Is(serr, fs.ErrNotExist):
		return fmt.Errorf("--console-socket %s: no such socket (the caller must create and listen on it first): %w", path, errno)
	case serr == nil && fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("--console-socket %s: not a unix socket but a %s: %w", path, fileKind(fi.Mode()), errno)
	case errno == unix.ECONNREFUSED:
		return fmt.Errorf("--console-socket %s: nobody is listening on it: %w", path, errno)
	case errno == unix.EPROTOTYPE:
		return fmt.Errorf("--console-socket %s: not a SOCK_STREAM socket: %w", path, errno)
	}
	return fmt.Errorf("--console-socket %s: %w", path, errno)
}

func fileKind(m fs.FileMode) string {
	switch m.Type() {
	case 0:
		return "regular file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeNamedPipe:
		return "FIFO"
	case fs.ModeDevice:
		return "block device"
	case fs.ModeDevice | fs.ModeCharDevice:
		return "character device"
	}
	return m.Type().String() + " file"
}

// SendMaster sends the pty master over the console socket as runc does: one
// sendmsg whose payload is name and whose ancillary data is a single
// SCM_RIGHTS carrying the master's fd. Receivers (go-runc, conmon) take the
// fd and use the payload at most as the file's name; CONTRACT.md asks for the
// slave's path (e.g. /dev/pts/3).
func SendMaster(conn *net.UnixConn, master *os.File, name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("--console-socket: pty name must be 1 to %d bytes, not %d", maxNameLen, len(name))
	}
	var n, oobn, want int
	err := rawfile.Control(master, func(fd int) error {
		oob := unix.UnixRights(fd)
		want = len(oob)
		var err error
		n, oobn, err = conn.WriteMsgUnix([]byte(name), oob, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("--console-socket: send pty master: %w", err)
	}
	if n != len(name) || oobn != want {
		return fmt.Errorf("--console-socket: send pty master: short write (%d of %d bytes, %d of %d control bytes)", n, len(name), oobn, want)
	}
	return nil
}

// ListenTemp makes a console socket for a foreground `nook run` with a
// terminal and no --console-socket: a listening socket in a new private
// (0700) directory under $TMPDIR. Dial it with the runtime's credentials.
// Once done, close l and call RemoveTemp(path).
func ListenTemp() (path string, l *net.UnixListener, err error) {
	dir, err := os.MkdirTemp("", "nook-console-")
	if err != nil {
		return "", nil, fmt.Errorf("console socket directory: %w", err)
	}
	path = filepath.Join(dir, "console.sock")
	l, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		os.Remove(dir)
		return "", nil, fmt.Errorf("console socket: %w", err)
	}
	return path, l, nil
}

// RemoveTemp removes the socket and directory ListenTemp made for path.
func RemoveTemp(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Remove(filepath.Dir(path))
}

// ReceiveMaster accepts one connection on l and receives a pty master sent as
// SendMaster sends it. It blocks until someone connects: set a deadline on l
// or close it to give up. The received fd is O_CLOEXEC, and is checked to be
// a pty master before it is relayed to the user's terminal.
func ReceiveMaster(l *net.UnixListener) (*os.File, error) {
	conn, err := l.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("console socket: accept: %w", err)
	}
	defer conn.Close()

	name := make([]byte, maxNameLen+1)
	// Room for more than one fd, so that extra ones are seen and closed
	// rather than truncated away.
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(name, oob) // MSG_CMSG_CLOEXEC
	if err != nil {
		return nil, fmt.Errorf("console socket: receive pty master: %w", err)
	}
	fds, err := parseRights(oob[:oobn])
	if err == nil && flags&unix.MSG_CTRUNC != 0 {
		err = errors.New("control data truncated")
	}
	if err == nil && len(fds) != 1 {
		err = fmt.Errorf("got %d file descriptors, want 1", len(fds))
	}
	if err == nil {
		err = checkMaster(fds[0])
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("console socket: receive pty master: %w", err)
	}
	if n == 0 {
		return os.NewFile(uintptr(fds[0]), "pty-master"), nil
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// parseRights returns every fd carried by SCM_RIGHTS messages in oob.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

func checkMaster(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != ptmxMajor || unix.Minor(st.Rdev) != ptmxMinor {
		return fmt.Errorf("the fd is not a pty master (mode %#o, device %d:%d)", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return nil
}

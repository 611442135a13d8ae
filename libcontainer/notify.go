package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/state"
)

// The sd_notify proxy (NOTIFY_SOCKET), as runc 1.5 has it: the container
// gets a directory of its state dir mounted read-only on /run/notify and
// NOTIFY_SOCKET pointing at a socket there; start (or run) binds that
// socket and passes the container's READY= on to the caller's
// NOTIFY_SOCKET (systemd, or podman --sdnotify=container) with the init's
// pid as MAINPID.
const (
	notifyDirName        = "notify" // in the state dir
	notifySocketName     = "notify.sock"
	notifyDirInContainer = "/run/notify"
	// notifyBarrierWait bounds the wait for the host to take the message
	// (sd_notify_barrier); runc's bound.
	notifyBarrierWait = 30 * time.Second
)

// addNotifySocket prepares the container for the proxy when its creator
// has a NOTIFY_SOCKET (o.NotifySocket): the directory in stateDir, its
// mount, and the process's NOTIFY_SOCKET (any the config sets is
// replaced: the container cannot reach the host's socket). o.Spec is
// replaced by a copy, so the caller's spec is not changed.
func addNotifySocket(o *CreateOptions, stateDir string) error {
	if o.NotifySocket == "" || o.Spec.Process == nil {
		return nil
	}
	dir := filepath.Join(stateDir, notifyDirName)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: make the container's notify directory: %w", err)
	}
	s := *o.Spec
	s.Mounts = append(slices.Clip(s.Mounts), specs.Mount{
		Destination: notifyDirInContainer,
		Type:        "bind",
		Source:      dir,
		Options:     []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	p := *s.Process
	p.Env = slices.DeleteFunc(slices.Clone(p.Env), func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") })
	p.Env = append(p.Env, "NOTIFY_SOCKET="+path.Join(notifyDirInContainer, notifySocketName))
	s.Process = &p
	o.Spec = &s
	return nil
}

// NotifyRelay is the proxy's socket, bound for one container.
type NotifyRelay struct {
	fd        int
	host      string
	pid       int
	startTime uint64
}

// listenNotify binds the socket the container's NOTIFY_SOCKET names, for
// relaying to host (the caller's NOTIFY_SOCKET). It returns nil, and no
// error, when host is empty or the container was created without a
// NOTIFY_SOCKET. Call it before the container's process can run.
func listenNotify(h *state.Handle, r *state.Record, host string) (*NotifyRelay, error) {
	if host == "" || Status(h, r) != state.Created {
		return nil, nil // nothing to relay (Start reports a wrong state)
	}
	dir, err := unix.Open(filepath.Join(h.Dir, notifyDirName), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: open the container's notify directory: %w", err)
	}
	defer unix.Close(dir)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: socket: %w", err)
	}
	// Through the directory's fd: the state dir's path may be too long for
	// a socket address. A socket left by an earlier start goes first.
	_ = unix.Unlinkat(dir, notifySocketName, 0)
	inDir := "/proc/self/fd/" + strconv.Itoa(dir) + "/" + notifySocketName
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: inDir}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("NOTIFY_SOCKET: bind the container's socket: %w", err)
	}
	// The container's process may run as any user.
	if err := unix.Fchmodat(dir, notifySocketName, 0o777, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("NOTIFY_SOCKET: chmod the container's socket: %w", err)
	}
	return &NotifyRelay{fd: fd, host: host, pid: r.Pid, startTime: r.InitStartTime}, nil
}

// Close closes the socket (nil is a no-op).
func (n *NotifyRelay) Close() {
	if n != nil && n.fd >= 0 {
		unix.Close(n.fd)
		n.fd = -1
	}
}

// Wait relays until the container's READY= (sent on to the host with
// MAINPID, then a barrier) or the exit of its init, then closes the
// socket. Messages before READY= are not passed on, as with runc. nil n
// returns at once.
func (n *NotifyRelay) Wait() error {
	if n == nil {
		return nil
	}
	defer n.Close()
	pidfd, err := openVerifiedPidfd(n.pid, n.startTime)
	if err != nil {
		return nil // the init is gone: no READY can come
	}
	defer unix.Close(pidfd)
	buf := make([]byte, 64*1024)
	fds := []unix.PollFd{{Fd: int32(n.fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("NOTIFY_SOCKET: poll: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			m, _, err := unix.Recvfrom(n.fd, buf, unix.MSG_DONTWAIT)
			if err != nil && err != unix.EAGAIN && err != unix.EINTR {
				return fmt.Errorf("NOTIFY_SOCKET: receive: %w", err)
			}
			if ready := readyLine(buf[:max(m, 0)]); ready != nil {
				return n.notifyHost(ready)
			}
			continue
		}
		if fds[1].Revents != 0 {
			return nil // the init exited without READY=
		}
	}
}

// readyLine is the READY= line of a notify message, or nil.
func readyLine(msg []byte) []byte {
	for line := range bytes.SplitSeq(msg, []byte{'\n'}) {
		if bytes.HasPrefix(line, []byte("READY=")) {
			return line
		}
	}
	return nil
}

// notifyHost sends READY= and MAINPID (the init's pid: that is what the
// host's service manager must watch from now on) to the host's socket,
// then waits for it to have taken them (sd_notify_barrier).
func (n *NotifyRelay) notifyHost(ready []byte) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: socket: %w", err)
	}
	defer unix.Close(fd)
	// A leading '@' names an abstract socket (Go's SockaddrUnix knows).
	addr := &unix.SockaddrUnix{Name: n.host}
	if err := unix.Connect(fd, addr); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", n.host, err)
	}
	for _, msg := range []string{string(ready) + "\n", "MAINPID=" + strconv.Itoa(n.pid) + "\n"} {
		if _, err := unix.Write(fd, []byte(msg)); err != nil {
			return fmt.Errorf("NOTIFY_SOCKET %s: send: %w", n.host, err)
		}
	}
	return notifyBarrier(fd, n.host)
}

// notifyBarrier sends BARRIER=1 with the writing end of a pipe, and waits
// until the host has closed it: it has then handled what came before.
// A host that never does (no barrier support) costs notifyBarrierWait.
func notifyBarrier(fd int, host string) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: pipe: %w", err)
	}
	defer unix.Close(p[0])
	err := unix.Sendmsg(fd, []byte("BARRIER=1"), unix.UnixRights(p[1]), nil, 0)
	unix.Close(p[1])
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: send the barrier: %w", host, err)
	}
	deadline := time.Now().Add(notifyBarrierWait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil // the host does not do barriers: what was sent stands
		}
		fds := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n > 0 {
			return nil
		}
	}
}

package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dialTimeout bounds the connect to the agent: connect(2) on a unix socket
// blocks when the agent's accept backlog is full, and `create` must not hang.
const dialTimeout = 10 * time.Second

// maxStateSize bounds what ReceiveListener reads: a container process state
// is a few hundred bytes plus annotations and metadata.
const maxStateSize = 1 << 20

// DialListener connects to the seccomp agent's socket (linux.seccomp
// .listenerPath). The parent does this during create, before the init
// loads the filter, so a missing or silent agent fails create cleanly.
func DialListener(path string) (*net.UnixConn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.listenerPath: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("linux.seccomp.listenerPath: %s is not a unix stream socket", path)
	}
	return uc, nil
}

// SendListener sends the container process state as JSON with the listener
// fd attached (SCM_RIGHTS) in the first sendmsg(2), then closes conn: the
// spec allows one state per connection and demands the close. The state's
// Fds is set to ["seccompFd"], naming the one fd sent. The caller keeps
// (and closes) its own listenerFd.
func SendListener(conn *net.UnixConn, listenerFd int, st specs.ContainerProcessState) (err error) {
	defer func() {
		if cerr := conn.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("linux.seccomp.listenerPath: close: %w", cerr)
		}
	}()
	st.Fds = []string{specs.SeccompFdName}
	payload, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: encode container process state: %w", err)
	}
	n, _, err := conn.WriteMsgUnix(payload, unix.UnixRights(listenerFd), nil)
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: send listener fd: %w", err)
	}
	// A stream socket may take the payload in parts; the fd went with the
	// first, as the spec requires. (No write at all when nothing is left:
	// the agent may have closed already, and even an empty write would fail
	// with EPIPE.)
	if n < len(payload) {
		if _, err := conn.Write(payload[n:]); err != nil {
			return fmt.Errorf("linux.seccomp.listenerPath: send container process state: %w", err)
		}
	}
	return nil
}

// ReceiveListener is the agent's side of SendListener: it reads one
// container process state and returns it with the seccompFd it names
// (O_CLOEXEC). The caller closes conn.
func ReceiveListener(conn *net.UnixConn) (specs.ContainerProcessState, int, error) {
	var st specs.ContainerProcessState
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*8)) // room for a few fds, so extras are seen and closed
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return st, -1, fmt.Errorf("receive container process state: %w", err)
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil {
		return st, -1, err
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	// Decode exactly one JSON value: the rest may still be in flight (the
	// sender may split it), and the sender's close is not waited for.
	dec := json.NewDecoder(io.MultiReader(bytes.NewReader(buf[:n]), io.LimitReader(conn, maxStateSize)))
	if err := dec.Decode(&st); err != nil {
		closeAll()
		return st, -1, fmt.Errorf("decode container process state: %w", err)
	}
	idx := -1
	for i, name := range st.Fds {
		if name == specs.SeccompFdName {
			idx = i
		}
	}
	if idx < 0 || idx >= len(fds) {
		closeAll()
		return st, -1, fmt.Errorf("container process state names fds %q but %d fds came with it", st.Fds, len(fds))
	}
	for i, fd := range fds {
		if i != idx {
			unix.Close(fd)
		}
	}
	return st, fds[idx], nil
}

// parseRights extracts the fds of SCM_RIGHTS messages, setting O_CLOEXEC on
// each (they arrive without it unless the receiver asks).
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("receive listener fd: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range got {
			unix.CloseOnExec(fd)
		}
		fds = append(fds, got...)
	}
	if len(fds) == 0 {
		return nil, errors.New("receive listener fd: no file descriptor came with the container process state")
	}
	return fds, nil
}

package initproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// maxFiles is how many fds one frame may carry: the kernel's limit for one
// SCM_RIGHTS message (SCM_MAX_FD).
const maxFiles = 253

// SendFiles writes one frame whose first byte carries files as SCM_RIGHTS:
// the init receives them as new fds of its own, in this order. Only the Go
// init reads such a frame: nsenter's C reads with read(2), which would drop
// them.
func SendFiles(sock *os.File, t Type, payload []byte, files []*os.File) error {
	if len(files) > maxFiles {
		return fmt.Errorf("send %s: %d files, at most %d fit one message", t, len(files), maxFiles)
	}
	buf := make([]byte, 8+len(payload))
	binary.NativeEndian.PutUint32(buf[0:], uint32(t))
	binary.NativeEndian.PutUint32(buf[4:], uint32(len(payload)))
	copy(buf[8:], payload)
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	conn, err := sock.SyscallConn()
	if err != nil {
		return fmt.Errorf("send %s: %w", t, err)
	}
	var n int
	var serr error
	if err := conn.Write(func(fd uintptr) bool {
		n, serr = unix.SendmsgN(int(fd), buf, unix.UnixRights(fds...), nil, 0)
		return serr != unix.EAGAIN
	}); err != nil {
		return fmt.Errorf("send %s: %w", t, err)
	}
	if serr != nil {
		return fmt.Errorf("send %s: %w", t, serr)
	}
	// A stream socket may take a large payload in parts; the files went
	// with the first. Nothing left, nothing more is written: a write of
	// no bytes fails with EPIPE once the peer has read the frame and
	// closed its end (a C init that is quick to answer and hang up).
	if n < len(buf) {
		if _, err := sock.Write(buf[n:]); err != nil {
			return fmt.Errorf("send %s: %w", t, err)
		}
	}
	return nil
}

// ExpectFiles is Expect for a frame sent by SendFiles: it returns the
// payload and the fds that came with it, close-on-exec. The frame must be
// the next one; an Error frame becomes a *RemoteError.
func ExpectFiles(sock *os.File, want Type) ([]byte, []int, error) {
	var hdr [8]byte
	oob := make([]byte, unix.CmsgSpace(4*maxFiles))
	conn, err := sock.SyscallConn()
	if err != nil {
		return nil, nil, fmt.Errorf("waiting for %s: %w", want, err)
	}
	var n, oobn, flags int
	var rerr error
	if err := conn.Read(func(fd uintptr) bool {
		n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), hdr[:], oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	}); err != nil {
		return nil, nil, fmt.Errorf("waiting for %s: %w", want, err)
	}
	if rerr != nil {
		return nil, nil, fmt.Errorf("waiting for %s: %w", want, rerr)
	}
	fds, err := parseRights(oob[:oobn])
	if err == nil && flags&unix.MSG_CTRUNC != 0 {
		err = errors.New("the files sent were truncated")
	}
	if err == nil && n == 0 {
		err = errors.New("the parent exited without sending it")
	}
	if err == nil && n < len(hdr) {
		_, err = io.ReadFull(sock, hdr[n:])
	}
	if err != nil {
		CloseFds(fds)
		return nil, nil, fmt.Errorf("waiting for %s: %w", want, err)
	}
	t, payload, err := recvPayload(sock, hdr)
	if err == nil {
		err = frameError(t, want, payload)
	}
	if err != nil {
		CloseFds(fds)
		return nil, nil, err
	}
	return payload, fds, nil
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			CloseFds(fds)
			return nil, fmt.Errorf("parse control message: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// CloseFds closes received fds that will not be used.
func CloseFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

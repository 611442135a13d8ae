// Package rawfile reads small files (state records, /proc/<pid>/stat,
// cgroup files) with plain system calls. os.ReadFile opens through Go's
// poller, which costs four fcntl calls and a failed epoll_ctl per file; on
// `nook list`, which reads a few files per container, those were most of
// the system calls. Control is the other way round: an fd of an *os.File
// for a system call, leaving the file as Go's poller had it.
package rawfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// ReadFile returns the whole content of path. Its errors are those of
// os.ReadFile (an *os.PathError: errors.Is(err, os.ErrNotExist) holds for
// a missing file).
func ReadFile(path string) ([]byte, error) {
	// Most of what nook reads this way is under 4 KiB; /proc files say
	// size 0, so the size is never asked for.
	return ReadFileInto(path, make([]byte, 0, 4096))
}

// ReadFileInto is ReadFile into buf's spare capacity from buf[:0] on,
// growing it if the file does not fit: a caller reading many files (list:
// a record and a /proc/<pid>/stat per container) reuses one buffer rather
// than faulting in fresh memory for each. The result aliases buf.
func ReadFileInto(path string, buf []byte) ([]byte, error) {
	return readInto(path, buf, false)
}

// ReadWholeInto is ReadFileInto for a file that a read returns whole: a
// regular file on a local file system, which read(2) fills up to its end,
// or a procfs file made in one piece by its first read (/proc/<pid>/stat).
// A read that returns less than it asked for has then reached the end, so
// the read that would return 0 is not made: list reads two such files per
// container. Not for cgroup or other seq files of many records, whose
// reads may stop short of the end.
func ReadWholeInto(path string, buf []byte) ([]byte, error) {
	return readInto(path, buf, true)
}

func readInto(path string, buf []byte, shortIsEnd bool) ([]byte, error) {
	buf = buf[:0]
	fd, err := openRetry(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if n == 0 || short && shortIsEnd {
			return buf, nil
		}
	}
}

// Open opens path as os.OpenFile does (O_CLOEXEC added; perm for a file
// O_CREAT makes), as an *os.File that is not registered with Go's poller:
// a directory to flock, a file to read once, what the root's build opens.
// os.OpenFile's attempt to register costs four fcntl calls and an
// epoll_ctl, which fails for regular files and directories anyway.
func Open(path string, flags int, perm os.FileMode) (*os.File, error) {
	mode := uint32(perm.Perm())
	if perm&os.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if perm&os.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if perm&os.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, mode)
	for err == unix.EINTR {
		fd, err = unix.Open(path, flags|unix.O_CLOEXEC, mode)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func openRetry(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Openat2 is openat2(2), retried while it fails with EAGAIN or EINTR (up to
// 32 times). With RESOLVE_IN_ROOT (or BENEATH) the kernel gives up a lookup
// with EAGAIN when any rename or mount on the host raced it, which on a
// busy host (other containers being created) is not rare; the retry is what
// the kernel's documentation asks of callers.
func Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	var err error
	for range 32 {
		var fd int
		fd, err = unix.Openat2(dirfd, path, how)
		if err == nil {
			return fd, nil
		}
		if err != unix.EAGAIN && err != unix.EINTR {
			return -1, err
		}
	}
	return -1, err
}

// Control runs fn with f's descriptor, which stays open meanwhile, and
// returns fn's error. It goes through SyscallConn's Control rather than
// os.File.Fd, whose side effect is to switch a non-blocking file (a fifo, a
// pty, a socket in Go's poller) to blocking mode for good.
func Control(f *os.File, fn func(fd int) error) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := conn.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}

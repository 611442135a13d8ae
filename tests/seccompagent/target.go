package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// errGone: the notification is no longer valid (the target died or its
// syscall was interrupted), so whatever was read may belong to another
// process that reused the pid.
var errGone = errors.New("notification no longer valid")

// pathMax is the kernel's PATH_MAX: a longer path fails with ENAMETOOLONG.
const pathMax = 4096

// target is the thread that raised one notification.
type target struct {
	fd  libseccomp.ScmpFd
	id  uint64
	pid int
}

// valid checks the notification is still pending. Per seccomp_unotify(2) it
// is asked after opening anything under /proc/<pid>: only then is it sure
// the pid still names the target.
func (t target) valid() error {
	if libseccomp.NotifIDValid(t.fd, t.id) != nil {
		return errGone
	}
	return nil
}

// path returns the path argument of a mkdir/mkdirat as the target sees it
// (absolute, relative to its own root): the string is read from the
// target's memory, and a relative one is joined to the target's working
// directory or dirfd, with the target's root stripped.
func (t target) path(dirfd int32, addr uint64) (string, error) {
	p, err := t.readString(addr)
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	base := "cwd"
	if dirfd != unix.AT_FDCWD {
		base = "fd/" + strconv.Itoa(int(dirfd))
	}
	dir, err := os.Readlink(t.proc(base))
	if err != nil {
		if t.valid() != nil {
			return "", errGone
		}
		return "", unix.EBADF
	}
	root, err := os.Readlink(t.proc("root"))
	if err != nil {
		return "", errGone
	}
	if err := t.valid(); err != nil {
		return "", err
	}
	full := filepath.Join(dir, p)
	if root != "/" {
		rel, err := filepath.Rel(root, full)
		if err != nil || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("%s is outside the target's root %s", full, root)
		}
		full = "/" + rel
	}
	return filepath.Clean(full), nil
}

func (t target) proc(name string) string {
	return fmt.Sprintf("/proc/%d/%s", t.pid, name)
}

// readString reads a NUL-terminated string at addr in the target's memory,
// one page-bounded chunk at a time so an unmapped page after a short string
// is never touched.
func (t target) readString(addr uint64) (string, error) {
	mem, err := os.Open(t.proc("mem"))
	if err != nil {
		if t.valid() != nil {
			return "", errGone
		}
		return "", err
	}
	defer mem.Close()
	if err := t.valid(); err != nil {
		return "", err
	}
	page := uint64(os.Getpagesize())
	var out []byte
	for len(out) < pathMax {
		chunk := make([]byte, page-(addr%page))
		n, err := mem.ReadAt(chunk, int64(addr))
		if n == 0 && err != nil {
			return "", unix.EFAULT
		}
		if i := bytes.IndexByte(chunk[:n], 0); i >= 0 {
			out = append(out, chunk[:i]...)
			// The target may have died and its pid been reused while we
			// read: only a still-valid notification vouches for the bytes.
			if err := t.valid(); err != nil {
				return "", err
			}
			return string(out), nil
		}
		out = append(out, chunk[:n]...)
		addr += uint64(n)
	}
	return "", unix.ENAMETOOLONG
}

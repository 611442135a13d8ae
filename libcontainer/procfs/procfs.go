// Package procfs opens files under a procfs mount for writing without
// letting the container redirect the write (invariant 4, CVE-2025-52881
// class): the directory and the file must both be on procfs, and the walk
// between them may not leave the directory or cross a mount. sysctl,
// apparmor and the init's oom_score_adj all write through it.
package procfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/rawfile"
)

// Check decides whether an fd may be written through; Require is the real
// one, tests inject others.
type Check func(fd int, name string) error

// OpenDir opens dir (the container's freshly mounted /proc) as a directory
// handle and checks it, so that a rootfs which put a tmpfs or a symlink at
// /proc cannot receive the writes meant for the kernel.
func OpenDir(dir string, check Check) (int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := check(fd, dir); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// OpenForWrite opens rel below the directory procFd for writing. The walk may
// not leave procFd, follow a magic link or cross onto another mount, so a file
// or directory bind-mounted over a procfs entry is refused with EXDEV; plain
// symlinks are refused too unless allowSymlinks (procfs's own "thread-self"
// link points inside the same mount). The opened file is checked as well.
func OpenForWrite(procFd int, procDir, rel string, allowSymlinks bool, check Check) (int, error) {
	full := procDir + "/" + rel
	resolve := uint64(unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV)
	if !allowSymlinks {
		resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	how := unix.OpenHow{Flags: unix.O_WRONLY | unix.O_CLOEXEC | unix.O_NOCTTY, Resolve: resolve}
	fd, err := rawfile.Openat2(procFd, rel, &how)
	if err != nil {
		if errors.Is(err, unix.EXDEV) {
			return -1, fmt.Errorf("open %s: the path crosses a mount point (something is mounted over procfs): %w", full, err)
		}
		if errors.Is(err, unix.ENOSYS) {
			return -1, fmt.Errorf("open %s: openat2 is not available (Linux 5.6 or later is needed): %w", full, err)
		}
		return -1, &os.PathError{Op: "open", Path: full, Err: err}
	}
	if err := check(fd, full); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Require fails unless fd is on a procfs instance.
func Require(fd int, name string) error {
	var st unix.Statfs_t
	for {
		err := unix.Fstatfs(fd, &st)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return &os.PathError{Op: "fstatfs", Path: name, Err: err}
		}
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not on procfs (filesystem magic %#x); refusing to write to it", name, st.Type)
	}
	return nil
}

// OpenHost returns the procfs handle the parent hands to the init (and to an
// exec'd process) for all of their procfs writes: a detached, non-recursive
// clone of the runtime's own /proc, made on the host before the container's
// mounts exist. Nothing mounted later over /proc or over a file in it, in the
// container or on the host, is reachable through it, and no process but ours
// can reach the clone at all. "self" and "thread-self" in it name the writer
// in any pid namespace, as the host's pid namespace sees every process. Where
// open_tree is not permitted (no CAP_SYS_ADMIN) the runtime's /proc itself
// is opened: still the host's, looked up before any container exists.
func OpenHost() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		fd, err = unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/proc", Err: err}
	}
	if err := Require(fd, "/proc"); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/proc"), nil
}

// WriteFile writes value to rel below the procfs handle procFd in one
// write(2), opened as OpenForWrite does. procDir only names it in errors.
func WriteFile(procFd int, procDir, rel, value string, allowSymlinks bool) error {
	fd, err := OpenForWrite(procFd, procDir, rel, allowSymlinks, Require)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var n int
	for {
		n, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: procDir + "/" + rel, Err: err}
	}
	if n != len(value) {
		return fmt.Errorf("write %s/%s: short write (%d of %d bytes)", procDir, rel, n, len(value))
	}
	return nil
}

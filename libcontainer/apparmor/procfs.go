package apparmor

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openProcDir opens dir as a directory handle and checks it with checkFS, so that a tmpfs or
// symlink at the container's /proc cannot receive a write meant for the kernel.
func openProcDir(dir string, checkFS func(int, string) error) (int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := checkFS(fd, dir); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// openProcFile opens rel below procFd for writing without leaving it, crossing a mount or
// following a magic link, and checks the result with checkFS, so a file bind-mounted over
// the attribute (CVE-2025-52881 class) is refused. Plain symlinks are allowed because the
// path starts with procfs's own "thread-self" link, which points inside the same mount.
func openProcFile(procFd int, procDir, rel string, checkFS func(int, string) error) (int, error) {
	full := procDir + "/" + rel
	how := unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	var fd int
	var err error
	for range 32 { // EAGAIN/EINTR: a rename or mount raced the lookup; try again
		fd, err = unix.Openat2(procFd, rel, &how)
		if err != unix.EAGAIN && err != unix.EINTR {
			break
		}
	}
	if err != nil {
		if err == unix.EXDEV {
			return -1, fmt.Errorf("open %s: the path crosses a mount point (something is mounted over procfs): %w", full, err)
		}
		return -1, &os.PathError{Op: "open", Path: full, Err: err}
	}
	if err := checkFS(fd, full); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// requireProcfs fails unless fd is on a procfs instance.
func requireProcfs(fd int, name string) error {
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

package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT)
// (pathrs-lite on kernels without it), so a symlink in the container's
// image can never lead outside it (invariant 1). Mounts then target the
// resulting fd, never the path, so a swap after resolution cannot redirect them.

// openInRoot resolves path inside root with one openat2(RESOLVE_IN_ROOT)
// (kernel >= 5.6): ".." and absolute symlinks stop at root, magic links are
// refused. Kernels without openat2 get pathrs-lite, which emulates it.
func openInRoot(root *os.File, path string, flags int) (*os.File, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(int(root.Fd()), path, &how)
	if errors.Is(err, unix.ENOSYS) {
		f, err := pathrs.OpenatInRoot(root, path)
		if err != nil || flags&unix.O_PATH != 0 {
			return f, err
		}
		defer f.Close()
		return pathrs.Reopen(f, flags)
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// mkdirInRoot creates dest (and parents) as directories inside root and returns
// an O_PATH handle to it. Each missing component is made with mkdirat on the
// handle of its parent, itself resolved inside root, so a symlink swapped in
// meanwhile cannot move the walk outside.
func mkdirInRoot(root *os.File, dest string) (*os.File, error) {
	if f, err := openInRoot(root, dest, unix.O_PATH|unix.O_DIRECTORY); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	parent, err := mkdirInRoot(root, filepath.Dir(filepath.Clean("/"+dest)))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	name := filepath.Base(dest)
	if err := unix.Mkdirat(int(parent.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	f, err := openInRoot(root, dest, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// fileInRoot returns a handle to dest inside root, creating an empty regular
// file there (and directory parents) if nothing exists yet.
func fileInRoot(root *os.File, dest string) (*os.File, error) {
	if f, err := openInRoot(root, dest, unix.O_PATH); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %s in rootfs: %w", dest, err)
	}
	parent, err := mkdirInRoot(root, filepath.Dir(dest))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), filepath.Base(dest),
		unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create file %s in rootfs: %w", dest, err)
	}
	if err == nil {
		unix.Close(fd)
	}
	f, err := openInRoot(root, dest, unix.O_PATH)
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// realDirInRoot is for /proc and /sys: they must be real directories, never a
// symlink that could point a procfs or sysfs mount elsewhere (CVE-2023-27561).
func realDirInRoot(root *os.File, dest string) (*os.File, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(int(root.Fd()), dest, &how)
	if errors.Is(err, unix.ENOENT) {
		var f *os.File
		if f, err = mkdirInRoot(root, dest); err != nil {
			return nil, err
		}
		f.Close()
		fd, err = unix.Openat2(int(root.Fd()), dest, &how)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, fmt.Errorf("mount destination %s must be a real directory, not a symlink or file", dest)
		}
		return nil, fmt.Errorf("open %s in rootfs: %w", dest, err)
	}
	return os.NewFile(uintptr(fd), dest), nil
}

// fdPath names an fd as a path for syscalls that only take paths (mount(2)).
// It is only used while /proc is the host's real procfs (checked by the init).
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// reopen returns a fresh handle to dest: after something was mounted on it,
// the new handle is the mount's root, while the old one is the dentry below.
func reopen(root *os.File, dest string) (*os.File, error) {
	f, err := openInRoot(root, dest, unix.O_PATH)
	if err != nil {
		return nil, fmt.Errorf("reopen %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// attachTree moves a detached mount (from open_tree or fsmount) onto target.
func attachTree(tree int, target *os.File) error {
	return unix.MoveMount(tree, "", int(target.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

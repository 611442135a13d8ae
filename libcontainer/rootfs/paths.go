package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/nookrt/nook/libcontainer/kernel"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT)
// (pathrs-lite on kernels without it), so a symlink in the container's
// image can never lead outside it (invariant 1). Mounts then target the
// resulting fd, never the path, so a swap after resolution cannot redirect them.

// OpenInRoot is openInRoot for the other packages that look into a rootfs
// from the host (explain).
func OpenInRoot(root *os.File, path string, flags int) (*os.File, error) {
	return openInRoot(kernel.Real{}, root, path, flags)
}

// openInRoot resolves path inside root with one openat2(RESOLVE_IN_ROOT)
// (kernel >= 5.6): ".." and absolute symlinks stop at root, magic links are
// refused. Kernels without openat2 get pathrs-lite, which emulates it.
func openInRoot(k kernel.Kernel, root *os.File, path string, flags int) (*os.File, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := k.Openat2(int(root.Fd()), path, &how)
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
//
// A component that is a dangling symlink (the last one included) is followed
// inside the root, as runc does: the directory is made where the link
// points when root is the root (followInRoot).
func mkdirInRoot(k kernel.Kernel, root *os.File, dest string) (*os.File, error) {
	if f, err := openInRoot(k, root, dest, unix.O_PATH|unix.O_DIRECTORY); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	resolved, err := followInRoot(k, root, dest)
	if err != nil {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	return mkdirAllInRoot(k, root, resolved)
}

// mkdirAllInRoot is mkdirInRoot for a path whose existing components are
// not symlinks (but for one swapped in meanwhile, which openat2 then keeps
// inside root all the same).
func mkdirAllInRoot(k kernel.Kernel, root *os.File, dest string) (*os.File, error) {
	if f, err := openInRoot(k, root, dest, unix.O_PATH|unix.O_DIRECTORY); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	parent, err := mkdirAllInRoot(k, root, filepath.Dir(filepath.Clean("/"+dest)))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	name := filepath.Base(dest)
	if err := k.Mkdirat(int(parent.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	f, err := openInRoot(k, root, dest, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// fileInRoot returns a handle to dest inside root, creating an empty regular
// file there (and directory parents) if nothing exists yet. Dangling
// symlinks on the way are followed inside the root, as for mkdirInRoot.
func fileInRoot(k kernel.Kernel, root *os.File, dest string) (*os.File, error) {
	if f, err := openInRoot(k, root, dest, unix.O_PATH); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %s in rootfs: %w", dest, err)
	}
	resolved, err := followInRoot(k, root, dest)
	if err != nil {
		return nil, fmt.Errorf("create file %s in rootfs: %w", dest, err)
	}
	if resolved == "/" {
		return nil, fmt.Errorf("create file %s in rootfs: it resolves to the root directory", dest)
	}
	dest = resolved
	parent, err := mkdirAllInRoot(k, root, filepath.Dir(dest))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	// O_NOFOLLOW: a symlink put in place meanwhile is refused (ELOOP), not
	// followed to wherever it points.
	fd, err := k.Openat(int(parent.Fd()), filepath.Base(dest),
		unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create file %s in rootfs: %w", dest, err)
	}
	if err == nil {
		unix.Close(fd)
	}
	f, err := openInRoot(k, root, dest, unix.O_PATH)
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// maxSymlinks is the kernel's limit on symlinks followed in one lookup.
const maxSymlinks = 40

// followInRoot rewrites dest (a path inside root) so that none of its
// existing components is a symlink: each one met, a dangling one included,
// is replaced by its target taken inside root, where "/" is root and ".."
// stops at it, exactly as the kernel resolves the path once root is the
// container's root. Missing components are kept as written: they are what
// the caller is to create. The result is only a better path to create, not
// a trusted one: callers resolve it again with openat2(RESOLVE_IN_ROOT), so
// a symlink swapped in meanwhile cannot lead outside the root either.
func followInRoot(k kernel.Kernel, root *os.File, dest string) (string, error) {
	todo := strings.Split(dest, "/")
	done := "/"
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			done = filepath.Dir(done)
			continue
		}
		target, isLink, err := readLinkInRoot(k, root, done, name)
		if err != nil {
			return "", err
		}
		if !isLink {
			done = filepath.Join(done, name)
			continue
		}
		if links++; links > maxSymlinks {
			return "", &os.PathError{Op: "resolve", Path: dest, Err: unix.ELOOP}
		}
		if filepath.IsAbs(target) {
			done = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return done, nil
}

// readLinkInRoot reads dir/name inside root if it is a symlink. dir has no
// symlink components (followInRoot resolved them), and name is one
// component read relative to dir's handle, so nothing here is resolved
// outside root. A missing entry or parent is simply no symlink.
func readLinkInRoot(k kernel.Kernel, root *os.File, dir, name string) (string, bool, error) {
	parent, err := openInRoot(k, root, dir, unix.O_PATH|unix.O_DIRECTORY)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer parent.Close()
	buf := make([]byte, unix.PathMax)
	n, err := k.Readlinkat(int(parent.Fd()), name, buf)
	switch {
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		return "", false, nil // not a symlink, or not there
	case err != nil:
		return "", false, &os.PathError{Op: "readlink", Path: filepath.Join(dir, name), Err: err}
	}
	return string(buf[:n]), true, nil
}

// Destination is where a mount's destination lands inside the root, as runc
// takes it: cleaned, a relative one taken from "/" (deprecated: runc warns),
// and one that lexically starts with the rootfs's own host path (generators
// that wrote <bundle>/rootfs/data) stripped of it. This is text only:
// symlinks are followed inside the root when the mount is made.
func Destination(rootfs, dest string) string {
	d := filepath.Clean("/" + dest)
	r := filepath.Clean("/" + rootfs)
	switch {
	case r == "/":
	case d == r:
		d = "/"
	case strings.HasPrefix(d, r+"/"):
		d = strings.TrimPrefix(d, r)
	}
	return d
}

// NormalizeDestinations rewrites every mounts[].destination to where it
// lands in the root (Destination), once, before anything checks or uses
// it, so that every later step sees the same path. It returns a
// deprecation warning for each relative destination, as runc logs one.
func NormalizeDestinations(mounts []specs.Mount, rootfs string) []string {
	var warnings []string
	for i := range mounts {
		m := &mounts[i]
		if m.Destination == "" {
			continue // spec.Validate refuses it
		}
		d := Destination(rootfs, m.Destination)
		if !filepath.IsAbs(m.Destination) {
			warnings = append(warnings, fmt.Sprintf("mounts[%d].destination %q is not absolute; taken as %q. "+
				"Relative mount destinations are deprecated and will be refused in a future release", i, m.Destination, d))
		}
		m.Destination = d
	}
	return warnings
}

// realDirInRoot is for /proc and /sys: they must be real directories, never a
// symlink that could point a procfs or sysfs mount elsewhere (CVE-2023-27561).
func realDirInRoot(k kernel.Kernel, root *os.File, dest string) (*os.File, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := k.Openat2(int(root.Fd()), dest, &how)
	if errors.Is(err, unix.ENOENT) {
		var f *os.File
		if f, err = mkdirInRoot(k, root, dest); err != nil {
			return nil, err
		}
		f.Close()
		fd, err = k.Openat2(int(root.Fd()), dest, &how)
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
func reopen(k kernel.Kernel, root *os.File, dest string) (*os.File, error) {
	f, err := openInRoot(k, root, dest, unix.O_PATH)
	if err != nil {
		return nil, fmt.Errorf("reopen %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// attachTree moves a detached mount (from open_tree or fsmount) onto target.
func attachTree(k kernel.Kernel, tree int, target *os.File) error {
	return k.MoveMount(tree, "", int(target.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// Package kernel is the seam between the container set-up code and the
// kernel: the syscalls that build a container's filesystem view go through a
// Kernel, so unit tests can drive the whole set-up with a Recorder (no root,
// no mounts) and check the order and arguments of its steps. Real is exactly
// the syscalls the code made before the seam existed.
package kernel

import (
	"os"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/rawfile"
)

// Kernel is what libcontainer/rootfs asks of the kernel. The methods mirror
// golang.org/x/sys/unix (and os for the calls that were made through os),
// with the same arguments and results.
type Kernel interface {
	// Lookups and files.
	Open(path string, flags int, mode uint32) (int, error)
	OpenFile(path string, flags int, perm os.FileMode) (*os.File, error)
	Openat(dirfd int, path string, flags int, mode uint32) (int, error)
	Openat2(dirfd int, path string, how *unix.OpenHow) (int, error)
	Stat(path string) (os.FileInfo, error)
	Fstat(fd int, st *unix.Stat_t) error
	Fstatat(dirfd int, path string, st *unix.Stat_t, flags int) error
	Statx(dirfd int, path string, flags, mask int, stx *unix.Statx_t) error
	Statfs(path string, st *unix.Statfs_t) error
	Fstatfs(fd int, st *unix.Statfs_t) error
	Readlink(path string) (string, error)
	Readlinkat(dirfd int, path string, buf []byte) (int, error)
	GetMounts(filter mountinfo.FilterFunc) ([]*mountinfo.Info, error)

	// Changes to the filesystem.
	Mkdirat(dirfd int, path string, mode uint32) error
	Mknodat(dirfd int, path string, mode uint32, dev int) error
	Symlinkat(target string, dirfd int, link string) error
	Unlinkat(dirfd int, path string, flags int) error
	Fchownat(dirfd int, path string, uid, gid, flags int) error
	Fchown(fd, uid, gid int) error
	Fchmod(fd int, mode uint32) error
	Umask(mask int) int

	// Mounts.
	Mount(source, target, fstype string, flags uintptr, data string) error
	Unmount(target string, flags int) error
	OpenTree(dirfd int, path string, flags uint) (int, error)
	MoveMount(fromDirfd int, fromPath string, toDirfd int, toPath string, flags int) error
	MountSetattr(dirfd int, path string, flags uint, attr *unix.MountAttr) error
	Fsopen(fsName string, flags int) (int, error)
	FsconfigCreate(fd int) error
	// FsconfigSet sets one option of a filesystem context: key=value, or
	// the flag key when value is "".
	FsconfigSet(fd int, key, value string) error
	Fsmount(fd, flags, mountAttrs int) (int, error)

	// The root and working directory.
	PivotRoot(newroot, putold string) error
	Chroot(path string) error
	Chdir(path string) error
	Fchdir(fd int) error
}

// Or returns k, or Real when k is nil (a Config that names no Kernel).
func Or(k Kernel) Kernel {
	if k == nil {
		return Real{}
	}
	return k
}

// Real makes the syscalls.
type Real struct{}

var _ Kernel = Real{}

func (Real) Open(path string, flags int, mode uint32) (int, error) {
	return unix.Open(path, flags, mode)
}

// OpenFile opens without Go's poller (rawfile.Open): the masked paths
// alone open the new root fifteen times on create's critical path.
func (Real) OpenFile(path string, flags int, perm os.FileMode) (*os.File, error) {
	return rawfile.Open(path, flags, perm)
}

func (Real) Openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	return unix.Openat(dirfd, path, flags, mode)
}

// Openat2 retries a lookup a rename or mount raced (rawfile.Openat2).
func (Real) Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	return rawfile.Openat2(dirfd, path, how)
}

func (Real) Stat(path string) (os.FileInfo, error) { return os.Stat(path) }

func (Real) Fstat(fd int, st *unix.Stat_t) error { return unix.Fstat(fd, st) }

func (Real) Fstatat(dirfd int, path string, st *unix.Stat_t, flags int) error {
	return unix.Fstatat(dirfd, path, st, flags)
}

func (Real) Statx(dirfd int, path string, flags, mask int, stx *unix.Statx_t) error {
	return unix.Statx(dirfd, path, flags, mask, stx)
}

func (Real) Statfs(path string, st *unix.Statfs_t) error { return unix.Statfs(path, st) }

func (Real) Fstatfs(fd int, st *unix.Statfs_t) error { return unix.Fstatfs(fd, st) }

func (Real) Readlink(path string) (string, error) { return os.Readlink(path) }

func (Real) Readlinkat(dirfd int, path string, buf []byte) (int, error) {
	return unix.Readlinkat(dirfd, path, buf)
}

func (Real) GetMounts(filter mountinfo.FilterFunc) ([]*mountinfo.Info, error) {
	return mountinfo.GetMounts(filter)
}

func (Real) Mkdirat(dirfd int, path string, mode uint32) error {
	return unix.Mkdirat(dirfd, path, mode)
}

func (Real) Mknodat(dirfd int, path string, mode uint32, dev int) error {
	return unix.Mknodat(dirfd, path, mode, dev)
}

func (Real) Symlinkat(target string, dirfd int, link string) error {
	return unix.Symlinkat(target, dirfd, link)
}

func (Real) Unlinkat(dirfd int, path string, flags int) error {
	return unix.Unlinkat(dirfd, path, flags)
}

func (Real) Fchownat(dirfd int, path string, uid, gid, flags int) error {
	return unix.Fchownat(dirfd, path, uid, gid, flags)
}

func (Real) Fchown(fd, uid, gid int) error { return unix.Fchown(fd, uid, gid) }

func (Real) Fchmod(fd int, mode uint32) error { return unix.Fchmod(fd, mode) }

func (Real) Umask(mask int) int { return unix.Umask(mask) }

func (Real) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}

func (Real) Unmount(target string, flags int) error { return unix.Unmount(target, flags) }

func (Real) OpenTree(dirfd int, path string, flags uint) (int, error) {
	return unix.OpenTree(dirfd, path, flags)
}

func (Real) MoveMount(fromDirfd int, fromPath string, toDirfd int, toPath string, flags int) error {
	return unix.MoveMount(fromDirfd, fromPath, toDirfd, toPath, flags)
}

func (Real) MountSetattr(dirfd int, path string, flags uint, attr *unix.MountAttr) error {
	return unix.MountSetattr(dirfd, path, flags, attr)
}

func (Real) Fsopen(fsName string, flags int) (int, error) { return unix.Fsopen(fsName, flags) }

func (Real) FsconfigCreate(fd int) error { return unix.FsconfigCreate(fd) }

func (Real) FsconfigSet(fd int, key, value string) error {
	if value == "" {
		return unix.FsconfigSetFlag(fd, key)
	}
	return unix.FsconfigSetString(fd, key, value)
}

func (Real) Fsmount(fd, flags, mountAttrs int) (int, error) {
	return unix.Fsmount(fd, flags, mountAttrs)
}

func (Real) PivotRoot(newroot, putold string) error { return unix.PivotRoot(newroot, putold) }

func (Real) Chroot(path string) error { return unix.Chroot(path) }

func (Real) Chdir(path string) error { return unix.Chdir(path) }

func (Real) Fchdir(fd int) error { return unix.Fchdir(fd) }

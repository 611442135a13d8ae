package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nookrt/nook/libcontainer/kernel"

	"golang.org/x/sys/unix"
)

// copyUp fills the tmpfs just mounted on dest with what the directory under
// it held ("tmpcopyup"). under is an fd of the directory opened before the
// mount, so it still reaches the hidden contents. Everything is done relative
// to directory fds with O_NOFOLLOW: a symlink in the image is copied as a
// symlink, never followed.
func copyUp(k kernel.Kernel, under, root *os.File, dest string) error {
	mnt, err := reopen(k, root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	return copyDir(k, int(under.Fd()), int(mnt.Fd()))
}

func copyDir(k kernel.Kernel, src, dst int) error {
	d, err := k.Openat(src, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(d), "copyup")
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := k.Fstat(src, &st); err == nil {
		k.Fchmod(dst, st.Mode&0o7777)
		k.Fchown(dst, int(st.Uid), int(st.Gid))
	}
	for _, name := range names {
		if err := copyEntry(k, src, dst, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func copyEntry(k kernel.Kernel, src, dst int, name string) error {
	var st unix.Stat_t
	if err := k.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := k.Mkdirat(dst, name, mode); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		s, err := k.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		d, err := k.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(d)
		return copyDir(k, s, d)
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := k.Readlinkat(src, name, buf)
		if err != nil {
			return err
		}
		if err := k.Symlinkat(string(buf[:n]), dst, name); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(k, src, dst, name, mode); err != nil {
			return err
		}
	default:
		// Devices, fifos and sockets are recreated, not copied.
		if err := k.Mknodat(dst, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	return k.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
}

func copyFile(k kernel.Kernel, src, dst int, name string, mode uint32) error {
	s, err := k.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(s), name)
	defer in.Close()
	d, err := k.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(d), name)
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return k.Fchmod(d, mode)
}

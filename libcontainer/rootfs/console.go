package rootfs

import (
	"fmt"
	"os"

	"github.com/nookrt/nook/libcontainer/kernel"
	"golang.org/x/sys/unix"
)

// BindConsole makes /dev/console (in the current root: call it after
// pivot_root) a bind mount of the container's pty slave, as config-linux.md
// asks for terminal containers. The slave is cloned from its fd, never looked
// up by path, and /dev/console is opened without following symlinks and must
// be an empty regular file or a character device: a rootfs that plants a
// symlink or another file there cannot make nook bind anything else
// (CVE-2025-52565 class). create is false when /dev is the config's bind of
// a host directory (DevFromConfig): nothing is made in it, so /dev/console
// must exist there already.
func BindConsole(slave *os.File, create bool) error {
	return bindConsole(kernel.Real{}, slave, create)
}

func bindConsole(k kernel.Kernel, slave *os.File, create bool) error {
	dev, err := k.OpenFile("/dev", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("/dev/console: open /dev: %w", err)
	}
	defer dev.Close()
	fd, err := -1, unix.ENOENT
	if create {
		fd, err = k.Openat(int(dev.Fd()), "console", unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0o600)
	}
	if err != nil {
		// O_PATH avoids opening a device node the image put there.
		fd, err = k.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("/dev/console: %w (it must not be a symlink)", err)
		}
	}
	target := os.NewFile(uintptr(fd), "/dev/console")
	defer target.Close()
	var st unix.Stat_t
	if err := k.Fstat(fd, &st); err != nil {
		return fmt.Errorf("/dev/console: %w", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if st.Size != 0 {
			return fmt.Errorf("/dev/console: a non-empty regular file is there; refusing to mount over it")
		}
	case unix.S_IFCHR:
	default:
		return fmt.Errorf("/dev/console: unexpected file type %#o; refusing to mount over it", st.Mode&unix.S_IFMT)
	}
	tree, err := k.OpenTree(int(slave.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("/dev/console: clone pty slave: %w", err)
	}
	defer unix.Close(tree)
	if err := attachTree(k, tree, target); err != nil {
		return fmt.Errorf("/dev/console: bind pty slave: %w", err)
	}
	return nil
}

package libcontainer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/sealedexec"
)

// protectedSelf returns an fd of the running nook binary that the container can
// never write through (invariant 2, CVE-2019-5736 class): the init's
// /proc/<pid>/exe points at it, so it must not lead back to a writable inode.
//
// The fast path is a detached, read-only bind mount of the binary:
// open_tree(OPEN_TREE_CLONE) makes a mount that belongs to no namespace and
// mount_setattr(MOUNT_ATTR_RDONLY) makes it read-only. Two syscalls, no copy,
// nothing visible in any mount table, and it vanishes with the last user.
// Opening the file for writing through that mount fails with EROFS.
//
// Where that is refused (no CAP_SYS_ADMIN, kernel < 5.12) the fallback is a
// sealed memfd copy, which costs a copy of the binary per create.
func protectedSelf() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err == nil {
			return os.NewFile(uintptr(fd), "nook (read-only view)"), nil
		}
		unix.Close(fd)
	}
	return sealedCopy()
}

func sealedCopy() (*os.File, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer self.Close()
	mem, err := sealedexec.Copy("nook", self)
	if err != nil {
		return nil, fmt.Errorf("copy own binary: %w", err)
	}
	return mem, nil
}

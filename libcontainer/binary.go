package libcontainer

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
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
	fd, err := unix.MemfdCreate("nook", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "nook (sealed copy)")
	if _, err := io.Copy(mem, self); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy own binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal binary copy: %w", err)
	}
	return mem, nil
}

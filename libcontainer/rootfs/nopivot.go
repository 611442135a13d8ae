package rootfs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nookrt/nook/libcontainer/kernel"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// hideHostKernelFS detaches, before a --no-pivot root switch, every whole
// procfs and sysfs of the runtime's mount namespace outside the rootfs (the
// host's /proc and /sys, in the init's copy of its namespace). MS_MOVE leaves
// the old root in the mount table, only covered, and the kernel lets a
// nested user namespace mount a fresh procfs or sysfs as long as some whole,
// uncovered instance is in its mount namespace: with the host's still there,
// a container process could mount an unmasked /proc of its own. Where a
// mount cannot be detached it is covered with an empty read-only tmpfs,
// which makes it partial all the same. runc's --no-pivot does the same.
func hideHostKernelFS(k kernel.Kernel, rootfs string) error {
	infos, err := k.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		whole := i.Root == "/" && (i.FSType == "proc" || i.FSType == "sysfs")
		inside := i.Mountpoint == rootfs || strings.HasPrefix(i.Mountpoint, rootfs+"/")
		return !whole || inside, false
	})
	if err != nil {
		return fmt.Errorf("--no-pivot: read mountinfo: %w", err)
	}
	for _, i := range infos {
		err := k.Unmount(i.Mountpoint, unix.MNT_DETACH)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			// Gone, or went with a parent detached before it.
			continue
		case errors.Is(err, unix.EINVAL) && !kernelFSAt(k, i.Mountpoint):
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EPERM):
			// A locked mount (a user namespace's copy): cover it.
			if err := k.Mount("tmpfs", i.Mountpoint, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0"); err != nil {
				return fmt.Errorf("--no-pivot: cover the host's %s on %s: %w", i.FSType, i.Mountpoint, err)
			}
		default:
			return fmt.Errorf("--no-pivot: detach the host's %s on %s: %w", i.FSType, i.Mountpoint, err)
		}
	}
	return nil
}

// kernelFSAt: path is still a procfs or sysfs (not yet detached with a parent).
func kernelFSAt(k kernel.Kernel, path string) bool {
	var st unix.Statfs_t
	if k.Statfs(path, &st) != nil {
		return false
	}
	return st.Type == unix.PROC_SUPER_MAGIC || st.Type == unix.SYSFS_MAGIC
}

// makeHoldingMountPrivate makes the mount that holds the directory fd
// private (in the init's own mount namespace).
func makeHoldingMountPrivate(k kernel.Kernel, fd int) error {
	id, ok := mountIDOf(k, fd)
	if !ok {
		return errors.New("cannot tell which mount holds the rootfs (statx without STATX_MNT_ID)")
	}
	infos, err := k.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return uint64(i.ID) != id, uint64(i.ID) == id
	})
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	if len(infos) != 1 {
		return fmt.Errorf("mount %d holding the rootfs is not in mountinfo", id)
	}
	if err := k.Mount("", infos[0].Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", infos[0].Mountpoint, err)
	}
	return nil
}

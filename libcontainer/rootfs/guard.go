package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nookrt/nook/libcontainer/kernel"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// writeGuard keeps nook's own writes (mknod, unlink, chown, symlinks: the
// /dev set-up) to filesystems that belong to the container: the rootfs and
// the filesystems nook mounted itself (the /dev tmpfs, devpts, mqueue, …).
// A bind mount from the host is the host's: a config that binds the host's
// /dev on /dev (docker run --privileged -v /dev:/dev) must not get the host's
// /dev/null unlinked, re-made and chowned. Only what a mount target needs,
// a directory or an empty file to mount on, is ever made inside a bind.
type writeGuard struct {
	// ours holds the mount ids nook may write into; nil when the kernel
	// cannot tell mounts apart (statx without STATX_MNT_ID, before 5.8),
	// in which case nothing is refused.
	ours map[uint64]bool
	k    kernel.Kernel
}

func newWriteGuard(k kernel.Kernel, root *os.File) *writeGuard {
	id, ok := mountID(k, root)
	if !ok {
		return &writeGuard{k: k}
	}
	return &writeGuard{ours: map[uint64]bool{id: true}, k: k}
}

// own records the mount on f as one nook made (a fresh filesystem).
func (g *writeGuard) own(f *os.File) {
	if id, ok := mountID(g.k, f); ok && g.ours != nil {
		g.ours[id] = true
	}
}

// check fails unless dir is on a filesystem nook may write into. what names
// the step and the config field for the error.
func (g *writeGuard) check(dir *os.File, what string) error {
	if g == nil || g.ours == nil {
		return nil
	}
	id, ok := mountID(g.k, dir)
	if !ok || g.ours[id] {
		return nil
	}
	return fmt.Errorf("%s: %s is inside a bind mount from the host; nook does not create, remove or chown anything there", what, dir.Name())
}

// mountID is the id of the mount f is on.
func mountID(k kernel.Kernel, f *os.File) (uint64, bool) { return mountIDOf(k, int(f.Fd())) }

func mountIDOf(k kernel.Kernel, fd int) (uint64, bool) {
	var stx unix.Statx_t
	err := k.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx)
	if err != nil || stx.Mask&unix.STATX_MNT_ID == 0 {
		return 0, false
	}
	return stx.Mnt_id, true
}

// DevFromConfig says whether the config binds something (the host's /dev,
// usually) on /dev. nook then leaves /dev exactly as it is, as runc does: no
// device nodes, no /dev symlinks, no /dev/console file made in it.
func DevFromConfig(mounts []specs.Mount) bool {
	for _, m := range mounts {
		if filepath.Clean(m.Destination) == "/dev" && IsBind(m) {
			return true
		}
	}
	return false
}

// IsBind: a bind mount is named by its type or by a bind/rbind option.
func IsBind(m specs.Mount) bool {
	return m.Type == "bind" || parseOptions(m.Options).bind
}

// IDMapSupported says whether nook can make idmapped mounts here: the
// kernel has mount_setattr (5.12) and the runtime may clone mounts on the
// host (CAP_SYS_ADMIN, as root; a rootless nook cannot). Whether a given
// filesystem takes an idmapping is only known when it is tried.
func IDMapSupported() bool {
	if os.Geteuid() != 0 {
		return false
	}
	err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{})
	return !errors.Is(err, unix.ENOSYS)
}

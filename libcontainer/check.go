package libcontainer

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/sysctl"
)

// What `nook check` needs of create's own checks, so that it reports what
// create would refuse in create's words, without creating anything.

// Validate runs the field checks create makes before it starts anything
// (after spec.Validate) on s, whose rootfs is at rootfs on the host: the
// first error, and the warnings create would print. s is normalised as
// create normalises it (relative mount destinations).
func Validate(s *specs.Spec, rootfs string) (warnings []string, err error) {
	o := CreateOptions{Spec: s, Rootfs: rootfs, Warn: func(w string) { warnings = append(warnings, w) }}
	normalizeMounts(o)
	return warnings, validate(s)
}

// ValidateRootless runs create's checks of what an unprivileged nook
// cannot do for s (nothing when nook runs as root).
func ValidateRootless(s *specs.Spec) error { return validateRootless(s) }

// SysctlNamespaces says in which of its namespaces the container may set
// sysctls, as create decides it.
func SysctlNamespaces(l *specs.Linux) sysctl.Namespaces {
	if l == nil {
		return sysctl.Namespaces{}
	}
	return sysctlNamespaces(l)
}

// ProbeIDMap tries what create does for mounts[i] with the idmap option
// (an idmapped clone of source, with the mappings uid/gid) and undoes it:
// the clone is never attached, and is gone once its fd is closed. It
// fails when the kernel or the source's file system cannot idmap.
func ProbeIDMap(source string, uid, gid []specs.LinuxIDMapping) error {
	userns, err := idmapUserns(uid, gid)
	if err != nil {
		return err
	}
	defer userns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", source, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr)
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("the file system of %s does not support idmapped mounts", source)
	}
	if err != nil {
		return fmt.Errorf("mount_setattr(MOUNT_ATTR_IDMAP) on %s: %w", source, err)
	}
	return nil
}

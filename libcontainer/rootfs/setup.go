// Package rootfs builds a container's filesystem view inside the init's new
// mount namespace: the rootfs as a mount of its own, the configured mounts,
// /dev, the switch of root, masked and read-only paths.
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

// Config is what Setup needs besides the spec.
type Config struct {
	Spec    *specs.Spec
	Bundle  string
	NoPivot bool
	// Chroot: the container shares the runtime's mount namespace, so the
	// root may be neither pivoted nor moved (both would change the host's).
	Chroot   bool
	InUserns bool // created user namespace: no mknod
	CgroupNS bool // the container has its own cgroup namespace
	// BeforePivot runs once mounts and devices are made, still in the
	// runtime's root: prestart/createRuntime hooks (run by the parent) and
	// createContainer hooks happen here, as runtime.md orders them.
	BeforePivot func() error
	// AfterPivot runs in the new root before masked and read-only paths
	// are applied: sysctls are written through the container's /proc while
	// /proc/sys is still writable.
	AfterPivot func() error
	// Propagation is linux.rootfsPropagation (OpenRoot applied the part
	// that must precede pivot_root).
	Propagation string
	// IdmapFds: for an idmapped mount (by index in Spec.Mounts), the fd of
	// a user namespace with its mappings (when the init clones the source
	// itself: a bind in BindFds is idmapped already).
	IdmapFds map[int]int
	// BindFds: for a bind mount (by index in Spec.Mounts), its source as
	// the parent cloned it on the host (PrepareBind). Setup takes each fd
	// over and closes it.
	BindFds map[int]int
	// MountLabel, if set, formats a mount's data with its SELinux label.
	MountLabel func(data string) string
	// ProcContext, if set, gives a proc filesystem context (fsopen'd by
	// the container's init: a procfs shows the pid namespace of whoever
	// opened its context) for each proc mount, which Setup configures,
	// mounts and closes. Unset: proc is mounted with mount(2), which
	// takes the caller's pid namespace. Setup runs in the parent then
	// (containerinit.BuildFromParent), not in the init.
	ProcContext func() (int, error)
	// CgroupFile is /proc/<pid>/cgroup of the container's init, for the
	// cgroup mounts of a container without a cgroup namespace; "" is
	// /proc/self/cgroup (Setup runs in the init).
	CgroupFile string
	// Kernel makes the syscalls; nil is kernel.Real. Unit tests put a
	// kernel.Recorder here to check the steps without root.
	Kernel kernel.Kernel

	guard *writeGuard // set by Setup
	// lateReadonly: mounts made read-only at the end (mountFilesystem).
	lateReadonly []lateReadonly
}

// OpenRoot makes the rootfs a mount of its own (pivot_root needs one) and
// returns a handle on that mount's root. It is the only step that looks the
// rootfs up by path, so the init calls it while it still has the host uid: a
// bundle directory the container's root may not traverse is then no obstacle.
//
// Without a mount namespace of its own (newMntNS false) the host's mount
// propagation is left alone; the mounts made under the rootfs are then the
// host's too, and `delete` unmounts them.
func OpenRoot(rootfs, propagation string, newMntNS bool) (*os.File, error) {
	return openRoot(kernel.Real{}, rootfs, propagation, newMntNS)
}

func openRoot(k kernel.Kernel, rootfs, propagation string, newMntNS bool) (*os.File, error) {
	prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if propagation != "" {
		p, ok := propagationOptions[propagation]
		if !ok {
			return nil, fmt.Errorf("linux.rootfsPropagation %q: unknown propagation", propagation)
		}
		// Unbindable is applied to the new root after pivot_root (an
		// unbindable root cannot be cloned); shared is applied here too,
		// as runc does: the host's shared mounts stay peers of the
		// host's, so a bind of one propagates both ways (Kubernetes
		// Bidirectional), and again to the new root after the pivot.
		if p&unix.MS_UNBINDABLE == 0 {
			prop = p
		}
	}
	// Mount events of the container must not reach the host.
	if newMntNS {
		if err := k.Mount("", "/", "", prop, ""); err != nil {
			return nil, fmt.Errorf("set / propagation: %w", err)
		}
	}
	// One lookup of the path (symlinks followed, as for any host path the
	// caller gives); the clone and the attach both use that fd.
	dirFd, err := k.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", rootfs, err)
	}
	defer unix.Close(dirFd)
	if newMntNS && prop&unix.MS_SHARED != 0 {
		// With "/" shared, the mount holding the rootfs is a peer of the
		// host's: made private, it passes neither the rootfs's clone nor
		// the container's mounts on to the host, and pivot_root (which
		// refuses a shared parent) works.
		if err := makeHoldingMountPrivate(k, dirFd); err != nil {
			return nil, fmt.Errorf("linux.rootfsPropagation %s: %w", propagation, err)
		}
	}
	tree, err := k.OpenTree(dirFd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return nil, fmt.Errorf("bind rootfs %s: %w", rootfs, err)
	}
	if err := k.MoveMount(tree, "", dirFd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		unix.Close(tree)
		return nil, fmt.Errorf("attach rootfs %s: %w", rootfs, err)
	}
	// The fd still names the mount, now attached: it is the new root.
	return os.NewFile(uintptr(tree), rootfs), nil
}

// Setup does everything between OpenRoot and the user process: mounts,
// devices, root switch, masked and read-only paths, read-only root.
func Setup(root *os.File, c *Config) error {
	k := kernel.Or(c.Kernel)
	if err := checkProcfs(k, "/proc"); err != nil {
		return err
	}
	old := k.Umask(0) // device and directory modes exactly as asked
	defer k.Umask(old)
	c.guard = newWriteGuard(k, root)
	defer closeLateReadonly(c)
	for i, m := range c.Spec.Mounts {
		if err := mountEntry(k, root, i, m, c); err != nil {
			return err
		}
	}
	var devices []specs.LinuxDevice
	if c.Spec.Linux != nil {
		devices = c.Spec.Linux.Devices
	}
	// A /dev the config binds from the host is left exactly as it is.
	if !DevFromConfig(c.Spec.Mounts) {
		if err := createDevices(k, root, devices, c.InUserns, c.guard); err != nil {
			return err
		}
	}
	if c.BeforePivot != nil {
		if err := c.BeforePivot(); err != nil {
			return err
		}
	}
	if err := switchRoot(k, root, c.NoPivot, c.Chroot); err != nil {
		return err
	}
	if p, ok := propagationOptions[c.Propagation]; ok && postPivotPropagation(p) && !c.Chroot {
		// Now the container's own tree: shared between its mounts (a
		// bind of "/" sees later mounts), while the host stays its master
		// only, or unbindable.
		if err := k.Mount("", "/", "", p, ""); err != nil {
			return fmt.Errorf("linux.rootfsPropagation %s: %w", c.Propagation, err)
		}
	}
	if c.AfterPivot != nil {
		if err := c.AfterPivot(); err != nil {
			return err
		}
	}
	if c.Spec.Linux != nil {
		if err := maskPaths(k, c.Spec.Linux.MaskedPaths); err != nil {
			return err
		}
		for _, p := range c.Spec.Linux.ReadonlyPaths {
			if err := readonlyPath(k, p); err != nil {
				return fmt.Errorf("linux.readonlyPaths %s: %w", p, err)
			}
		}
	}
	if err := finishReadonly(k, c); err != nil {
		return err
	}
	if c.Spec.Root != nil && c.Spec.Root.Readonly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := k.MountSetattr(unix.AT_FDCWD, "/", 0, &attr); err != nil {
			return fmt.Errorf("root.readonly: %w", err)
		}
	}
	return nil
}

// finishReadonly makes read-only the tmpfs and /dev mounts whose ro was
// put off until nothing more is made in them (deferredReadonly).
func finishReadonly(k kernel.Kernel, c *Config) error {
	for _, l := range c.lateReadonly {
		flags := uint(unix.AT_EMPTY_PATH)
		if l.recursive {
			flags |= unix.AT_RECURSIVE
		}
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := k.MountSetattr(int(l.mnt.Fd()), "", flags, &attr); err != nil {
			return fmt.Errorf("make %s read-only: %w", l.mnt.Name(), err)
		}
	}
	return nil
}

func closeLateReadonly(c *Config) {
	for _, l := range c.lateReadonly {
		l.mnt.Close()
	}
	c.lateReadonly = nil
}

// checkProcfs refuses to go on if path is not a real procfs: nook writes and
// mounts through /proc/self/fd, and a fake /proc would redirect them
// (invariant 4).
func checkProcfs(k kernel.Kernel, path string) error {
	var st unix.Statfs_t
	if err := k.Statfs(path, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", path, err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not a procfs (filesystem magic %#x)", path, st.Type)
	}
	return nil
}

func switchRoot(k kernel.Kernel, root *os.File, noPivot, chrootOnly bool) error {
	if err := k.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if chrootOnly {
		if err := k.Chroot("."); err != nil {
			return fmt.Errorf("chroot: %w", err)
		}
		return k.Chdir("/")
	}
	if noPivot {
		// The rootfs as mountinfo names it (symlinks in the bundle path resolved).
		rootfs, err := k.Readlink(fdPath(root))
		if err != nil {
			return fmt.Errorf("--no-pivot: resolve the rootfs: %w", err)
		}
		if err := hideHostKernelFS(k, rootfs); err != nil {
			return err
		}
		if err := k.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move rootfs to /: %w", err)
		}
		if err := k.Chroot("."); err != nil {
			return fmt.Errorf("chroot: %w", err)
		}
		return k.Chdir("/")
	}
	// pivot_root(".", ".") stacks the old root on top of the new one; it is
	// then detached without ever needing a directory for it in the rootfs.
	// A handle on the old root names it for that: "." after the pivot may
	// resolve to the new root for mount(2), which must not turn the
	// container's own mounts (a Bidirectional bind) into slaves.
	oldRoot, err := k.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the old root: %w", err)
	}
	defer unix.Close(oldRoot)
	if err := k.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := k.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to the old root: %w", err)
	}
	if err := k.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root slave: %w", err)
	}
	if err := k.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return k.Chdir("/")
}

// openAfterSwitch resolves path inside the (new) root. A missing path gives
// no handle and no error: masked and read-only paths may not exist.
func openAfterSwitch(k kernel.Kernel, path string) (root, target *os.File, err error) {
	root, err = k.OpenFile("/", os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	target, err = openInRoot(k, root, path, unix.O_PATH)
	if err != nil {
		root.Close()
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return nil, nil, err
	}
	return root, target, nil
}

// maskPaths hides each of paths (linux.maskedPaths): a directory under a
// read-only empty tmpfs, anything else under the container's /dev/null. A
// path listed twice is masked once, and every directory gets a clone of
// one tmpfs rather than a tmpfs of its own, as runc 1.5 does: Kubernetes
// masks dozens of per-CPU sysfs directories, and each superblock costs
// memory and teardown time.
func maskPaths(k kernel.Kernel, paths []string) error {
	var shared *os.File // the first directory mask, attached
	defer func() {
		if shared != nil {
			shared.Close()
		}
	}()
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		clean := filepath.Clean("/" + p)
		if seen[clean] {
			continue
		}
		seen[clean] = true
		if err := maskPath(k, p, &shared); err != nil {
			return fmt.Errorf("linux.maskedPaths %s: %w", p, err)
		}
	}
	return nil
}

// maskPath hides one path. A missing path is fine. *shared is the mask
// tmpfs to clone for a directory; maskPath sets it on the first one.
func maskPath(k kernel.Kernel, path string, shared **os.File) error {
	root, target, err := openAfterSwitch(k, path)
	if target == nil {
		return err
	}
	defer root.Close()
	defer target.Close()
	var st unix.Stat_t
	if err := k.Fstat(int(target.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return maskDir(k, target, shared)
	}
	null, err := trustedDevNull(k, root)
	if err != nil {
		return err
	}
	defer null.Close()
	tree, err := k.OpenTree(int(null.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("clone /dev/null: %w", err)
	}
	defer unix.Close(tree)
	return attachTree(k, tree, target)
}

// maskDir covers target with a clone of *shared (the clone keeps its
// read-only and other flags), or, for the first directory, with a new
// read-only empty tmpfs that then becomes *shared.
func maskDir(k kernel.Kernel, target *os.File, shared **os.File) error {
	if *shared != nil {
		tree, err := k.OpenTree(int((*shared).Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
		if err != nil {
			return fmt.Errorf("clone the mask tmpfs: %w", err)
		}
		defer unix.Close(tree)
		return attachTree(k, tree, target)
	}
	fs, err := k.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	if err := k.FsconfigCreate(fs); err != nil {
		return fmt.Errorf("create tmpfs: %w", err)
	}
	mnt, err := k.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("fsmount tmpfs: %w", err)
	}
	f := os.NewFile(uintptr(mnt), "mask tmpfs")
	if err := attachTree(k, mnt, target); err != nil {
		f.Close()
		return err
	}
	// Attached, the fd still names the mount: later masks clone it.
	*shared = f
	return nil
}

// trustedDevNull opens the container's /dev/null and checks it is the real
// 1:3 character device, not a symlink or file planted to make masking bind
// something else (CVE-2025-31133).
func trustedDevNull(k kernel.Kernel, root *os.File) (*os.File, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := k.Openat2(int(root.Fd()), "/dev/null", &how)
	if err != nil {
		return nil, fmt.Errorf("open /dev/null: %w", err)
	}
	f := os.NewFile(uintptr(fd), "/dev/null")
	var st unix.Stat_t
	if err := k.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		f.Close()
		return nil, errors.New("/dev/null is not the null device (1:3); refusing to use it")
	}
	return f, nil
}

// readonlyPath binds a path over itself, recursively read-only.
func readonlyPath(k kernel.Kernel, path string) error {
	root, target, err := openAfterSwitch(k, path)
	if target == nil {
		return err
	}
	defer root.Close()
	defer target.Close()
	tree, err := k.OpenTree(int(target.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := k.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("make read-only: %w", err)
	}
	return attachTree(k, tree, target)
}

// postPivotPropagation: propagation types set on the new root once it is
// "/" (shared also before the clone, see OpenRoot).
func postPivotPropagation(p uintptr) bool {
	return p&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0
}

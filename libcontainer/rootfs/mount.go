package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nookrt/nook/libcontainer/kernel"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountEntry mounts one entry of config.json's mounts inside root.
func mountEntry(k kernel.Kernel, root *os.File, index int, m specs.Mount, c *Config) error {
	opts := parseOptions(m.Options)
	dest := Destination(root.Name(), m.Destination)
	if err := checkProcDestination(m, dest, SharesHostPID(c.Spec)); err != nil {
		return fmt.Errorf("mounts[%d]: %w", index, err)
	}
	if m.Type == "bind" {
		opts.bind = true
	}
	opts.userns = c.InUserns
	var err error
	switch {
	case opts.bind:
		opts.idmapFd = c.IdmapFds[index]
		err = bindMount(k, root, index, m, dest, opts, c)
	case m.Type == "cgroup":
		err = mountCgroup(k, root, dest, opts, c)
	default:
		err = mountFilesystem(k, root, m, dest, opts, c)
	}
	if err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", m.Source, m.Type, m.Destination, err)
	}
	return nil
}

func mountFilesystem(k kernel.Kernel, root *os.File, m specs.Mount, dest string, opts mountOptions, c *Config) error {
	if m.Type == "tmpfs" {
		if err := inheritMode(k, root, dest, &opts); err != nil {
			return err
		}
	}
	// A read-only /dev or tmpfs is mounted read-write and made read-only
	// once everything below it exists (/dev/pts, devices, …), as runc's
	// finalizeRootfs does (finishReadonly).
	late := deferredReadonly(m, dest, &opts)
	var target *os.File
	var err error
	if m.Type == "proc" || m.Type == "sysfs" {
		target, err = realDirInRoot(k, root, dest)
	} else {
		target, err = mkdirInRoot(k, root, dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := refuseProcTarget(k, target, m); err != nil {
		return err
	}
	source := m.Source
	if source == "" {
		source = m.Type
	}
	data := opts.dataString()
	if c.MountLabel != nil && labelledFS(m.Type) {
		data = c.MountLabel(data)
	}
	if m.Type == "proc" && c.ProcContext != nil {
		err = mountProcContext(k, c.ProcContext, target, source, opts.flags&^unix.MS_REMOUNT, data)
	} else {
		err = k.Mount(source, fdPath(target), m.Type, opts.flags&^unix.MS_REMOUNT, data)
	}
	if errors.Is(err, unix.EPERM) && m.Type == "sysfs" && c.InUserns {
		// A user namespace without its own network namespace may not mount
		// sysfs; bind the host's read-only instead, as runc does.
		return bindMount(k, root, -1, specs.Mount{Source: "/sys", Type: "bind"}, dest,
			parseOptions([]string{"rbind", "nosuid", "noexec", "nodev", "ro"}), c)
	}
	if err != nil {
		return err
	}
	// A fresh filesystem of the container's: nook may make devices in it.
	if mnt, err := reopen(k, root, dest); err == nil {
		c.guard.own(mnt)
		if late.set {
			late.mnt = mnt
			c.lateReadonly = append(c.lateReadonly, late)
		} else {
			mnt.Close()
		}
	} else if late.set {
		return err
	}
	if opts.tmpcopyup {
		if err := copyUp(k, target, root, dest); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
	}
	if err := applyRecursiveAttr(k, root, dest, opts); err != nil {
		return err
	}
	return applyPropagation(k, root, dest, opts)
}

// inheritMode gives a tmpfs without a mode= option the mode of the
// directory it covers, when that exists, as runc does (since 1.1.9: the
// sticky bit of /tmp is kept): the tmpfs default, 1777, is only for a
// directory nook creates for it.
func inheritMode(k kernel.Kernel, root *os.File, dest string, opts *mountOptions) error {
	for _, d := range opts.data {
		if strings.HasPrefix(d, "mode=") {
			return nil
		}
	}
	f, err := openInRoot(k, root, dest, unix.O_PATH)
	if err != nil {
		return nil // nothing there to take it from (mkdirInRoot reports what else is wrong)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := k.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat the tmpfs target: %w", err)
	}
	opts.data = append([]string{fmt.Sprintf("mode=%04o", st.Mode&0o7777)}, opts.data...)
	return nil
}

// lateReadonly is a mount made read-write that is to be made read-only at
// the end of Setup (recursively for rro).
type lateReadonly struct {
	mnt       *os.File // the mount's root
	set       bool
	recursive bool
}

// deferredReadonly takes ro (and rro) off the options of a tmpfs or of
// /dev, which nook still writes into, and says what to apply at the end.
func deferredReadonly(m specs.Mount, dest string, opts *mountOptions) lateReadonly {
	var late lateReadonly
	if m.Type != "tmpfs" && dest != "/dev" {
		return late
	}
	if opts.flags&unix.MS_RDONLY != 0 {
		opts.flags &^= unix.MS_RDONLY
		late.set = true
	}
	if opts.recAttr.Attr_set&unix.MOUNT_ATTR_RDONLY != 0 {
		opts.recAttr.Attr_set &^= unix.MOUNT_ATTR_RDONLY
		late.set, late.recursive = true, true
	}
	return late
}

// applyRecursiveAttr applies the "r" options (rro, rnosuid, …) to every
// mount under dest.
func applyRecursiveAttr(k kernel.Kernel, root *os.File, dest string, opts mountOptions) error {
	a := opts.recAttr
	if a.Attr_set == 0 && a.Attr_clr == 0 {
		return nil
	}
	mnt, err := reopen(k, root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := k.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &a); err != nil {
		return fmt.Errorf("set recursive mount attributes: %w", err)
	}
	return nil
}

func applyPropagation(k kernel.Kernel, root *os.File, dest string, opts mountOptions) error {
	if len(opts.propagation) == 0 {
		return nil
	}
	mnt, err := reopen(k, root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	for _, p := range opts.propagation {
		if err := k.Mount("", fdPath(mnt), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	return nil
}

// bindMount attaches a bind mount's source, cloned as a detached mount
// with its attributes already set, on the destination. The parent clones
// it on the host (PrepareBind): the init gets the mount's fd and only moves
// it into place, so a source the container's root may not reach, and an
// idmapped mount in a user namespace, work as with runc. Without that fd (a
// runtime without CAP_SYS_ADMIN, or the sysfs fallback) the init clones it
// itself. Nothing is ever visible half-configured.
func bindMount(k kernel.Kernel, root *os.File, index int, m specs.Mount, dest string, opts mountOptions, c *Config) error {
	var tree *os.File
	if fd, ok := c.BindFds[index]; ok {
		tree = os.NewFile(uintptr(fd), m.Source)
		delete(c.BindFds, index)
	} else {
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(c.Bundle, src)
		}
		t, err := cloneBindSource(k, src, m, opts)
		if err != nil {
			return err
		}
		tree = t
	}
	defer tree.Close()
	if dest == "/proc" {
		if err := checkProcSource(k, tree); err != nil {
			return err
		}
	}
	var st unix.Stat_t
	if err := k.Fstat(int(tree.Fd()), &st); err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	var target *os.File
	var err error
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		target, err = mkdirInRoot(k, root, dest)
	} else {
		target, err = fileInRoot(k, root, dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := refuseProcTarget(k, target, m); err != nil {
		return err
	}
	if err := attachTree(k, int(tree.Fd()), target); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	// Propagation is set once attached: a detached mount has no peers.
	return applyPropagation(k, root, dest, opts)
}

// PrepareBind clones the source of mounts[index] (a bind mount) on the
// host, as a detached mount with the config's attributes, its idmapping
// (idmapFd: a user namespace holding the mount's mappings, 0 for none) and
// the propagation the container's root would have given it, for the init to
// attach (bindMount). It runs in the parent, in the runtime's mount
// namespace, with the runtime's credentials. userns: the container has a
// user namespace, where the source's flags would be locked (setBindAttr).
func PrepareBind(m specs.Mount, bundle string, idmapFd int, rootPropagation string, userns bool) (*os.File, error) {
	k := kernel.Real{}
	opts := parseOptions(m.Options)
	opts.idmapFd = idmapFd
	opts.userns = userns
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundle, src)
	}
	tree, err := cloneBindSource(k, src, m, opts)
	if err != nil {
		return nil, err
	}
	if p := inheritedPropagation(rootPropagation); p != 0 {
		flags := uint(unix.AT_EMPTY_PATH)
		if opts.recursive {
			flags |= unix.AT_RECURSIVE
		}
		if err := k.MountSetattr(int(tree.Fd()), "", flags, &unix.MountAttr{Propagation: uint64(p)}); err != nil {
			tree.Close()
			return nil, fmt.Errorf("set propagation of %s: %w", src, err)
		}
	}
	return tree, nil
}

// inheritedPropagation is what a bind of a host mount would be in the
// container's namespace had it been cloned there (as runc does) after the
// runtime's "/" was given linux.rootfsPropagation: a slave of the host's
// peer group by default (rslave), private with rprivate, the host's own peer
// (both ways) with shared or rshared. 0: as on the host.
func inheritedPropagation(rootPropagation string) uintptr {
	switch rootPropagation {
	case "", "slave", "rslave":
		return unix.MS_SLAVE
	case "private", "rprivate":
		return unix.MS_PRIVATE
	}
	return 0
}

// cloneBindSource clones src (recursively for rbind) as a detached mount and
// sets on it the mount's attributes and idmapping.
func cloneBindSource(k kernel.Kernel, src string, m specs.Mount, opts mountOptions) (*os.File, error) {
	if _, err := k.Stat(src); err != nil {
		return nil, fmt.Errorf("bind source: %w", err)
	}
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if opts.recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := k.OpenTree(unix.AT_FDCWD, src, flags)
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", src, err)
	}
	tree := os.NewFile(uintptr(fd), src)
	if err := setBindAttrs(k, fd, m, opts); err != nil {
		tree.Close()
		return nil, err
	}
	return tree, nil
}

func setBindAttrs(k kernel.Kernel, tree int, m specs.Mount, opts mountOptions) error {
	if err := setBindAttr(k, tree, opts); err != nil {
		return fmt.Errorf("set mount attributes %s: %w", strings.Join(m.Options, ","), err)
	}
	if opts.idmapFd > 0 {
		// Only a detached mount can be idmapped: now, before the attach.
		flags := uint(unix.AT_EMPTY_PATH)
		if opts.idmapRecursive {
			flags |= unix.AT_RECURSIVE
		}
		a := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(opts.idmapFd)}
		if err := k.MountSetattr(tree, "", flags, &a); err != nil {
			return fmt.Errorf("idmapped mount (the filesystem or kernel may not support it): %w", err)
		}
	}
	if a := opts.recAttr; a.Attr_set != 0 || a.Attr_clr != 0 {
		if err := k.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &a); err != nil {
			return fmt.Errorf("set recursive mount attributes %s: %w", strings.Join(m.Options, ","), err)
		}
	}
	return nil
}

// labelledFS: filesystems that take an SELinux context= mount option (proc,
// sysfs and cgroup have fixed labels and refuse it).
func labelledFS(typ string) bool {
	switch typ {
	case "tmpfs", "mqueue", "devpts", "shm", "ramfs":
		return true
	}
	return false
}

// procFileBinds are the /proc files a bind may cover (lxcfs serves these),
// as runc allows; any other mount on or under /proc could redirect nook's
// own procfs writes or hide the kernel's view (invariant 4).
var procFileBinds = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/sys/kernel/ns_last_pid": true,
}

// checkProcDestination refuses mounts on or under /proc but for a fresh
// procfs, the lxcfs-style file binds, and a bind of a procfs on /proc in
// a container that shares the host's pid namespace (hostPID: no pid entry
// in linux.namespaces), which runc accepts and rootless podman --pid=host
// writes: that container sees the host's processes anyway. With a pid
// namespace of its own the host's /proc would show it the host's. That
// the bind's source really is a procfs is checkProcSource's job.
func checkProcDestination(m specs.Mount, dest string, hostPID bool) error {
	switch {
	case dest == "/proc":
		bind := IsBind(m)
		switch {
		case m.Type == "proc" && !bind:
		case bind && hostPID:
		case bind:
			return fmt.Errorf("%s on /proc: a bind on /proc is only accepted when the container shares the host's pid namespace (no pid entry in linux.namespaces); this one has its own", m.Source)
		default:
			return fmt.Errorf("%s on /proc: /proc must be a proc filesystem, not %q", m.Source, m.Type)
		}
	case strings.HasPrefix(dest, "/proc/"):
		if !procFileBinds[dest] {
			return fmt.Errorf("%s on %s: mounts under /proc are refused (only lxcfs-style binds of %s…)", m.Source, dest, "/proc/cpuinfo, /proc/meminfo")
		}
	}
	return nil
}

// checkProcSource: what is bound on /proc (checkProcDestination let only
// a host-pid container do it) must be the root of a procfs, the host's
// /proc, never a directory that merely looks like one.
func checkProcSource(k kernel.Kernel, tree *os.File) error {
	var fs unix.Statfs_t
	if err := k.Fstatfs(int(tree.Fd()), &fs); err != nil {
		return fmt.Errorf("statfs the bind source: %w", err)
	}
	var st unix.Stat_t
	if err := k.Fstat(int(tree.Fd()), &st); err != nil {
		return fmt.Errorf("stat the bind source: %w", err)
	}
	// A procfs's root directory is inode 1.
	if fs.Type != unix.PROC_SUPER_MAGIC || st.Ino != 1 {
		return errors.New("a bind on /proc must have the root of a procfs (the host's /proc) as its source")
	}
	return nil
}

// SharesHostPID: the config lists no pid namespace, so the container is
// in the runtime's (the host's) pid namespace.
func SharesHostPID(s *specs.Spec) bool {
	if s.Linux == nil {
		return true
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return false
		}
	}
	return true
}

// refuseProcTarget checks the resolved target, not the destination as
// written: a symlink in the image (/p -> proc) must not let a mount land on
// the container's procfs. Only the lxcfs-style file binds may.
func refuseProcTarget(k kernel.Kernel, target *os.File, m specs.Mount) error {
	var st unix.Statfs_t
	if err := k.Fstatfs(int(target.Fd()), &st); err != nil {
		return fmt.Errorf("statfs target: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC || procFileBinds[filepath.Clean(m.Destination)] {
		return nil
	}
	return fmt.Errorf("the destination resolves into the container's /proc (procfs); mounts there are refused")
}

// fsmountAttrs is mount(2)'s flags as fsmount(2)'s attributes (the atime
// mode as mount(2) ranks it: strictatime over noatime over the default
// relatime); ok is false when a flag has none (a superblock flag, which
// only mount(2) gives).
func fsmountAttrs(flags uintptr) (attrs int, ok bool) {
	rest := flags &^ (unix.MS_REMOUNT | unix.MS_SILENT | atimeFlags)
	for _, f := range attrFlags {
		if flags&f.ms != 0 {
			attrs |= int(f.attr)
			rest &^= f.ms
		}
	}
	switch {
	case flags&unix.MS_STRICTATIME != 0:
		attrs |= unix.MOUNT_ATTR_STRICTATIME
	case flags&unix.MS_NOATIME != 0:
		attrs |= unix.MOUNT_ATTR_NOATIME
	}
	return attrs, rest == 0
}

// ProcMountFromContext says whether m, a proc mount, can be made from a
// filesystem context (Config.ProcContext): its flags all have an fsmount
// attribute.
func ProcMountFromContext(m specs.Mount) bool {
	opts := parseOptions(m.Options)
	if m.Type != "proc" || opts.bind || len(opts.propagation) > 0 || opts.recAttr != (unix.MountAttr{}) || opts.tmpcopyup {
		return false
	}
	_, ok := fsmountAttrs(opts.flags)
	return ok
}

// mountProcContext mounts a proc filesystem on target from a context the
// container's init opened (Config.ProcContext), with mount(2)'s source,
// flags and data: the source and each data option are set on the context,
// the flags become the mount's attributes.
func mountProcContext(k kernel.Kernel, context func() (int, error), target *os.File, source string, flags uintptr, data string) error {
	fs, err := context()
	if err != nil {
		return err
	}
	defer unix.Close(fs)
	// The errors are mount(2)'s, bare, as mountEntry words them for the
	// Go init's mount of the same entry.
	if err := k.FsconfigSet(fs, "source", source); err != nil {
		return err
	}
	for _, o := range strings.Split(data, ",") {
		if o == "" {
			continue
		}
		key, value, _ := strings.Cut(o, "=")
		if err := k.FsconfigSet(fs, key, value); err != nil {
			return err
		}
	}
	if err := k.FsconfigCreate(fs); err != nil {
		return err
	}
	attrs, _ := fsmountAttrs(flags) // ProcMountFromContext checked them
	mnt, err := k.Fsmount(fs, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	return k.MoveMount(mnt, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

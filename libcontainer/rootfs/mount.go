package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountEntry mounts one entry of config.json's mounts inside root.
func mountEntry(root *os.File, index int, m specs.Mount, c *Config) error {
	opts := parseOptions(m.Options)
	dest := filepath.Clean(m.Destination)
	if err := checkProcDestination(m, dest); err != nil {
		return fmt.Errorf("mounts[%d]: %w", index, err)
	}
	if m.Type == "bind" {
		opts.bind = true
	}
	var err error
	switch {
	case opts.bind:
		opts.idmapFd = c.IdmapFds[index]
		err = bindMount(root, m, dest, opts, c)
	case m.Type == "cgroup":
		err = mountCgroup(root, dest, opts, c)
	default:
		err = mountFilesystem(root, m, dest, opts, c)
	}
	if err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", m.Source, m.Type, m.Destination, err)
	}
	return nil
}

func mountFilesystem(root *os.File, m specs.Mount, dest string, opts mountOptions, c *Config) error {
	var target *os.File
	var err error
	if m.Type == "proc" || m.Type == "sysfs" {
		target, err = realDirInRoot(root, dest)
	} else {
		target, err = mkdirInRoot(root, dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := refuseProcTarget(target, m); err != nil {
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
	err = unix.Mount(source, fdPath(target), m.Type, opts.flags&^unix.MS_REMOUNT, data)
	if errors.Is(err, unix.EPERM) && m.Type == "sysfs" && c.InUserns {
		// A user namespace without its own network namespace may not mount
		// sysfs; bind the host's read-only instead, as runc does.
		return bindMount(root, specs.Mount{Source: "/sys", Type: "bind"}, dest,
			parseOptions([]string{"rbind", "nosuid", "noexec", "nodev", "ro"}), c)
	}
	if err != nil {
		return err
	}
	// A fresh filesystem of the container's: nook may make devices in it.
	if mnt, err := reopen(root, dest); err == nil {
		c.guard.own(mnt)
		mnt.Close()
	}
	if opts.tmpcopyup {
		if err := copyUp(target, root, dest); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
	}
	if err := applyRecursiveAttr(root, dest, opts); err != nil {
		return err
	}
	return applyPropagation(root, dest, opts)
}

// applyRecursiveAttr applies the "r" options (rro, rnosuid, …) to every
// mount under dest.
func applyRecursiveAttr(root *os.File, dest string, opts mountOptions) error {
	a := opts.recAttr
	if a.Attr_set == 0 && a.Attr_clr == 0 {
		return nil
	}
	mnt, err := reopen(root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &a); err != nil {
		return fmt.Errorf("set recursive mount attributes: %w", err)
	}
	return nil
}

func applyPropagation(root *os.File, dest string, opts mountOptions) error {
	if len(opts.propagation) == 0 {
		return nil
	}
	mnt, err := reopen(root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	for _, p := range opts.propagation {
		if err := unix.Mount("", fdPath(mnt), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	return nil
}

// bindMount clones the source as a detached mount, sets its attributes while
// it is still detached, and attaches it on the destination fd. Nothing is
// ever visible half-configured, and no path is looked up twice.
func bindMount(root *os.File, m specs.Mount, dest string, opts mountOptions, c *Config) error {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(c.Bundle, src)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	var target *os.File
	if fi.IsDir() {
		target, err = mkdirInRoot(root, dest)
	} else {
		target, err = fileInRoot(root, dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := refuseProcTarget(target, m); err != nil {
		return err
	}

	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if opts.recursive {
		flags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, flags)
	if err != nil {
		return fmt.Errorf("clone %s: %w", src, err)
	}
	defer unix.Close(tree)
	attr, err := opts.mountAttr()
	if err != nil {
		return err
	}
	// ro/nosuid/… apply to the top mount only, as with mount(2) remounts.
	if attr.Attr_set != 0 || attr.Attr_clr != 0 {
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("set mount attributes %s: %w", strings.Join(m.Options, ","), err)
		}
	}
	if opts.idmapFd > 0 {
		// Only a detached mount can be idmapped: now, before the attach.
		flags := uint(unix.AT_EMPTY_PATH)
		if opts.idmapRecursive {
			flags |= unix.AT_RECURSIVE
		}
		a := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(opts.idmapFd)}
		if err := unix.MountSetattr(tree, "", flags, &a); err != nil {
			return fmt.Errorf("idmapped mount (the filesystem or kernel may not support it): %w", err)
		}
	}
	if a := opts.recAttr; a.Attr_set != 0 || a.Attr_clr != 0 {
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &a); err != nil {
			return fmt.Errorf("set recursive mount attributes %s: %w", strings.Join(m.Options, ","), err)
		}
	}
	if err := attachTree(tree, target); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	// Propagation is set once attached: a detached mount has no peers.
	return applyPropagation(root, dest, opts)
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

func checkProcDestination(m specs.Mount, dest string) error {
	switch {
	case dest == "/proc":
		if m.Type != "proc" {
			return fmt.Errorf("%s on /proc: /proc must be a proc filesystem, not %q", m.Source, m.Type)
		}
	case strings.HasPrefix(dest, "/proc/"):
		if !procFileBinds[dest] {
			return fmt.Errorf("%s on %s: mounts under /proc are refused (only lxcfs-style binds of %s…)", m.Source, dest, "/proc/cpuinfo, /proc/meminfo")
		}
	}
	return nil
}

// refuseProcTarget checks the resolved target, not the destination as
// written: a symlink in the image (/p -> proc) must not let a mount land on
// the container's procfs. Only the lxcfs-style file binds may.
func refuseProcTarget(target *os.File, m specs.Mount) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(target.Fd()), &st); err != nil {
		return fmt.Errorf("statfs target: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC || procFileBinds[filepath.Clean(m.Destination)] {
		return nil
	}
	return fmt.Errorf("the destination resolves into the container's /proc (procfs); mounts there are refused")
}

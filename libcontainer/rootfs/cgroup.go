package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nookrt/nook/libcontainer/kernel"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// mountCgroup handles a mount of type "cgroup": the container sees its own
// cgroup(s), read-only unless the config says otherwise.
//
//   - pure cgroup2 host: one cgroup2 mount;
//   - v1 or hybrid host: a tmpfs holding one mount per hierarchy the host has
//     (v1 controllers, named hierarchies, the cgroup2 "unified" mount), plus
//     the usual symlinks for co-mounted controllers (cpu -> cpu,cpuacct).
//
// With a cgroup namespace a fresh cgroup mount shows the namespace root, which
// is the container's cgroup. Without one, a fresh mount would show the host's
// whole tree, so the container's own cgroup directory is bind-mounted instead.
func mountCgroup(k kernel.Kernel, root *os.File, dest string, opts mountOptions, c *Config) error {
	hier, err := hostCgroupHierarchies(k, c.CgroupFile)
	if err != nil {
		return err
	}
	// Without its own cgroup namespace the container sees host cgroup
	// directories: never writable then (CVE-2023-25809).
	ro := opts.flags&unix.MS_RDONLY != 0 || !c.CgroupNS
	flags := opts.flags &^ unix.MS_RDONLY
	if len(hier) == 1 && hier[0].fstype == "cgroup2" && hier[0].mountpoint == "/sys/fs/cgroup" {
		return mountHierarchy(k, root, dest, hier[0], flags, ro, c)
	}
	target, err := mkdirInRoot(k, root, dest)
	if err != nil {
		return err
	}
	err = k.Mount("tmpfs", fdPath(target), "tmpfs", flags, "mode=755")
	target.Close()
	if err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	base, err := reopen(k, root, dest)
	if err != nil {
		return err
	}
	defer base.Close()
	for _, h := range hier {
		name := filepath.Base(h.mountpoint)
		if err := mountHierarchy(k, root, filepath.Join(dest, name), h, flags, ro, c); err != nil {
			return err
		}
		if h.fstype != "cgroup" || !strings.Contains(name, ",") {
			continue
		}
		for _, ctrl := range strings.Split(name, ",") {
			if err := k.Symlinkat(name, int(base.Fd()), ctrl); err != nil && err != unix.EEXIST {
				return fmt.Errorf("symlink %s -> %s: %w", ctrl, name, err)
			}
		}
	}
	if ro {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := k.MountSetattr(int(base.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("make %s read-only: %w", dest, err)
		}
	}
	return nil
}

type cgroupHierarchy struct {
	mountpoint string
	fstype     string // cgroup or cgroup2
	subsystems string // v1 super options naming the controllers, e.g. "cpu,cpuacct"
	ownPath    string // this process's cgroup in that hierarchy
}

func mountHierarchy(k kernel.Kernel, root *os.File, dest string, h cgroupHierarchy, flags uintptr, ro bool, c *Config) error {
	target, err := mkdirInRoot(k, root, dest)
	if err != nil {
		return err
	}
	defer target.Close()
	if c.CgroupNS {
		if ro {
			flags |= unix.MS_RDONLY
		}
		data := ""
		if h.fstype == "cgroup" {
			data = h.subsystems
		}
		if err := k.Mount(h.fstype, fdPath(target), h.fstype, flags, data); err != nil {
			return fmt.Errorf("mount %s %s: %w", h.fstype, h.subsystems, err)
		}
		return nil
	}
	src := filepath.Join(h.mountpoint, h.ownPath)
	tree, err := k.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("clone %s: %w", src, err)
	}
	defer unix.Close(tree)
	var attr unix.MountAttr
	if ro {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	attr.Attr_set |= unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
	if err := k.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("set attributes of %s: %w", src, err)
	}
	return attachTree(k, tree, target)
}

// hostCgroupHierarchies lists the cgroup mounts under /sys/fs/cgroup as this
// thread sees them (before pivot_root: the host's), with the init's path in
// each, read from cgroupFile ("": our own, /proc/self/cgroup).
func hostCgroupHierarchies(k kernel.Kernel, cgroupFile string) ([]cgroupHierarchy, error) {
	if cgroupFile == "" {
		cgroupFile = "/proc/self/cgroup"
	}
	return cgroupHierarchies(k, cgroupFile)
}

// HostCgroup is one cgroup hierarchy mounted under /sys/fs/cgroup and a
// process's cgroup directory in it (a host path under Mountpoint).
type HostCgroup struct {
	Mountpoint string
	Dir        string
}

// HostCgroupsOf lists, for each cgroup hierarchy mounted under
// /sys/fs/cgroup as this process sees them, the cgroup directory of
// process pid: what a container without a cgroup namespace is shown of
// its cgroups (mountCgroup; CRIU's external mounts too).
func HostCgroupsOf(pid int) ([]HostCgroup, error) {
	hier, err := cgroupHierarchies(kernel.Real{}, fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	out := make([]HostCgroup, len(hier))
	for i, h := range hier {
		out[i] = HostCgroup{Mountpoint: h.mountpoint, Dir: filepath.Join(h.mountpoint, h.ownPath)}
	}
	return out, nil
}

// cgroupHierarchies lists the cgroup mounts under /sys/fs/cgroup, with the
// path in each of the process whose /proc/<pid>/cgroup is cgroupFile,
// relative to the mount's root ("/" where it is not below it).
func cgroupHierarchies(k kernel.Kernel, cgroupFile string) ([]cgroupHierarchy, error) {
	mounts, err := k.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		ok := (i.FSType == "cgroup" || i.FSType == "cgroup2") &&
			(i.Mountpoint == "/sys/fs/cgroup" || strings.HasPrefix(i.Mountpoint, "/sys/fs/cgroup/"))
		return !ok, false
	})
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	own, err := procCgroups(k, cgroupFile)
	if err != nil {
		return nil, err
	}
	var out []cgroupHierarchy
	for _, m := range mounts {
		h := cgroupHierarchy{mountpoint: m.Mountpoint, fstype: m.FSType}
		path, found := own[""], m.FSType == "cgroup2"
		if m.FSType == "cgroup" {
			for _, o := range strings.Split(m.VFSOptions, ",") {
				if o == "rw" || o == "ro" || o == "" {
					continue
				}
				if p, ok := own[o]; ok || strings.HasPrefix(o, "name=") {
					h.subsystems = joinNonEmpty(h.subsystems, o)
					if ok {
						path, found = p, true
					}
				}
			}
		}
		h.ownPath = "/"
		if rel, err := filepath.Rel(m.Root, path); found && err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			h.ownPath = filepath.Join("/", rel)
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy is mounted under /sys/fs/cgroup")
	}
	return out, nil
}

// procCgroups maps each controller (or "name=x", or "" for cgroup2) to the
// process's cgroup path, from its /proc/<pid>/cgroup file.
func procCgroups(k kernel.Kernel, cgroupFile string) (map[string]string, error) {
	f, err := k.OpenFile(cgroupFile, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("read cgroups: %w", err)
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			own[""] = parts[2]
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			own[ctrl] = parts[2]
		}
	}
	return own, sc.Err()
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

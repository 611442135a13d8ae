package cgroups

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// Host modes, as recorded in State.Mode.
const (
	ModeV1     = "v1"
	ModeHybrid = "hybrid"
	ModeV2     = "v2"
)

// DriverCgroupfs is State.Driver for managers made by New.
const DriverCgroupfs = "cgroupfs"

const (
	cgroupRoot      = "/sys/fs/cgroup"
	hybridUnified   = "/sys/fs/cgroup/unified"
	mountinfoOfSelf = "/proc/self/mountinfo"
)

// isV1Controller tells the cgroup v1 hierarchies nook places containers
// in: the controllers, plus the named systemd hierarchy (systemd and tools
// reading /proc/<pid>/cgroup expect a container there, as runc does).
func isV1Controller(name string) bool {
	switch name {
	case "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
		"hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc", "name=systemd":
		return true
	}
	return false
}

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	// mountpoint is where the hierarchy is mounted.
	mountpoint string
	// root is the cgroup shown at mountpoint ("/" unless the mount is of a
	// sub-tree, e.g. inside a cgroup namespace).
	root string
}

// layout is the host's cgroup set-up as this mount namespace sees it.
type layout struct {
	mode string
	// v1 maps a controller name ("memory", "name=systemd") to its
	// hierarchy; co-mounted controllers share one.
	v1 map[string]hierarchy
	// unified is the cgroup2 hierarchy (nil on a pure v1 host).
	unified *hierarchy
}

// readLayout reads the current mount namespace's cgroup mounts.
func readLayout() (layout, error) {
	f, err := os.Open(mountinfoOfSelf)
	if err != nil {
		return layout{}, fmt.Errorf("cgroups: %w", err)
	}
	defer f.Close()
	return parseLayout(f)
}

// parseLayout finds the cgroup hierarchies in a mountinfo table and decides
// the host mode: v2 when cgroup2 is mounted at /sys/fs/cgroup, hybrid when v1
// controllers are mounted and cgroup2 is at /sys/fs/cgroup/unified, v1 when
// only v1 controllers are mounted.
func parseLayout(r io.Reader) (layout, error) {
	mounts, err := mountinfo.GetMountsFromReader(r, nil)
	if err != nil {
		return layout{}, fmt.Errorf("cgroups: reading %s: %w", mountinfoOfSelf, err)
	}
	l := layout{v1: map[string]hierarchy{}}
	for _, m := range mounts {
		// A mount hides whatever was mounted at or below its mount point
		// before it (mountinfo lists mounts in the order they were made).
		l.forgetUnder(m.Mountpoint)
		switch m.FSType {
		case "cgroup2":
			if m.Mountpoint == cgroupRoot || m.Mountpoint == hybridUnified {
				l.unified = &hierarchy{mountpoint: m.Mountpoint, root: m.Root}
			}
		case "cgroup":
			h := hierarchy{mountpoint: m.Mountpoint, root: m.Root}
			for _, opt := range strings.Split(m.VFSOptions, ",") {
				if !isV1Controller(opt) {
					continue
				}
				// Prefer the hierarchy mounted under /sys/fs/cgroup over a
				// second view of it elsewhere (a bind mount made for some
				// container's rootfs that propagated here, say).
				if old, ok := l.v1[opt]; ok && underCgroupRoot(old.mountpoint) && !underCgroupRoot(h.mountpoint) {
					continue
				}
				l.v1[opt] = h
			}
		}
	}
	switch {
	case l.unified != nil && l.unified.mountpoint == cgroupRoot:
		l.mode = ModeV2
		l.v1 = nil
	case len(l.v1) > 0 && l.unified != nil:
		l.mode = ModeHybrid
	case len(l.v1) > 0:
		l.mode = ModeV1
	default:
		return layout{}, errors.New("cgroups: no cgroup filesystem is mounted under /sys/fs/cgroup")
	}
	return l, nil
}

// forgetUnder drops the hierarchies mounted at or below dir.
func (l *layout) forgetUnder(dir string) {
	if l.unified != nil && isUnder(l.unified.mountpoint, dir) {
		l.unified = nil
	}
	for c, h := range l.v1 {
		if isUnder(h.mountpoint, dir) {
			delete(l.v1, c)
		}
	}
}

func underCgroupRoot(p string) bool { return isUnder(p, cgroupRoot) }

// isUnder reports whether p is dir or inside it (both clean and absolute).
func isUnder(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// joinUnder joins rel (absolute or relative, already free of "..") to base.
func joinUnder(base, rel string) string {
	return filepath.Join(base, filepath.Clean("/"+rel))
}

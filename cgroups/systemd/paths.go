package systemd

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/moby/sys/mountinfo"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupMount is one cgroup hierarchy mounted under /sys/fs/cgroup.
type cgroupMount struct {
	dir string
	// controllers are the v1 controllers of the hierarchy, and
	// "name=systemd" for systemd's named one; empty for cgroup2.
	controllers []string
	unified     bool
}

// readCgroupMounts lists the hierarchies mounted at /sys/fs/cgroup or
// directly below it, the only places systemd mounts them.
func readCgroupMounts() ([]cgroupMount, error) {
	infos, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		if i.FSType != "cgroup" && i.FSType != "cgroup2" {
			return true, false
		}
		return i.Mountpoint != cgroupRoot && path.Dir(i.Mountpoint) != cgroupRoot, false
	})
	if err != nil {
		return nil, fmt.Errorf("reading cgroup mounts: %w", err)
	}
	var mounts []cgroupMount
	for _, i := range infos {
		m := cgroupMount{dir: i.Mountpoint, unified: i.FSType == "cgroup2"}
		if !m.unified {
			for _, opt := range strings.Split(i.VFSOptions, ",") {
				if isV1Controller(opt) || opt == "name=systemd" {
					m.controllers = append(m.controllers, opt)
				}
			}
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

func isV1Controller(name string) bool {
	switch name {
	case "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls",
		"net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc":
		return true
	}
	return false
}

// hostMode names the cgroup layout: "v2" when /sys/fs/cgroup itself is
// cgroup2, "hybrid" when v1 controllers sit beside a cgroup2 hierarchy
// (/sys/fs/cgroup/unified), "v1" otherwise.
func hostMode(mounts []cgroupMount) (string, error) {
	v1, v2 := false, false
	for _, m := range mounts {
		if m.unified && m.dir == cgroupRoot {
			return "v2", nil
		}
		if m.unified {
			v2 = true
		} else {
			v1 = true
		}
	}
	switch {
	case v1 && v2:
		return "hybrid", nil
	case v1:
		return "v1", nil
	}
	return "", errors.New("no cgroup hierarchy is mounted under " + cgroupRoot)
}

// unitPaths maps each controller ("" for the cgroup2 hierarchy) to the
// directory of a unit whose cgroup is rel (relative to the hierarchies'
// roots): the Paths of cgroups.State, which the cgroupfs manager works on.
// name=systemd is included as the cgroupfs driver records it: systemd
// puts the unit there itself, so the cgroupfs manager finds it made.
func unitPaths(mounts []cgroupMount, rel string) map[string]string {
	paths := make(map[string]string)
	for _, m := range mounts {
		dir := path.Join(m.dir, rel)
		if m.unified {
			paths[""] = dir
			continue
		}
		for _, c := range m.controllers {
			// The first mount of a controller wins, as for the kernel
			// a controller belongs to a single hierarchy.
			if _, seen := paths[c]; !seen {
				paths[c] = dir
			}
		}
	}
	return paths
}

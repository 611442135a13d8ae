package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The container's cgroup path, from linux.cgroupsPath:
//
//   - absolute ("/a/b"): the path under the mount point of every hierarchy;
//   - relative ("a/b"): the path under the cgroup nook itself runs in, per v1
//     hierarchy, and under the *parent* of nook's own cgroup in the cgroup2
//     hierarchy. This is what runc does: runtime-tools'
//     linux_cgroups_relative_* tests only demand that /proc/<pid>/cgroup of
//     the container contains the relative path, and nesting under the
//     caller's cgroup lets a delegated sub-tree (a caller in
//     /process_api/x, a systemd user slice) own its containers. On cgroup2
//     the parent is used because nook's own cgroup holds processes, so the
//     "no internal processes" rule forbids enabling controllers for its
//     children;
//   - empty: "/nook/<container id>", absolute.
//
// A ".." that climbs above the start of the path (the hierarchy root for an
// absolute path, nook's cgroup for a relative one) is refused, and so is a
// path naming that start itself: Destroy would remove it.

// innerPath returns the cleaned cgroup path and whether it is absolute.
func innerPath(cgroupsPath, name string) (string, bool, error) {
	if cgroupsPath == "" {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			return "", false, fmt.Errorf("cgroups: container id %q cannot name a cgroup", name)
		}
		return "/nook/" + name, true, nil
	}
	if strings.ContainsRune(cgroupsPath, 0) {
		return "", false, fmt.Errorf("linux.cgroupsPath %q: contains a NUL byte", cgroupsPath)
	}
	abs := strings.HasPrefix(cgroupsPath, "/")
	var parts []string
	for _, c := range strings.Split(cgroupsPath, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(parts) == 0 {
				return "", false, fmt.Errorf("linux.cgroupsPath %q: \"..\" leaves the cgroup hierarchy", cgroupsPath)
			}
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "", false, fmt.Errorf("linux.cgroupsPath %q: names the cgroup nook runs under, not a cgroup of the container's own", cgroupsPath)
	}
	p := strings.Join(parts, "/")
	if abs {
		p = "/" + p
	}
	return p, abs, nil
}

// ownCgroups reads /proc/self/cgroup: v1 controller name ("memory",
// "name=systemd") → path, and "" → the cgroup2 path.
func ownCgroups() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "4:memory:/a/b", "2:cpu,cpuacct:/", "0::/a"
		_, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if ctrls == "" {
			own[""] = path
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			own[c] = path
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroups: reading /proc/self/cgroup: %w", err)
	}
	return own, nil
}

// containerPaths computes State.Paths for inner (see innerPath) on layout l.
// own is called only for a relative path.
func containerPaths(l layout, inner string, abs bool, own func() (map[string]string, error)) (map[string]string, error) {
	var mine map[string]string
	if !abs {
		var err error
		if mine, err = own(); err != nil {
			return nil, err
		}
	}
	base := func(ctrl string, h hierarchy, parent bool) (string, error) {
		if abs {
			return h.mountpoint, nil
		}
		p, ok := mine[ctrl]
		if !ok {
			return "", fmt.Errorf("cgroups: nook's own %s cgroup is missing from /proc/self/cgroup", hierName(ctrl))
		}
		if parent {
			p = filepath.Dir(p)
		}
		rel, err := filepath.Rel(h.root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return "", fmt.Errorf("cgroups: nook's own %s cgroup %q is outside the mounted hierarchy %s (root %q)", hierName(ctrl), p, h.mountpoint, h.root)
		}
		return filepath.Join(h.mountpoint, rel), nil
	}
	paths := map[string]string{}
	for ctrl, h := range l.v1 {
		b, err := base(ctrl, h, false)
		if err != nil {
			return nil, err
		}
		paths[ctrl] = joinUnder(b, inner)
	}
	if l.unified != nil {
		b, err := base("", *l.unified, true)
		if err != nil {
			return nil, err
		}
		paths[""] = joinUnder(b, inner)
	}
	return paths, nil
}

func hierName(ctrl string) string {
	if ctrl == "" {
		return "cgroup2"
	}
	return ctrl
}

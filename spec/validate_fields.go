package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxIDMapLines is the kernel's limit on lines in uid_map/gid_map (since 4.15).
const maxIDMapLines = 340

// checkIDMappings refuses mappings the kernel would refuse when the parent
// writes uid_map, so the error names the field instead of "invalid argument".
func checkIDMappings(field string, ms []specs.LinuxIDMapping) error {
	if len(ms) > maxIDMapLines {
		return fmt.Errorf("%s: %d ranges; the kernel accepts at most %d", field, len(ms), maxIDMapLines)
	}
	type span struct{ start, end uint64 }
	inside := make([]span, 0, len(ms))
	outside := make([]span, 0, len(ms))
	for i, m := range ms {
		if m.Size == 0 {
			return fmt.Errorf("%s[%d].size: must be at least 1", field, i)
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32-1 || uint64(m.HostID)+uint64(m.Size) > 1<<32-1 {
			return fmt.Errorf("%s[%d]: range %d+%d or %d+%d exceeds the 32-bit id space",
				field, i, m.ContainerID, m.Size, m.HostID, m.Size)
		}
		inside = append(inside, span{uint64(m.ContainerID), uint64(m.ContainerID) + uint64(m.Size)})
		outside = append(outside, span{uint64(m.HostID), uint64(m.HostID) + uint64(m.Size)})
	}
	for _, side := range []struct {
		name  string
		spans []span
	}{{"containerID", inside}, {"hostID", outside}} {
		s := side.spans
		sort.Slice(s, func(a, b int) bool { return s[a].start < s[b].start })
		for i := 1; i < len(s); i++ {
			if s[i].start < s[i-1].end {
				return fmt.Errorf("%s: %s ranges overlap (%d-%d and %d-%d)",
					field, side.name, s[i-1].start, s[i-1].end-1, s[i].start, s[i].end-1)
			}
		}
	}
	return nil
}

// checkTimeOffsets: offsets are written into a time namespace nook creates;
// joined ones already have theirs, and only two clocks can be offset.
func checkTimeOffsets(l *specs.Linux) error {
	if len(l.TimeOffsets) == 0 {
		return nil
	}
	created := false
	for _, ns := range l.Namespaces {
		if ns.Type == specs.TimeNamespace && ns.Path == "" {
			created = true
		}
	}
	if !created {
		return errors.New("linux.timeOffsets: requires a new time namespace in linux.namespaces (offsets cannot be changed in a joined or the host's one)")
	}
	for clock, off := range l.TimeOffsets {
		if clock != "monotonic" && clock != "boottime" {
			return fmt.Errorf("linux.timeOffsets: unknown clock %q (want monotonic or boottime)", clock)
		}
		if off.Nanosecs >= 1_000_000_000 {
			return fmt.Errorf("linux.timeOffsets.%s.nanosecs: %d is not below one second", clock, off.Nanosecs)
		}
	}
	return nil
}

// checkDevices validates linux.devices before anything is made.
func checkDevices(devs []specs.LinuxDevice) error {
	seen := make(map[string]int, len(devs))
	for i, d := range devs {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("%s.path %q: must be an absolute path", field, d.Path)
		}
		clean := filepath.Clean(d.Path)
		if clean == "/" || clean == "/dev" {
			return fmt.Errorf("%s.path %q: not a device path", field, d.Path)
		}
		if j, dup := seen[clean]; dup {
			return fmt.Errorf("%s.path %q: duplicate of linux.devices[%d]", field, d.Path, j)
		}
		seen[clean] = i
		switch d.Type {
		case "c", "b", "u":
			if d.Major < 0 || d.Minor < 0 {
				return fmt.Errorf("%s: type %q needs a non-negative major and minor", field, d.Type)
			}
		case "p":
		default:
			return fmt.Errorf("%s.type %q: must be one of c, b, u, p", field, d.Type)
		}
	}
	return nil
}

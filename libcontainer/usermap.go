package libcontainer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// How the parent maps the init's new user namespace.
//
// As root it writes /proc/<pid>/uid_map and gid_map itself. An unprivileged
// nook (rootless) may write only one line mapping its own effective id, and
// for groups only after "deny" is written to setgroups: otherwise the
// container could drop a group that the host uses to deny it access. Any
// other mapping (ranges from /etc/subuid and /etc/subgid) is written by the
// setuid helpers newuidmap and newgidmap (the uidmap package), which check
// those ranges. The init is dumpable while it waits to be mapped, so that
// its /proc files are the caller's (nsenter.c).

// idKind is one of the two mappings and what an unprivileged nook needs to
// write it.
type idKind struct {
	field   string // the config field, for errors
	file    string // under /proc/<pid>/
	helper  string // the setuid helper for anything but the own id
	subids  string // the ranges the helper checks
	own     uint32 // nook's effective id
	isGroup bool
}

func uidKind() idKind {
	return idKind{field: "linux.uidMappings", file: "uid_map", helper: "newuidmap", subids: "/etc/subuid", own: uint32(os.Geteuid())}
}

func gidKind() idKind {
	return idKind{field: "linux.gidMappings", file: "gid_map", helper: "newgidmap", subids: "/etc/subgid", own: uint32(os.Getegid()), isGroup: true}
}

// writeIDMaps writes the user namespace mappings of the process pid.
func writeIDMaps(pid int, l *specs.Linux) error {
	rootless := os.Geteuid() != 0
	if err := uidKind().write(pid, l.UIDMappings, rootless); err != nil {
		return err
	}
	return gidKind().write(pid, l.GIDMappings, rootless)
}

func (k idKind) write(pid int, m []specs.LinuxIDMapping, rootless bool) error {
	if len(m) == 0 {
		return nil
	}
	if rootless && !ownIDOnly(m, k.own) {
		return k.runHelper(pid, m)
	}
	base := "/proc/" + strconv.Itoa(pid) + "/"
	if rootless && k.isGroup {
		if err := os.WriteFile(base+"setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("%s: deny setgroups before mapping gid %d: %w", k.field, k.own, err)
		}
	}
	if err := os.WriteFile(base+k.file, formatIDMap(m), 0); err != nil {
		return fmt.Errorf("write %s: %w", k.field, err)
	}
	return nil
}

// ownIDOnly: m maps nook's own id, and nothing else, which an unprivileged
// process may write itself.
func ownIDOnly(m []specs.LinuxIDMapping, own uint32) bool {
	return len(m) == 1 && m[0].HostID == own && m[0].Size == 1
}

func formatIDMap(m []specs.LinuxIDMapping) []byte {
	var b bytes.Buffer
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	return b.Bytes()
}

// runHelper has newuidmap/newgidmap write m for pid.
func (k idKind) runHelper(pid int, m []specs.LinuxIDMapping) error {
	path, err := exec.LookPath(k.helper)
	if err != nil {
		return fmt.Errorf("%s maps more than %s %d (nook's own): an unprivileged nook needs %s (package uidmap) for that, and it is not in PATH",
			k.field, k.idName(), k.own, k.helper)
	}
	args := []string{strconv.Itoa(pid)}
	for _, e := range m {
		args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10),
			strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		if msg == "" {
			msg = err.Error()
		}
		err = fmt.Errorf("%s: %s refused it: %s", k.field, k.helper, msg)
		if hint := k.rangeHint(m); hint != "" {
			err = fmt.Errorf("%w (%s)", err, hint)
		}
		return err
	}
	return nil
}

func (k idKind) idName() string {
	if k.isGroup {
		return "gid"
	}
	return "uid"
}

// rangeHint names the first entry of m that is neither nook's own id nor
// inside the caller's ranges in the subordinate id file. The helper may
// take ranges from elsewhere (an NSS subid module): this only explains a
// refusal, it never decides.
func (k idKind) rangeHint(m []specs.LinuxIDMapping) string {
	return k.rangeHintFor(m, k.owner())
}

// rangeHintFor is rangeHint for a caller the file may name as any of who.
func (k idKind) rangeHintFor(m []specs.LinuxIDMapping, who []string) string {
	ranges, err := subIDRanges(k.subids, who...)
	if err != nil {
		return fmt.Sprintf("cannot read %s: %v", k.subids, err)
	}
	for i, e := range m {
		if e.Size == 1 && e.HostID == k.own {
			continue
		}
		if !covered(ranges, e) {
			have := "none"
			if len(ranges) > 0 {
				var parts []string
				for _, r := range ranges {
					parts = append(parts, fmt.Sprintf("%d-%d", r.start, r.start+r.count-1))
				}
				have = strings.Join(parts, ", ")
			}
			return fmt.Sprintf("%s[%d] maps host %ss %d-%d, outside %s's ranges in %s: %s",
				k.field, i, k.idName(), e.HostID, uint64(e.HostID)+uint64(e.Size)-1, who[0], k.subids, have)
		}
	}
	return ""
}

// owner is how the subordinate id files may name the caller: by user name
// (for gids too: the files are keyed by user) and by uid.
func (k idKind) owner() []string {
	name := ownerName()
	uid := strconv.Itoa(os.Geteuid())
	if name == uid {
		return []string{uid}
	}
	return []string{name, uid}
}

type idRange struct{ start, count uint64 }

// subIDRanges reads the ranges of any of names from an /etc/subuid-style
// file (name:start:count per line).
func subIDRanges(path string, names ...string) ([]idRange, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []idRange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 || !slices.Contains(names, f[0]) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && count > 0 {
			out = append(out, idRange{start, count})
		}
	}
	return out, sc.Err()
}

// covered: e's host ids lie inside one of ranges.
func covered(ranges []idRange, e specs.LinuxIDMapping) bool {
	lo, hi := uint64(e.HostID), uint64(e.HostID)+uint64(e.Size)
	for _, r := range ranges {
		if lo >= r.start && hi <= r.start+r.count {
			return true
		}
	}
	return false
}

package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Rootless cgroups (Config.Rootless, runc's --rootless): an unprivileged
// nook can use only the cgroups its user may write, in practice a cgroup2
// subtree delegated to it (systemd's user@UID.service, or a directory an
// administrator chowned to the user with its cgroup.procs,
// cgroup.subtree_control and cgroup.threads). Every hierarchy nook may not
// write is left out: a config without limits runs without it, as runc's
// rootless cgroup manager ignores the permission errors, and a limit that
// needs one fails New with an error naming the field, the cgroup and why.
//
// (An unprivileged caller's default cgroup path is relative to its own
// cgroup, under the parent of it on cgroup2, see paths.go: libcontainer
// passes the container id as a relative Path, so that a caller inside a
// delegated subtree gets its containers there.)

// rootlessHint says what a rootless user needs for limits.
const rootlessHint = "resource limits of a rootless container need a cgroup2 subtree delegated to its user (see README, Rootless containers)"

// accessFunc checks access to a path with the caller's effective ids
// (accessOK; tests pass their own).
type accessFunc func(path string, mode uint32) bool

// keepAccessible drops from m every hierarchy that the caller cannot create
// its cgroup in and move a process into; ownDir2 is the caller's own
// cgroup2 directory ("" if unknown). ops are the writes the config's
// limits need: one that lands in a dropped hierarchy fails.
func (m *fsManager) keepAccessible(ops []op, ownDir2 string, access accessFunc) error {
	denied := map[string]string{} // directory -> why
	for ctrl, dir := range m.st.Paths {
		if _, done := denied[dir]; done {
			continue
		}
		if why := inaccessible(dir, ctrl == "" || m.st.Mode == ModeV2, ownDir2, access); why != "" {
			denied[dir] = why
		}
	}
	for _, o := range ops {
		if why, ok := denied[o.dir]; ok {
			return fmt.Errorf("%s: nook (uid %d) cannot use the cgroup %s: %s; %s", o.field, os.Geteuid(), o.dir, why, rootlessHint)
		}
	}
	for ctrl, dir := range m.st.Paths {
		if _, ok := denied[dir]; ok {
			delete(m.st.Paths, ctrl)
		}
	}
	return nil
}

// inaccessible says why the caller cannot make dir and place a process in
// it ("" if it can). On cgroup2 (unified) moving a process also needs
// write access to cgroup.procs of the closest common ancestor of its
// current cgroup (ownDir2) and dir.
func inaccessible(dir string, unified bool, ownDir2 string, access accessFunc) string {
	near := nearestExisting(dir)
	if near == dir {
		if !access(filepath.Join(dir, "cgroup.procs"), unix.W_OK) {
			return "its cgroup.procs is not writable"
		}
	} else if !access(near, unix.W_OK|unix.X_OK) {
		return fmt.Sprintf("%s is not writable", near)
	}
	if !unified {
		return ""
	}
	if ownDir2 == "" {
		return "nook's own cgroup2 cgroup is unknown"
	}
	anc := commonAncestor(ownDir2, dir)
	if !access(filepath.Join(anc, "cgroup.procs"), unix.W_OK) {
		return fmt.Sprintf("moving a process there needs %s, which is not writable (no delegated subtree)", filepath.Join(anc, "cgroup.procs"))
	}
	return ""
}

// accessOK checks access with the effective ids, as the kernel will.
func accessOK(path string, mode uint32) bool {
	return unix.Faccessat(unix.AT_FDCWD, path, mode, unix.AT_EACCESS) == nil
}

// commonAncestor of two clean absolute paths.
func commonAncestor(a, b string) string {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	if n <= 1 {
		return "/"
	}
	return strings.Join(as[:n], "/")
}

// ownUnifiedDir is the caller's own cgroup2 directory under the layout's
// cgroup2 mount ("" when there is none or it is not visible there).
func ownUnifiedDir(l layout, own func() (map[string]string, error)) string {
	if l.unified == nil {
		return ""
	}
	mine, err := own()
	if err != nil {
		return ""
	}
	p, ok := mine[""]
	if !ok {
		return ""
	}
	rel, err := filepath.Rel(l.unified.root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return ""
	}
	return filepath.Join(l.unified.mountpoint, rel)
}

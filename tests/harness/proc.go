package harness

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ProcID names a process for good: a pid plus its start time.
type ProcID struct {
	Pid   int
	Start uint64
}

// Stat is the part of /proc/<pid>/stat the harness needs.
type Stat struct {
	State byte
	Ppid  int
	Start uint64
	Comm  string
}

// ReadStat parses /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Stat{}, fmt.Errorf("bad stat %q", b)
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 {
		return Stat{}, fmt.Errorf("bad stat %q", b)
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return Stat{State: f[0][0], Ppid: ppid, Start: start, Comm: string(b[open+1 : end])}, nil
}

// Alive: the process exists, is not a zombie and is the one recorded.
func (p ProcID) Alive() bool {
	st, err := ReadStat(p.Pid)
	return err == nil && st.Start == p.Start && st.State != 'Z' && st.State != 'X'
}

// WaitDead waits up to d for p to be gone (or a zombie).
func (p ProcID) WaitDead(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.Alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// AllPids lists /proc.
func AllPids() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range entries {
		if pid, err := strconv.Atoi(d.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ReapOrphans reaps our zombie children that no exec.Cmd waits for: as a
// subreaper this process inherits container inits (and whatever a killed
// nook orphans); reaping them is the caller's job, as it is a shim's.
func ReapOrphans() {
	self := os.Getpid()
	var zombies []int
	for _, pid := range AllPids() {
		if st, err := ReadStat(pid); err == nil && st.State == 'Z' && st.Ppid == self {
			zombies = append(zombies, pid)
		}
	}
	// A child some exec.Cmd (in the tests or a library: `go build`, `nook
	// spec`) will wait for has a pidfd held by os.Process from the moment
	// it is cloned until it is reaped. Read them after the zombie scan, so
	// none can be missed.
	waited := HeldPidfds()
	for _, pid := range zombies {
		if !waited[pid] {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// HeldPidfds returns the pids this process holds a pidfd for.
func HeldPidfds() map[int]bool {
	held := map[int]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return held
	}
	for _, fd := range fds {
		if link, err := os.Readlink("/proc/self/fd/" + fd.Name()); err != nil || link != "anon_inode:[pidfd]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + fd.Name())
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "Pid:"); ok {
				if pid, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					held[pid] = true
				}
			}
		}
	}
	return held
}

// procRefs lists how a process refers to paths for which match is true: its
// command line, exe, root, cwd or open fds.
func procRefs(pid int, match func(string) bool) []string {
	base := "/proc/" + strconv.Itoa(pid)
	var refs []string
	if b, err := os.ReadFile(base + "/cmdline"); err == nil {
		if c := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " "); match(c) {
			refs = append(refs, "cmdline "+c)
		}
	}
	for _, l := range []string{"exe", "root", "cwd"} {
		if t, err := os.Readlink(base + "/" + l); err == nil && match(t) {
			refs = append(refs, l+" -> "+t)
		}
	}
	if fds, err := os.ReadDir(base + "/fd"); err == nil {
		for _, fd := range fds {
			if t, err := os.Readlink(base + "/fd/" + fd.Name()); err == nil && match(t) {
				refs = append(refs, "fd "+fd.Name()+" -> "+t)
			}
		}
	}
	return refs
}

// inCgroupOf says whether pid sits in the cgroup of one of ids (any
// hierarchy): nook's default cgroup of a container is /nook/<id>.
func inCgroupOf(pid int, ids map[string]bool) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		i := strings.Index(l, "/nook/")
		if i < 0 {
			continue
		}
		id, _, _ := strings.Cut(l[i+len("/nook/"):], "/")
		if ids[id] {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// ProcessesOf lists the processes (other than this one) that refer to a
// path under dir (command line, exe, root, cwd or an open fd) or sit in the
// cgroup of one of ids, and the zombies whose parent refers to dir (a
// process that does not reap its children). Zombies of this process are
// not listed: ReapOrphans reaps them.
func ProcessesOf(dir string, ids []string) map[int]string {
	idSet := map[string]bool{}
	for _, id := range ids {
		idSet[id] = true
	}
	match := Under(dir)
	found := map[int]string{}
	self := os.Getpid()
	for _, pid := range AllPids() {
		if pid == self {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil || st.State == 'Z' && st.Ppid == self {
			continue
		}
		var refs []string
		if st.State == 'Z' {
			// A zombie's files are gone; what matters is its parent.
			if prefs := procRefs(st.Ppid, match); len(prefs) > 0 {
				parent, _ := ReadStat(st.Ppid)
				refs = append(refs, fmt.Sprintf("zombie not reaped by its parent %d (%s): %s",
					st.Ppid, parent.Comm, strings.Join(prefs, "; ")))
			}
		} else {
			refs = procRefs(pid, match)
		}
		if cg := inCgroupOf(pid, idSet); cg != "" {
			refs = append(refs, "cgroup "+cg)
		}
		if len(refs) > 0 {
			found[pid] = fmt.Sprintf("pid %d (%s, state %c, parent %d): %s", pid, st.Comm, st.State, st.Ppid, strings.Join(refs, "; "))
		}
	}
	return found
}

// MountsUnder lists the mount points of this mount namespace whose
// mountinfo line names dir or a path below it: as the mount point, the root
// of the mount, or in its source or options (an overlay's layers).
func MountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"read mountinfo: " + err.Error()}
	}
	match := Under(dir)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && match(l) {
			out = append(out, f[4])
		}
	}
	return out
}

// Under matches strings that name dir or a path below it.
func Under(dir string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, dir+"/") || strings.HasSuffix(s, dir) }
}

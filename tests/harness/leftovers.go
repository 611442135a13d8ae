package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// CgroupDirs lists the cgroup directories of id that exist, in every
// hierarchy mounted under /sys/fs/cgroup (v1 controllers, the hybrid
// unified hierarchy, or a pure cgroup2 mount).
func CgroupDirs(id string) []string {
	var out []string
	for _, pattern := range []string{"/sys/fs/cgroup/*/nook/" + id, "/sys/fs/cgroup/nook/" + id} {
		m, _ := filepath.Glob(pattern)
		out = append(out, m...)
	}
	return out
}

// StateDirs lists what is under a --root besides the seccomp cache.
func StateDirs(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range entries {
		if d.Name() != ".seccomp-cache" {
			out = append(out, filepath.Join(root, d.Name()))
		}
	}
	return out
}

// Leftovers lists what the env's containers left behind: state dirs,
// registered inits still alive, processes referring to the env's dir or in
// its ids' cgroups, mounts under its dir, cgroup dirs of its ids. Processes
// get a short grace period: a killed init takes a moment to be gone.
func (e *Env) Leftovers() []string {
	var out []string
	for _, d := range StateDirs(e.Root) {
		out = append(out, "state dir "+d)
	}
	e.mu.Lock()
	inits := append([]ProcID(nil), e.inits...)
	e.mu.Unlock()
	for _, p := range inits {
		if !p.WaitDead(2 * time.Second) {
			out = append(out, fmt.Sprintf("container init pid %d still running", p.Pid))
		}
	}
	ids := e.IDs()
	var procs map[int]string
	for i := 0; i < 20; i++ {
		ReapOrphans()
		if procs = ProcessesOf(e.Dir, ids); len(procs) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, d := range procs {
		out = append(out, "process "+d)
	}
	for _, m := range MountsUnder(e.Dir) {
		out = append(out, "mount "+m)
	}
	for _, id := range ids {
		for _, d := range CgroupDirs(id) {
			out = append(out, "cgroup "+d)
		}
	}
	sort.Strings(out)
	return out
}

// checkLeftovers fails the test for anything left behind, then removes it
// so one failure does not cascade into the next test.
func (e *Env) checkLeftovers() {
	left := e.Leftovers()
	for _, l := range left {
		e.T.Errorf("left behind: %s", l)
	}
	if len(left) > 0 {
		e.cleanUp()
	}
	ReapOrphans()
}

// cleanUp removes what Leftovers found, as best it can.
func (e *Env) cleanUp() {
	for _, d := range StateDirs(e.Root) {
		e.NookOpts(Opts{Timeout: 10 * time.Second}, "delete", "--force", filepath.Base(d))
		os.RemoveAll(d)
	}
	for pid := range ProcessesOf(e.Dir, e.IDs()) {
		unix.Kill(pid, unix.SIGKILL)
	}
	e.mu.Lock()
	for _, p := range e.inits {
		if p.Alive() {
			unix.Kill(p.Pid, unix.SIGKILL)
		}
	}
	e.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	ReapOrphans()
	mounts := MountsUnder(e.Dir)
	// Deepest first.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		unix.Unmount(m, unix.MNT_DETACH)
	}
	for _, id := range e.IDs() {
		for _, d := range CgroupDirs(id) {
			removeCgroup(d)
		}
	}
}

// removeCgroup removes a cgroup directory and its children (cgroupfs
// directories are removed with rmdir, never by deleting files).
func removeCgroup(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, d := range entries {
		if d.IsDir() {
			removeCgroup(filepath.Join(dir, d.Name()))
		}
	}
	unix.Rmdir(dir)
}

// leftovers is the final sweep of a suite: no process or mount referring
// to the suite's directory (the nook binary, the master rootfs) or to any
// env's, no process of the nook binary left as a child of this one, and no
// zombie child.
func (s *Suite) leftovers() []string {
	s.mu.Lock()
	dirs := append([]string{s.Dir}, s.envDirs...)
	s.mu.Unlock()
	var out []string
	ReapOrphans()
	procs := map[int]string{} // a process may refer to several dirs
	for _, d := range dirs {
		for pid, p := range ProcessesOf(d, nil) {
			procs[pid] = p
		}
		for _, m := range MountsUnder(d) {
			out = append(out, "mount "+m)
		}
	}
	for _, p := range procs {
		out = append(out, "process "+p)
	}
	self := os.Getpid()
	for _, pid := range AllPids() {
		if st, err := ReadStat(pid); err == nil && st.Ppid == self && strings.HasPrefix(st.Comm, "nook") {
			out = append(out, fmt.Sprintf("process pid %d (%s), child of the test process", pid, st.Comm))
		}
	}
	return out
}

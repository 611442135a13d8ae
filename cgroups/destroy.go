package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const time1ms = time.Millisecond

func sleep(d time.Duration) { time.Sleep(d) }

// Destroy removes the container's cgroup in every hierarchy, with any
// sub-cgroups the container made under it. It must hold no process; one
// that is already gone is fine.
func (m *fsManager) Destroy() error {
	var errs []error
	for _, d := range m.allDirs() {
		if err := removeTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroups: destroy: %w", err)
	}
	return nil
}

// removeTree removes dir and the cgroups below it, innermost first (a
// cgroup with children cannot be removed). The usual cgroup has none: one
// rmdir, and the directory is read only when that is refused.
func removeTree(dir string) error {
	if err := unix.Rmdir(dir); err == nil || err == unix.ENOENT {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return rmdirRetry(dir)
}

// KillAll sends sig to every process in m's cgroup and its sub-cgroups,
// for `kill --all` and `delete --force`. SIGKILL on a cgroup2 directory
// uses cgroup.kill (one write, no race with forks); otherwise the cgroup
// is frozen so that no process can fork while the list is read and
// signalled, then thawed. A cgroup that cannot be frozen is signalled
// anyway; a paused one is signalled and stays paused.
func KillAll(m Manager, sig syscall.Signal) error {
	if fm, ok := m.(*fsManager); ok && sig == unix.SIGKILL {
		// In hybrid mode too: every process of the container is also in
		// its cgroup2 directory.
		if u := fm.unified(); u != "" {
			err := writeFile(u, "cgroup.kill", "1")
			if err == nil || errors.Is(err, os.ErrNotExist) && !exists(u) {
				return nil
			}
			// An old kernel without cgroup.kill: signal one by one.
		}
	}
	// Freeze only a running cgroup, and thaw only what was frozen here: a
	// paused container stays paused (its signals wait for resume).
	frozen := false
	if was, ferr := m.Frozen(); ferr == nil && !was {
		frozen = m.Freeze() == nil
	}
	pids, err := m.Pids()
	if err == nil {
		for _, pid := range pids {
			if kerr := unix.Kill(pid, sig); kerr != nil && kerr != unix.ESRCH && err == nil {
				err = fmt.Errorf("cgroups: kill %d: %w", pid, kerr)
			}
		}
	}
	if frozen {
		if terr := m.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

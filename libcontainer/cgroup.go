package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/cgroups/systemd"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/userns"
)

// newCgroupManager builds the manager create uses: cgroupfs, or systemd with
// --systemd-cgroup. Nothing is written yet.
func newCgroupManager(o CreateOptions) (cgroups.Manager, error) {
	cfg := cgroups.Config{Name: o.ID, Systemd: o.SystemdCgroup, Rootless: o.RootlessCgroups}
	if l := o.Spec.Linux; l != nil {
		cfg.Path = l.CgroupsPath
		cfg.Resources = l.Resources
	}
	if cfg.Path == "" && !o.SystemdCgroup && (os.Geteuid() != 0 || userns.RunningInUserNS()) {
		// Without privileges on the host the default /nook/<id> is never
		// writable: as runc, a path relative to nook's own cgroup, which
		// lands in a subtree delegated to the caller if there is one.
		cfg.Path = o.ID
	}
	if o.SystemdCgroup {
		return systemd.New(cfg, cgroups.Load)
	}
	return cgroups.New(cfg)
}

// checkCgroupUsable refuses, as runc 1.5 does, a cgroup create cannot use:
// one that already holds processes (another container's, or anyone's: the
// container's limits and its kill would be theirs too), or one that is
// frozen (the init would stop there and create wait for it for ever). A
// cgroup that does not exist yet is usable; one made frozen by a frozen
// parent is caught once it is made (placeInCgroup).
func checkCgroupUsable(m cgroups.Manager) error {
	if recordedCgroup(m) == nil {
		return nil // no cgroup at all (rootless)
	}
	pids, err := m.Pids()
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENODEV) && !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("list the processes of the container's cgroup: %w", err)
	}
	if len(pids) > 0 {
		return fmt.Errorf("container's cgroup is not empty: %d process(es) found", len(pids))
	}
	return checkNotFrozen(m)
}

// checkNotFrozen: an error reading the freezer is a cgroup not made yet.
func checkNotFrozen(m cgroups.Manager) error {
	if frozen, err := m.Frozen(); err == nil && frozen {
		return errors.New("container's cgroup unexpectedly frozen")
	}
	return nil
}

// oomKilled names the cause of a failed create when the kernel's OOM
// killer struck in the container's cgroup (the init killed by its memory
// limit before it could report): the error the parent saw (a closed
// socket) says nothing of it. The original error goes to debug.
func oomKilled(rec *state.Record, err error, debug func(format string, args ...any)) error {
	if rec.Cgroup == nil {
		return err
	}
	if n, ok := cgroups.OOMKillCount(*rec.Cgroup); !ok || n == 0 {
		return err
	}
	if debug != nil {
		debug("create failed after an OOM kill in the container's cgroup: %v", err)
	}
	return errors.New("container init was OOM-killed (memory limit too low?)")
}

// recordedCgroup is what state.json records of m: nil when m has no
// cgroup at all (rootless, with no hierarchy the user may write), which
// later commands take as a container without one.
func recordedCgroup(m cgroups.Manager) *cgroups.State {
	st := m.State()
	if len(st.Paths) == 0 && st.Unit == "" {
		return nil
	}
	return &st
}

// CgroupManager rebuilds the manager of a created container, or returns nil
// when it has none (a record from before its cgroup was recorded).
func CgroupManager(r *state.Record) (cgroups.Manager, error) {
	if r.Cgroup == nil {
		return nil, nil
	}
	if r.Cgroup.Driver == "systemd" {
		return systemd.Load(*r.Cgroup, cgroups.Load)
	}
	return cgroups.Load(*r.Cgroup)
}

// cgroupPrep creates the cgroup and applies linux.resources while the init
// is still starting: neither needs its pid, and on a v1 host (a directory
// and a few files per controller) that work is as long as the init's own
// start. placeInCgroup waits for it before moving the init in.
type cgroupPrep struct {
	done chan error
}

// startCgroupPrep starts the work in the background; it returns nil for a
// manager that can only create its cgroup with a process (systemd).
func startCgroupPrep(m cgroups.Manager, s *specs.Spec) *cgroupPrep {
	p, ok := m.(cgroups.Preparer)
	if !ok {
		return nil
	}
	c := &cgroupPrep{done: make(chan error, 1)}
	go func() {
		err := p.Prepare()
		if err == nil {
			err = m.Set(resources(s))
		}
		c.done <- err
	}()
	return c
}

// wait returns the outcome of the preparation; it may be called again.
func (c *cgroupPrep) wait() error {
	if c == nil {
		return nil
	}
	err := <-c.done
	c.done <- err
	return err
}

// placeInCgroup puts the init in its cgroup and applies linux.resources
// (unless prep did), before the init runs anything of the container's (it
// waits in containerinit for InitGo).
func placeInCgroup(m cgroups.Manager, prep *cgroupPrep, pid int, s *specs.Spec) error {
	if prep != nil {
		if err := prep.wait(); err != nil {
			return err
		}
		// Made now: under a frozen parent it is frozen from the start.
		if err := checkNotFrozen(m); err != nil {
			return err
		}
		return m.Apply(pid)
	}
	if err := m.Apply(pid); err != nil {
		return err
	}
	// Set even without linux.resources: the default device rules apply.
	return m.Set(resources(s))
}

// resources is linux.resources, nil when absent (Set then applies the
// default device rules only).
func resources(s *specs.Spec) *specs.LinuxResources {
	if s.Linux == nil {
		return nil
	}
	return s.Linux.Resources
}

// destroyCgroup kills whatever is left in the container's cgroup (processes
// that escaped the init's death: a container without its own pid namespace,
// or one that joined another's) and removes it.
func destroyCgroup(r *state.Record) error {
	m, err := CgroupManager(r)
	if err != nil || m == nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, err := m.Pids()
		if err != nil || len(pids) == 0 {
			break
		}
		if err := cgroups.KillAll(m, unix.SIGKILL); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup of container %s still has processes %v after SIGKILL", r.ID, pids)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return m.Destroy()
}

// thawForKill signals every process of a frozen cgroup with SIGKILL and
// thaws it, so that they die at once.
func thawForKill(r *state.Record) {
	m, err := CgroupManager(r)
	if err != nil || m == nil {
		return
	}
	if frozen, err := m.Frozen(); err == nil && frozen {
		cgroups.KillAll(m, unix.SIGKILL)
		m.Thaw()
	}
}

// isPaused: a running container whose cgroup is frozen.
func isPaused(r *state.Record) bool {
	if r.DecodeCgroup() != nil {
		return false
	}
	m, err := CgroupManager(r)
	if err != nil || m == nil {
		return false
	}
	frozen, err := m.Frozen()
	return err == nil && frozen
}

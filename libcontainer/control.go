package libcontainer

import (
	"context"
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/state"
)

// cgroupOf returns the manager of a live container, refusing stopped ones.
func cgroupOf(h *state.Handle, r *state.Record) (cgroups.Manager, specs.ContainerState, error) {
	st := Status(h, r)
	if st == state.Stopped {
		return nil, st, ErrNotRunning
	}
	m, err := CgroupManager(r)
	if err != nil {
		return nil, st, err
	}
	if m == nil {
		return nil, st, fmt.Errorf("container %s has no cgroup%s", r.ID, noCgroupReason())
	}
	return m, st, nil
}

// pauseLocked freezes every process of a running container.
func pauseLocked(h *state.Handle, r *state.Record) error {
	m, st, err := cgroupOf(h, r)
	if err != nil {
		return err
	}
	if st != state.Running {
		return fmt.Errorf("container %s is %s, not running: only a running container can be paused", r.ID, st)
	}
	return m.Freeze()
}

// resumeLocked thaws a paused container.
func resumeLocked(h *state.Handle, r *state.Record) error {
	m, st, err := cgroupOf(h, r)
	if err != nil {
		return err
	}
	if st != state.Paused {
		return fmt.Errorf("container %s is %s, not paused", r.ID, st)
	}
	return m.Thaw()
}

// processesLocked lists the host pids of every process in the container's
// cgroup. A stopped container has none, unless its init left some behind;
// as runc, that is a list (nil when empty), not an error.
func processesLocked(h *state.Handle, r *state.Record) ([]int, error) {
	if r.Cgroup == nil {
		return pidsWithoutCgroup(r)
	}
	m, _, err := cgroupOf(h, r)
	if errors.Is(err, ErrNotRunning) {
		if m, err = CgroupManager(r); err != nil || m == nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return m.Pids()
}

// statsLocked samples the container's cgroup statistics.
func statsLocked(h *state.Handle, r *state.Record) (*cgroups.Stats, error) {
	m, _, err := cgroupOf(h, r)
	if err != nil {
		return nil, err
	}
	return m.Stats()
}

// updateLocked applies new resources to a live container and records them, so
// later commands (and a later update) start from what is in force.
func updateLocked(h *state.Handle, r *state.Record, res *specs.LinuxResources) error {
	m, _, err := cgroupOf(h, r)
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return notRunning(fmt.Sprintf("cannot update container %s: it is stopped", r.ID))
		}
		return err
	}
	// An update that does not mention devices keeps the device rules in
	// force (engines send only what changed, e.g. `update --resources -`
	// with memory and cpu).
	cfg, err := r.Spec()
	if err != nil {
		return err
	}
	if res.Devices == nil && cfg != nil && cfg.Linux != nil && cfg.Linux.Resources != nil {
		res.Devices = cfg.Linux.Resources.Devices
	}
	if err := m.Set(res); err != nil {
		return err
	}
	if cfg != nil {
		if cfg.Linux == nil {
			cfg.Linux = &specs.Linux{}
		}
		cfg.Linux.Resources = res
	}
	return h.Save(r)
}

// oomEvents reports the container's OOM kills until ctx ends.
func oomEvents(ctx context.Context, h *state.Handle, r *state.Record) (<-chan struct{}, error) {
	m, _, err := cgroupOf(h, r)
	if err != nil {
		return nil, err
	}
	return m.OOMEvents(ctx)
}

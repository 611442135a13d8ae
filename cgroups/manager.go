// Package cgroups places containers in control groups and applies their
// linux.resources on every kind of host: cgroup v1, hybrid (v1 controllers
// plus a cgroup2 mount at /sys/fs/cgroup/unified), pure cgroup v2, and the
// systemd driver (sub-package systemd). Device access rules live in the
// sub-package devices (v1 allow/deny files, v2 eBPF).
//
// The parent (`nook create`) builds a Manager with New, calls Apply with the
// init's pid before the init runs any user code, then Set; it records
// Manager.State in state.json so that later commands (delete, pause, ps,
// update, events) rebuild the same Manager with Load.
package cgroups

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is what a Manager is built from at create time.
type Config struct {
	// Name is the container id: the default cgroup name and, for systemd,
	// part of the unit name.
	Name string
	// Path is linux.cgroupsPath as written in config.json (absolute,
	// relative, empty, or "slice:prefix:name" with Systemd).
	Path string
	// Resources is linux.resources (may be nil).
	Resources *specs.LinuxResources
	// Systemd selects the systemd driver (--systemd-cgroup).
	Systemd bool
	// Rootless (runc's --rootless) leaves out the hierarchies the caller
	// may not write and tolerates failing device rules; a limit that needs
	// a left-out hierarchy is an error (rootless.go). It does not change
	// the path.
	Rootless bool
}

// Manager is one container's cgroup, whatever the host mode.
type Manager interface {
	// Apply creates the cgroup in every hierarchy in use and moves pid into
	// it. Nothing is left behind when it fails.
	Apply(pid int) error
	// Set applies resources; used by create and by `nook update`. It
	// validates everything before writing anything.
	Set(r *specs.LinuxResources) error
	// Freeze and Thaw implement pause and resume.
	Freeze() error
	Thaw() error
	// Frozen reports whether the cgroup is frozen (state shows "paused").
	Frozen() (bool, error)
	// Pids lists every process in the cgroup and its descendants.
	Pids() ([]int, error)
	// Stats reads the statistics `nook events --stats` prints.
	Stats() (*Stats, error)
	// OOMEvents delivers one value per OOM kill in the cgroup until ctx ends.
	OOMEvents(ctx context.Context) (<-chan struct{}, error)
	// Destroy removes the cgroup (it must hold no process). Removing a
	// cgroup that is already gone is not an error.
	Destroy() error
	// State is what Load needs to rebuild this Manager.
	State() State
}

// Preparer is a Manager that can create its cgroup before any process is
// known (the cgroupfs managers; systemd creates the unit with its first
// process). Resources may be Set on a prepared cgroup before Apply.
type Preparer interface {
	Prepare() error
}

// State is a Manager's persistent form, stored in state.json.
type State struct {
	// Driver is "cgroupfs" or "systemd".
	Driver string `json:"driver"`
	// Mode is the host mode found at create time: "v1", "hybrid" or "v2".
	Mode string `json:"mode"`
	// Paths maps a controller name ("memory", "cpu", …; "" for the cgroup2
	// hierarchy) to the absolute directory of the container's cgroup.
	Paths map[string]string `json:"paths"`
	// Unit is the systemd unit name (systemd driver only).
	Unit string `json:"unit,omitempty"`
	// Rootless: made by Config.Rootless (device rules are best effort).
	Rootless bool `json:"rootless,omitempty"`
}

package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups/devices"
)

// fsManager is the cgroupfs driver for every host mode. In v1 and hybrid
// mode it owns one directory per mounted v1 hierarchy and, in hybrid mode,
// one in the cgroup2 hierarchy (State.Paths[""]) where controllers that
// exist only on cgroup2 (hugetlb on some hosts) are handled the v2 way; in
// v2 mode it owns the one cgroup2 directory.
type fsManager struct {
	st State
	// prepared: Prepare made the cgroup, and Apply only moves the pid in.
	prepared bool
	// fromConfig is true for a manager made by New: its Set enforces the
	// default device policy even when linux.resources.devices is empty. A
	// Loaded manager (nook update) touches device rules only when asked.
	fromConfig bool
}

// New builds the cgroupfs Manager for cfg. It writes nothing: it reads
// /proc/self/mountinfo (and /proc/self/cgroup for a relative path) and
// validates cfg.Resources, so a bad config fails before any cgroup exists.
func New(cfg Config) (Manager, error) {
	if cfg.Systemd {
		return nil, errors.New("cgroups: the systemd driver is not built by cgroups.New")
	}
	l, err := readLayout()
	if err != nil {
		return nil, err
	}
	return newManager(cfg, l, ownCgroups)
}

// newManager is New on a given layout (tests point it at a fake tree).
func newManager(cfg Config, l layout, own func() (map[string]string, error)) (*fsManager, error) {
	inner, abs, err := innerPath(cfg.Path, cfg.Name)
	if err != nil {
		return nil, err
	}
	paths, err := containerPaths(l, inner, abs, own)
	if err != nil {
		return nil, err
	}
	m := &fsManager{
		st:         State{Driver: DriverCgroupfs, Mode: l.mode, Paths: paths},
		fromConfig: true,
	}
	ops, err := m.plan(cfg.Resources)
	if err != nil {
		return nil, err
	}
	if cfg.Rootless {
		m.st.Rootless = true
		if err := m.keepAccessible(ops, ownUnifiedDir(l, own), accessOK); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Load rebuilds the Manager recorded in state.json. It reads nothing.
func Load(st State) (Manager, error) {
	if st.Driver != DriverCgroupfs {
		return nil, fmt.Errorf("cgroups: state of driver %q cannot be loaded by the cgroupfs driver", st.Driver)
	}
	switch st.Mode {
	case ModeV1, ModeHybrid, ModeV2:
	default:
		return nil, fmt.Errorf("cgroups: unknown cgroup mode %q in state", st.Mode)
	}
	if len(st.Paths) == 0 {
		return nil, errors.New("cgroups: state records no cgroup path")
	}
	if st.Mode == ModeV2 && st.Paths[""] == "" {
		return nil, errors.New("cgroups: v2 state records no cgroup2 path")
	}
	paths := make(map[string]string, len(st.Paths))
	for c, p := range st.Paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return nil, fmt.Errorf("cgroups: state path %q of %s is not a clean absolute cgroup directory", p, hierName(c))
		}
		paths[c] = p
	}
	return &fsManager{st: State{Driver: st.Driver, Mode: st.Mode, Paths: paths, Unit: st.Unit, Rootless: st.Rootless}}, nil
}

// State returns a copy of the manager's persistent form.
func (m *fsManager) State() State {
	paths := make(map[string]string, len(m.st.Paths))
	for c, p := range m.st.Paths {
		paths[c] = p
	}
	return State{Driver: m.st.Driver, Mode: m.st.Mode, Paths: paths, Unit: m.st.Unit, Rootless: m.st.Rootless}
}

// unified is the cgroup2 directory ("" on a pure v1 host).
func (m *fsManager) unified() string { return m.st.Paths[""] }

// v1Dirs returns the distinct v1 directories in a stable order (co-mounted
// controllers share one directory).
func (m *fsManager) v1Dirs() []string {
	seen := map[string]bool{}
	var dirs []string
	for c, p := range m.st.Paths {
		if c == "" || seen[p] {
			continue
		}
		seen[p] = true
		dirs = append(dirs, p)
	}
	sort.Strings(dirs)
	return dirs
}

// DestroyDirs returns the directories m's Destroy removes, in its order, and
// true; false for a manager that removes more than directories (systemd's
// stops its unit first).
func DestroyDirs(m Manager) ([]string, bool) {
	fm, ok := m.(*fsManager)
	if !ok {
		return nil, false
	}
	return fm.allDirs(), true
}

// allDirs is every directory the manager owns: v1 ones, then cgroup2.
func (m *fsManager) allDirs() []string {
	dirs := m.v1Dirs()
	if u := m.unified(); u != "" {
		dirs = append(dirs, u)
	}
	return dirs
}

// Set validates r completely, then writes it: device rules first, then the
// other controllers in a fixed order.
func (m *fsManager) Set(r *specs.LinuxResources) error {
	ops, err := m.plan(r)
	if err != nil {
		return err
	}
	if err := m.setDevices(r); err != nil {
		return err
	}
	return runOps(ops)
}

// setDevices enforces the device rules: with the v1 devices controller
// when it is mounted, else with an eBPF program on the cgroup2 directory.
func (m *fsManager) setDevices(r *specs.LinuxResources) error {
	var wanted []specs.LinuxDeviceCgroup
	if r != nil {
		wanted = r.Devices
	}
	if wanted == nil && !m.fromConfig {
		return nil
	}
	rules := devices.Rules(wanted)
	var err error
	switch d, u := m.st.Paths["devices"], m.unified(); {
	case d != "" && m.st.Mode != ModeV2:
		err = devices.SetV1(d, rules)
	case u != "":
		err = devices.SetV2(u, rules)
	default:
		// Neither a v1 devices controller nor cgroup2: the host has no
		// device cgroup to enforce rules with (runc skips it too).
	}
	if err != nil && m.st.Rootless {
		// As runc: device rules are not expected to work rootless (an
		// unprivileged user can load no eBPF device program), and the
		// container can reach no device its user could not anyway.
		return nil
	}
	if err != nil && !strings.HasPrefix(err.Error(), "linux.resources.devices") {
		err = fmt.Errorf("linux.resources.devices: %w", err)
	}
	return err
}

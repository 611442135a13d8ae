package systemd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"reflect"
	"strings"
	"sync"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/cgroups/devices"
)

// Driver is the cgroups.State.Driver value of this package's managers.
const Driver = "systemd"

// FSLoader builds the cgroupfs manager that does what systemd cannot, from
// a State with Driver "cgroupfs" and the unit's cgroup directories as
// Paths. It must not create anything.
type FSLoader func(cgroups.State) (cgroups.Manager, error)

// Manager is the systemd cgroup driver: the container's cgroup is a
// transient systemd unit, and systemd sets the limits it has properties
// for; the cgroupfs manager built on the unit's directories does the rest
// (v1 controllers systemd does not manage, files with no property, freezer,
// stats, OOM events).
type Manager struct {
	unit  Unit
	mode  string // "v1", "hybrid" or "v2"
	paths map[string]string
	fs    cgroups.Manager
	// config is the create-time config; nil for a Manager rebuilt by
	// Load, which does not know the unit's first properties and so never
	// changes the unit's device properties.
	config *cgroups.Config
	addrs  busAddresses

	mu   sync.Mutex
	conn *systemdConn // connected by New, on first need after Load
	// started are the resource properties StartTransientUnit set, so
	// that create's Set does not send the very same ones again.
	started []sddbus.Property
}

var _ cgroups.Manager = (*Manager)(nil)

// New prepares the systemd unit for cfg, without creating anything: it
// validates linux.cgroupsPath and linux.resources, then reaches systemd
// (system bus, or the user bus when not root) and fails with a clear error
// when it cannot. fsLoad builds the cgroupfs manager for the unit's
// directories.
func New(cfg cgroups.Config, fsLoad FSLoader) (cgroups.Manager, error) {
	m, err := newManager(cfg, fsLoad, defaultBusAddresses())
	if err != nil {
		return nil, err // not a nil *Manager in a non-nil interface
	}
	return m, nil
}

func newManager(cfg cgroups.Config, fsLoad FSLoader, addrs busAddresses) (*Manager, error) {
	if fsLoad == nil {
		return nil, errors.New("systemd cgroup driver: no cgroupfs manager loader")
	}
	unit, err := ParseCgroupsPath(cfg.Path, cfg.Name, addrs.user)
	if err != nil {
		return nil, err
	}
	mounts, err := readCgroupMounts()
	if err != nil {
		return nil, err
	}
	mode, err := hostMode(mounts)
	if err != nil {
		return nil, err
	}
	m := &Manager{unit: unit, mode: mode, config: &cfg, addrs: addrs}
	// Bad resources are refused before systemd is even asked.
	if _, err := m.limitProperties(cfg.Resources, 0); err != nil {
		return nil, err
	}

	conn, err := connect(addrs)
	if err != nil {
		return nil, err
	}
	m.conn = conn
	m.paths = unitPaths(mounts, path.Join("/", conn.root, unit.Path))
	m.fs, err = fsLoad(cgroups.State{Driver: "cgroupfs", Mode: mode, Paths: maps.Clone(m.paths)})
	if err != nil {
		conn.close()
		return nil, fmt.Errorf("systemd cgroup driver: cgroupfs manager for unit %s: %w", unit.Name, err)
	}
	return m, nil
}

// Load rebuilds the Manager recorded in st (from State). It connects to
// systemd only when Set or Destroy need it, so that pause, ps, events and
// the like cost no D-Bus round trip.
func Load(st cgroups.State, fsLoad FSLoader) (cgroups.Manager, error) {
	m, err := loadManager(st, fsLoad, defaultBusAddresses())
	if err != nil {
		return nil, err
	}
	return m, nil
}

func loadManager(st cgroups.State, fsLoad FSLoader, addrs busAddresses) (*Manager, error) {
	if fsLoad == nil {
		return nil, errors.New("systemd cgroup driver: no cgroupfs manager loader")
	}
	if st.Driver != Driver {
		return nil, fmt.Errorf("systemd cgroup driver: state is for the %q driver", st.Driver)
	}
	if !strings.HasSuffix(st.Unit, scopeSuffix) && !strings.HasSuffix(st.Unit, sliceSuffix) {
		return nil, fmt.Errorf("systemd cgroup driver: state names unit %q, which is neither a scope nor a slice", st.Unit)
	}
	if err := checkUnitName(st.Unit); err != nil {
		return nil, fmt.Errorf("systemd cgroup driver: state: %w", err)
	}
	fs, err := fsLoad(cgroups.State{Driver: "cgroupfs", Mode: st.Mode, Paths: maps.Clone(st.Paths)})
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup driver: cgroupfs manager for unit %s: %w", st.Unit, err)
	}
	return &Manager{
		unit:  Unit{Name: st.Unit},
		mode:  st.Mode,
		paths: maps.Clone(st.Paths),
		fs:    fs,
		addrs: addrs,
	}, nil
}

// Apply starts the transient unit with pid in it and the container's
// limits, waits for systemd's job, then has the cgroupfs manager create
// and join what systemd does not manage. If that fails the unit is
// stopped: nothing is left behind. On a Manager from Load (nook exec),
// Apply only moves pid into the existing cgroups.
func (m *Manager) Apply(pid int) error {
	if m.config == nil {
		return m.fs.Apply(pid)
	}
	conn, err := m.connection()
	if err != nil {
		return err
	}
	props, err := unitProperties(m.unit, m.config.Name, pid, m.unified())
	if err != nil {
		return err
	}
	limits, err := m.limitProperties(m.config.Resources, conn.version)
	if err != nil {
		return err
	}
	if err := conn.startUnit(m.unit.Name, append(props, limits...)); err != nil {
		return err
	}
	m.started = limits
	if err := m.fs.Apply(pid); err != nil {
		if serr := conn.stopUnit(m.unit.Name); serr != nil {
			logrus.Warnf("cleaning up after a failed Apply: %v", serr)
		}
		return err
	}
	return nil
}

// Set changes the unit's properties (for this boot only), then has the
// cgroupfs manager apply everything, including what systemd has no
// property for. Both layers are kept in step because systemd rewrites
// the cgroup files from its properties whenever it re-applies them.
func (m *Manager) Set(r *specs.LinuxResources) error {
	// Validate first, and skip the D-Bus connection when systemd has
	// nothing to be told (an update of cgroupfs-only values).
	props, err := m.limitProperties(r, 0)
	if err != nil {
		return err
	}
	if len(props) > 0 {
		conn, err := m.connection()
		if err != nil {
			return err
		}
		if props, err = m.limitProperties(r, conn.version); err != nil {
			return err
		}
		if len(props) > 0 && !reflect.DeepEqual(props, m.started) {
			if err := conn.setProperties(m.unit.Name, props); err != nil {
				return err
			}
		}
	}
	m.started = nil
	return m.fs.Set(m.withAllDeviceRules(r))
}

// withAllDeviceRules gives the cgroupfs manager, which was built by Load
// and so enforces device rules only when given some, the complete device
// rule list of a container being created: linux.resources.devices and the
// default devices, as explicit rules. Rules applied to that list again
// yields the same policy (the defaults come after the configured rules in
// both), so the cgroupfs layer enforces exactly what systemd was told.
// r itself is not changed.
func (m *Manager) withAllDeviceRules(r *specs.LinuxResources) *specs.LinuxResources {
	if m.config == nil {
		return r
	}
	var full specs.LinuxResources
	if r != nil {
		full = *r
	}
	full.Devices = devices.Rules(full.Devices)
	return &full
}

// limitProperties maps r (and, for a Manager built by New, the device
// rules of r and the default devices) to unit properties that systemd
// version understands (version 0: unknown, keep all), logging what it
// leaves to the cgroupfs manager.
//
// Device properties are left out after Load (config is nil): the unit
// keeps the device properties it was created with (which is also why no
// freeze around the device change is needed: the only device change
// happens before the container's process runs).
func (m *Manager) limitProperties(r *specs.LinuxResources, version int) ([]sddbus.Property, error) {
	props, err := resourceProperties(r, m.unified())
	if err != nil {
		return nil, err
	}
	var skipped []string
	if m.config != nil {
		var resRules []specs.LinuxDeviceCgroup
		if r != nil {
			resRules = r.Devices
		}
		rules := devices.Rules(resRules)
		devProps, devSkipped, err := deviceProperties(rules, version, procDeviceGroup)
		if err != nil {
			return nil, err
		}
		props = append(props, devProps...)
		skipped = devSkipped
	}
	props, dropped := keepSupported(props, version)
	for _, name := range dropped {
		logrus.Debugf("systemd v%d has no %s property; the cgroupfs manager applies it", version, name)
	}
	for _, s := range skipped {
		logrus.Debugf("systemd unit %s: %s", m.unit.Name, s)
	}
	return props, nil
}

// Freeze, Thaw, Frozen, Pids, Stats and OOMEvents read and write the
// unit's cgroup directly, through the cgroupfs manager.
func (m *Manager) Freeze() error                  { return m.fs.Freeze() }
func (m *Manager) Thaw() error                    { return m.fs.Thaw() }
func (m *Manager) Frozen() (bool, error)          { return m.fs.Frozen() }
func (m *Manager) Pids() ([]int, error)           { return m.fs.Pids() }
func (m *Manager) Stats() (*cgroups.Stats, error) { return m.fs.Stats() }
func (m *Manager) OOMEvents(ctx context.Context) (<-chan struct{}, error) {
	return m.fs.OOMEvents(ctx)
}

// Destroy stops the unit (systemd removes the cgroups it made) and then has
// the cgroupfs manager remove the rest. A unit that is already gone is not
// an error. When systemd cannot be reached the cgroups are still removed,
// and the reason is logged.
func (m *Manager) Destroy() error {
	var stopErr error
	conn, err := m.connection()
	if err != nil {
		logrus.Warnf("not stopping systemd unit %s: %v", m.unit.Name, err)
	} else {
		stopErr = conn.stopUnit(m.unit.Name)
	}
	fsErr := m.fs.Destroy()
	m.mu.Lock()
	m.conn.close()
	m.conn = nil
	m.mu.Unlock()
	return errors.Join(stopErr, fsErr)
}

// State records the unit, the host mode and the unit's cgroup directories.
func (m *Manager) State() cgroups.State {
	return cgroups.State{Driver: Driver, Mode: m.mode, Paths: maps.Clone(m.paths), Unit: m.unit.Name}
}

func (m *Manager) unified() bool { return m.mode == "v2" }

func (m *Manager) connection() (*systemdConn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		return m.conn, nil
	}
	c, err := connect(m.addrs)
	if err != nil {
		return nil, err
	}
	m.conn = c
	return c, nil
}

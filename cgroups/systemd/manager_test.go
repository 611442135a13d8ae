package systemd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups"
)

// fakeFS is a recording cgroupfs manager.
type fakeFS struct {
	st cgroups.State

	mu       sync.Mutex
	calls    []string
	set      []*specs.LinuxResources
	applyErr error
}

func (f *fakeFS) note(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeFS) Apply(pid int) error {
	f.note("Apply")
	return f.applyErr
}

func (f *fakeFS) Set(r *specs.LinuxResources) error {
	f.note("Set")
	f.mu.Lock()
	f.set = append(f.set, r)
	f.mu.Unlock()
	return nil
}
func (f *fakeFS) Freeze() error                  { f.note("Freeze"); return nil }
func (f *fakeFS) Thaw() error                    { f.note("Thaw"); return nil }
func (f *fakeFS) Frozen() (bool, error)          { f.note("Frozen"); return true, nil }
func (f *fakeFS) Pids() ([]int, error)           { f.note("Pids"); return []int{7}, nil }
func (f *fakeFS) Stats() (*cgroups.Stats, error) { f.note("Stats"); return &cgroups.Stats{}, nil }
func (f *fakeFS) Destroy() error                 { f.note("Destroy"); return nil }
func (f *fakeFS) State() cgroups.State           { return f.st }
func (f *fakeFS) OOMEvents(ctx context.Context) (<-chan struct{}, error) {
	f.note("OOMEvents")
	return make(chan struct{}), nil
}

func (f *fakeFS) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fsLoader returns a loader that hands out fs and records its State.
func fsLoader(fs *fakeFS, loaded *[]cgroups.State) FSLoader {
	return func(st cgroups.State) (cgroups.Manager, error) {
		*loaded = append(*loaded, st)
		fs.st = st
		return fs, nil
	}
}

// TestNewWithoutSystemd is what a user of this machine sees: systemd is
// not PID 1 and no system bus runs, so New fails with one clear line, and
// before anything is created (the cgroupfs loader is never called).
func TestNewWithoutSystemd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: as another user New looks for the user bus")
	}
	for _, sock := range []string{"/run/dbus/system_bus_socket", "/run/systemd/private"} {
		if _, err := os.Stat(sock); err == nil {
			t.Skipf("%s exists: this machine may have a reachable systemd", sock)
		}
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "")
	called := false
	load := func(cgroups.State) (cgroups.Manager, error) { called = true; return nil, errors.New("unreachable") }

	m, err := New(cgroups.Config{Name: "nosd", Systemd: true}, load)
	if err == nil {
		t.Fatalf("New = %v, want an error", m)
	}
	if m != nil {
		t.Errorf("New returned a non-nil Manager %#v with its error", m)
	}
	msg := err.Error()
	t.Logf("New on this machine: %s", msg)
	const prefix = "systemd cgroup driver (--systemd-cgroup): cannot reach systemd over D-Bus: "
	const suffix = " (is systemd running as PID 1?)"
	if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) {
		t.Errorf("error %q\nwant %q<cause>%q", msg, prefix, suffix)
	}
	if !strings.Contains(msg, "/run/dbus/system_bus_socket") || !strings.Contains(msg, "no such file or directory") {
		t.Errorf("error %q should name the socket it tried and why it failed", msg)
	}
	if called {
		t.Error("the cgroupfs manager was built before systemd was reached")
	}
}

func TestNewRefusesBadConfigFirst(t *testing.T) {
	load := func(cgroups.State) (cgroups.Manager, error) { t.Fatal("loader called"); return nil, nil }
	none := busAddresses{bus: "unix:path=" + filepath.Join(t.TempDir(), "none")}
	tests := []struct {
		cfg  cgroups.Config
		want string
	}{
		{cgroups.Config{Name: "x", Path: "/abs/path"}, "linux.cgroupsPath"},
		{cgroups.Config{Name: "x", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "9-1"}}}, "linux.resources.cpu.cpus"},
		{cgroups.Config{Name: "x", Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "q"}}}}, "linux.resources.devices[0].type"},
	}
	for _, tt := range tests {
		_, err := newManager(tt.cfg, load, none)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "D-Bus") {
			t.Errorf("%+v: err = %v, want a %s error before any D-Bus", tt.cfg, err, tt.want)
		}
	}
	if _, err := newManager(cgroups.Config{Name: "x"}, nil, none); err == nil {
		t.Error("a nil loader: want an error")
	}
}

func TestManagerLifecycle(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	fs := &fakeFS{}
	var loaded []cgroups.State
	cfg := cgroups.Config{
		Name: "life",
		Path: "machine.slice:nook:life",
		Resources: &specs.LinuxResources{
			Devices: []specs.LinuxDeviceCgroup{denyAll, devRule(true, "c", 10, 229, "rwm")},
			Memory:  &specs.LinuxMemory{Limit: i64(64 << 20)},
			Pids:    &specs.LinuxPids{Limit: i64(50)},
		},
		Systemd: true,
	}
	m, err := newManager(cfg, fsLoader(fs, &loaded), busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.recorded()) != 0 {
		t.Errorf("New changed systemd: %+v", fake.recorded())
	}

	// The cgroupfs manager is loaded on the unit's directories.
	st := m.State()
	if st.Driver != "systemd" || st.Unit != "nook-life.scope" || st.Mode == "" {
		t.Errorf("State = %+v", st)
	}
	if len(loaded) != 1 || loaded[0].Driver != "cgroupfs" || loaded[0].Mode != st.Mode || !reflect.DeepEqual(loaded[0].Paths, st.Paths) {
		t.Errorf("loader got %+v, want a cgroupfs state with %+v", loaded, st.Paths)
	}
	for c, p := range st.Paths {
		if !strings.HasPrefix(p, cgroupRoot+"/") || !strings.HasSuffix(p, "/machine.slice/nook-life.scope") {
			t.Errorf("path of %q: %q", c, p)
		}
	}

	if err := m.Apply(4242); err != nil {
		t.Fatal(err)
	}
	calls := fake.recorded()
	if len(calls) != 1 || calls[0].Method != "StartTransientUnit" || calls[0].Unit != "nook-life.scope" {
		t.Fatalf("systemd calls %+v", calls)
	}
	memory := "MemoryLimit t=67108864"
	if st.Mode == "v2" {
		memory = "MemoryMax t=67108864"
	}
	for _, want := range []string{
		"Slice s=machine.slice", "PIDs au=[4242]", "Delegate b=true", "DefaultDependencies b=false",
		memory, "TasksMax t=50", "DevicePolicy s=strict",
	} {
		if !slices.Contains(calls[0].Props, want) {
			t.Errorf("StartTransientUnit lacks %q: %q", want, calls[0].Props)
		}
	}
	// The configured allow rule (/dev/fuse) comes with the default devices.
	last := calls[0].Props[len(calls[0].Props)-1]
	if !strings.HasPrefix(last, "DeviceAllow") || !strings.Contains(last, "/dev/char/1:3 rwm") || !strings.Contains(last, "/dev/char/10:229 rwm") {
		t.Errorf("DeviceAllow = %q", last)
	}
	if got := fs.recorded(); !reflect.DeepEqual(got, []string{"Apply"}) {
		t.Errorf("cgroupfs calls after Apply: %q", got)
	}

	// create's Set: systemd already has these values, so only the
	// cgroupfs manager is called, with the complete device rule list.
	if err := m.Set(cfg.Resources); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.recorded()); n != 1 {
		t.Errorf("Set sent systemd what StartTransientUnit had: %+v", fake.recorded()[1:])
	}
	if len(fs.set) != 1 {
		t.Fatalf("cgroupfs Set calls: %d", len(fs.set))
	}
	got := fs.set[0]
	if got == cfg.Resources || got.Memory != cfg.Resources.Memory || len(cfg.Resources.Devices) != 2 {
		t.Error("Set should pass a copy with the device list filled in, leaving the config alone")
	}
	if !slices.ContainsFunc(got.Devices, func(d specs.LinuxDeviceCgroup) bool {
		return d.Allow && d.Major != nil && *d.Major == 1 && d.Minor != nil && *d.Minor == 3
	}) || !reflect.DeepEqual(got.Devices[:2], cfg.Resources.Devices) {
		t.Errorf("cgroupfs rules are not the configured ones then the default devices: %+v", got.Devices)
	}

	// A later Set (nook update in the same process) reaches systemd.
	update := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(80)}}
	if err := m.Set(update); err != nil {
		t.Fatal(err)
	}
	calls = fake.recorded()
	if len(calls) != 2 || calls[1].Method != "SetUnitProperties(runtime=true)" || !slices.Contains(calls[1].Props, "TasksMax t=80") {
		t.Errorf("update: %+v", calls[1:])
	}

	for _, op := range []func() error{
		m.Freeze, m.Thaw,
		func() error { _, err := m.Frozen(); return err },
		func() error { _, err := m.Pids(); return err },
		func() error { _, err := m.Stats(); return err },
		func() error { _, err := m.OOMEvents(context.Background()); return err },
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if got := fake.methods(); !slices.Contains(got, "StopUnit nook-life.scope") {
		t.Errorf("Destroy did not stop the unit: %q", got)
	}
	want := []string{"Apply", "Set", "Set", "Freeze", "Thaw", "Frozen", "Pids", "Stats", "OOMEvents", "Destroy"}
	if got := fs.recorded(); !reflect.DeepEqual(got, want) {
		t.Errorf("cgroupfs calls %q, want %q", got, want)
	}
}

func TestApplyStopsUnitWhenCgroupfsFails(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	fs := &fakeFS{applyErr: errors.New("cpuset: no cpus")}
	var loaded []cgroups.State
	m, err := newManager(cgroups.Config{Name: "fail"}, fsLoader(fs, &loaded), busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(99); err == nil || !strings.Contains(err.Error(), "cpuset: no cpus") {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{"StartTransientUnit nook-fail.scope", "StopUnit nook-fail.scope"}
	if got := fake.methods(); len(got) < 2 || !reflect.DeepEqual(got[:2], want) {
		t.Errorf("systemd calls %q, want %q first: nothing left behind", got, want)
	}
}

func TestLoad(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	fake.configure(func(f *fakeSystemd) { f.units["nook-old.scope"] = "active" })
	st := cgroups.State{
		Driver: "systemd", Mode: "v2", Unit: "nook-old.scope",
		Paths: map[string]string{"": "/sys/fs/cgroup/system.slice/nook-old.scope"},
	}
	fs := &fakeFS{}
	var loaded []cgroups.State
	m, err := loadManager(st, fsLoader(fs, &loaded), busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.State(); !reflect.DeepEqual(got, st) {
		t.Errorf("State() = %+v, want %+v", got, st)
	}
	if len(loaded) != 1 || loaded[0].Driver != "cgroupfs" || !reflect.DeepEqual(loaded[0].Paths, st.Paths) {
		t.Errorf("loader got %+v", loaded)
	}
	// Read-only operations and cgroupfs-only updates need no D-Bus.
	if _, err := m.Pids(); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"io.max": "8:0 rbps=1"}}); err != nil {
		t.Fatal(err)
	}
	if m.conn != nil || len(fake.recorded()) != 0 {
		t.Error("a read or a cgroupfs-only update connected to systemd")
	}
	// exec: Apply on a loaded manager only joins the cgroup.
	if err := m.Apply(1234); err != nil {
		t.Fatal(err)
	}
	if len(fake.recorded()) != 0 {
		t.Errorf("Apply after Load started a unit: %+v", fake.recorded())
	}
	// An update systemd has properties for: no device properties, which
	// a Manager rebuilt by Load never changes.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 30)}, Devices: []specs.LinuxDeviceCgroup{denyAll}}); err != nil {
		t.Fatal(err)
	}
	calls := fake.recorded()
	if len(calls) != 1 || !reflect.DeepEqual(calls[0].Props, []string{"MemoryMax t=1073741824"}) {
		t.Errorf("update after Load: %+v", calls)
	}
	if fs.set[1].Devices == nil || len(fs.set[1].Devices) != 1 {
		t.Errorf("after Load the cgroupfs manager gets r as given: %+v", fs.set[1].Devices)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if got := fake.methods(); !slices.Contains(got, "StopUnit nook-old.scope") {
		t.Errorf("Destroy did not stop the unit: %q", got)
	}
	if got := fs.recorded(); !reflect.DeepEqual(got, []string{"Pids", "Set", "Apply", "Set", "Destroy"}) {
		t.Errorf("cgroupfs calls %q", got)
	}
}

func TestLoadDestroyWithoutSystemd(t *testing.T) {
	st := cgroups.State{Driver: "systemd", Mode: "v1", Unit: "nook-gone.scope", Paths: map[string]string{"memory": "/sys/fs/cgroup/memory/x"}}
	fs := &fakeFS{}
	var loaded []cgroups.State
	m, err := loadManager(st, fsLoader(fs, &loaded), busAddresses{bus: "unix:path=" + filepath.Join(t.TempDir(), "none")})
	if err != nil {
		t.Fatal(err)
	}
	// systemd is gone: the cgroups are still removed.
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if got := fs.recorded(); !reflect.DeepEqual(got, []string{"Destroy"}) {
		t.Errorf("cgroupfs calls %q", got)
	}
	// An update systemd must hear of fails with the clear error.
	err = m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}})
	if err == nil || !strings.Contains(err.Error(), "cannot reach systemd over D-Bus") {
		t.Errorf("Set: %v", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	fs := &fakeFS{}
	var loaded []cgroups.State
	for _, st := range []cgroups.State{
		{Driver: "cgroupfs", Unit: "nook-x.scope"},
		{Driver: "systemd"},
		{Driver: "systemd", Unit: "nook-x.service"},
		{Driver: "systemd", Unit: "a/b.scope"},
	} {
		if _, err := Load(st, fsLoader(fs, &loaded)); err == nil {
			t.Errorf("Load(%+v): want an error", st)
		}
	}
	if len(loaded) != 0 {
		t.Errorf("loader called for a refused state: %+v", loaded)
	}
	if _, err := Load(cgroups.State{Driver: "systemd", Unit: "a.scope"}, nil); err == nil {
		t.Error("nil loader: want an error")
	}
}

package systemd

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestConnectUnreachable(t *testing.T) {
	dir := t.TempDir()
	addrs := busAddresses{
		bus:     "unix:path=" + filepath.Join(dir, "system_bus_socket"),
		private: "unix:path=" + filepath.Join(dir, "private"),
	}
	_, err := connect(addrs)
	if err == nil {
		t.Fatal("connect to missing sockets: want an error")
	}
	msg := err.Error()
	for _, want := range []string{
		"systemd cgroup driver (--systemd-cgroup): cannot reach systemd over D-Bus: ",
		addrs.bus, addrs.private, "no such file or directory",
		"(is systemd running as PID 1?)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if !strings.HasSuffix(msg, "(is systemd running as PID 1?)") {
		t.Errorf("error %q should end with the hint", msg)
	}

	_, err = connect(busAddresses{user: true})
	if err == nil || !strings.Contains(err.Error(), "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR") ||
		!strings.Contains(err.Error(), "systemd user instance") {
		t.Errorf("user manager with no bus: err = %v", err)
	}
}

// TestConnectBusWithoutSystemd: a bus daemon with no systemd on it (as in
// many containers) is as unreachable as no bus at all.
func TestConnectBusWithoutSystemd(t *testing.T) {
	addr := startPrivateBus(t)
	_, err := connect(busAddresses{bus: addr})
	if err == nil {
		t.Fatal("want an error")
	}
	if !strings.Contains(err.Error(), "cannot reach systemd over D-Bus") || !strings.Contains(err.Error(), "org.freedesktop.systemd1") {
		t.Errorf("err = %v", err)
	}
}

func TestConnectReadsVersionAndRoot(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	const root = "/user.slice/user-1000.slice/user@1000.service"
	fake.configure(func(f *fakeSystemd) { f.controlGroup = root })
	c, err := connect(busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if c.version != 252 || c.root != root {
		t.Errorf("version %d root %q, want 252 and %q", c.version, c.root, root)
	}
}

// TestWireFormat starts, changes and stops a unit on the fake systemd and
// checks the properties as they arrive over D-Bus: names, D-Bus types
// (what systemd checks) and values.
func TestWireFormat(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	c, err := connect(busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()

	u, err := ParseCgroupsPath("machine.slice:nook:wire", "wire", false)
	if err != nil {
		t.Fatal(err)
	}
	props, err := unitProperties(u, "wire", 4321, true)
	if err != nil {
		t.Fatal(err)
	}
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(2048), Quota: i64(20000), Period: u64(100000), Cpus: "0-1", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: i64(64)},
	}
	limits, err := resourceProperties(r, true)
	if err != nil {
		t.Fatal(err)
	}
	devs, _, err := deviceProperties([]specs.LinuxDeviceCgroup{denyAll, devRule(true, "c", 1, 3, "rwm"), devRule(true, "c", 136, -1, "rw")}, c.version, nil)
	if err != nil {
		t.Fatal(err)
	}
	limits = append(limits, devs...)
	if err := c.startUnit(u.Name, append(props, limits...)); err != nil {
		t.Fatal(err)
	}
	if err := c.setProperties(u.Name, []sddbus.Property{newProp("MemoryMax", uint64(128<<20))}); err != nil {
		t.Fatal(err)
	}
	if err := c.stopUnit(u.Name); err != nil {
		t.Fatal(err)
	}
	// Stopping a unit systemd no longer has is not an error.
	if err := c.stopUnit(u.Name); err != nil {
		t.Errorf("second stop: %v", err)
	}

	calls := fake.recorded()
	if len(calls) < 4 {
		t.Fatalf("calls: %+v", calls)
	}
	start := calls[0]
	if start.Method != "StartTransientUnit" || start.Unit != "nook-wire.scope" {
		t.Fatalf("first call %+v", start)
	}
	want := []string{
		"Description s=nook container wire",
		"Slice s=machine.slice",
		"PIDs au=[4321]",
		"Delegate b=true",
		"MemoryAccounting b=true",
		"CPUAccounting b=true",
		"IOAccounting b=true",
		"TasksAccounting b=true",
		"DefaultDependencies b=false",
		"MemoryMax t=67108864",
		"CPUWeight t=174",
		"CPUQuotaPeriodUSec t=100000",
		"CPUQuotaPerSecUSec t=200000",
		"AllowedCPUs ay=[3]",
		"AllowedMemoryNodes ay=[1]",
		"TasksMax t=64",
		"DevicePolicy s=strict",
		"DeviceAllow a(ss)=[]",
		"DeviceAllow a(ss)=[[/dev/char/1:3 rwm] [char-136 rw]]",
	}
	if !reflect.DeepEqual(start.Props, want) {
		t.Errorf("StartTransientUnit properties on the wire:\n got %q\nwant %q", start.Props, want)
	}
	if got := calls[1]; got.Method != "SetUnitProperties(runtime=true)" || !reflect.DeepEqual(got.Props, []string{"MemoryMax t=134217728"}) {
		t.Errorf("second call %+v", got)
	}
	if got := calls[2]; got.Method != "StopUnit" || got.Unit != "nook-wire.scope" {
		t.Errorf("third call %+v", got)
	}
}

func TestStartUnitJobFailure(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	fake.configure(func(f *fakeSystemd) { f.jobResult = "failed" })
	c, err := connect(busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	err = c.startUnit("p-fail.scope", []sddbus.Property{newProp("PIDs", []uint32{1})})
	if err == nil || !strings.Contains(err.Error(), `p-fail.scope: job finished with result "failed"`) {
		t.Fatalf("err = %v", err)
	}
	// The failed unit is reset so that its name can be used again.
	if got := fake.methods(); !reflect.DeepEqual(got, []string{"StartTransientUnit p-fail.scope", "ResetFailedUnit p-fail.scope"}) {
		t.Errorf("calls %q", got)
	}
}

func TestStartUnitReplacesFailedLeftover(t *testing.T) {
	addr := startPrivateBus(t)
	fake := newFakeSystemd(t, addr)
	fake.configure(func(f *fakeSystemd) {
		f.units["p-old.scope"] = "failed"
		f.units["p-live.scope"] = "active"
	})
	c, err := connect(busAddresses{bus: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.startUnit("p-old.scope", nil); err != nil {
		t.Fatalf("a failed leftover should be reset and replaced: %v", err)
	}
	want := []string{"StartTransientUnit p-old.scope", "ResetFailedUnit p-old.scope", "StartTransientUnit p-old.scope"}
	if got := fake.methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	// A live unit of the same name is another container's: refused.
	err = c.startUnit("p-live.scope", nil)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("err = %v", err)
	}
}

package systemd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// startPrivateBus runs a dbus-daemon of its own for one test, on a socket
// in the test's temporary directory, and returns its address. The daemon
// is killed when the test ends.
func startPrivateBus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon is not installed (Debian package dbus-daemon): the D-Bus wire tests need a private bus; the mapping is covered by the unit tests")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(config, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+config, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its complaints (it cannot raise its fd limit without
	// CAP_SYS_RESOURCE) are shown only if it fails to start.
	errLog, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errLog.Close()
	cmd.Stderr = errLog
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			msg, _ := os.ReadFile(errLog.Name())
			t.Fatalf("dbus-daemon printed no address: %s", msg)
		}
		return a
	case <-time.After(10 * time.Second):
		msg, _ := os.ReadFile(errLog.Name())
		t.Fatalf("dbus-daemon printed no address in 10s: %s", msg)
	}
	return ""
}

// fakeCall is one call the fake systemd received, its properties rendered
// as "Name sig=value" from what came over the wire.
type fakeCall struct {
	Method string
	Unit   string
	Props  []string
}

// fakeSystemd serves the part of org.freedesktop.systemd1.Manager that nook
// uses, on a private bus, and records every call.
type fakeSystemd struct {
	conn         *dbus.Conn
	version      string
	controlGroup string

	mu        sync.Mutex
	calls     []fakeCall
	units     map[string]string // unit name → "active" or "failed"
	jobResult string            // JobRemoved result for every job
	jobs      uint32
}

func newFakeSystemd(t *testing.T, addr string) *fakeSystemd {
	t.Helper()
	conn, err := dialBus(addr, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fakeSystemd{conn: conn, version: `252.38-1~deb12u1`, units: map[string]string{}, jobResult: "done"}
	if err := conn.Export(f, systemdPath, managerIface); err != nil {
		t.Fatal(err)
	}
	if err := conn.Export(fakeProperties{f}, systemdPath, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(systemdService, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s on the private bus: %v (reply %d)", systemdService, err, reply)
	}
	return f
}

func (f *fakeSystemd) record(method, unit string, props []sddbus.Property) {
	f.calls = append(f.calls, fakeCall{Method: method, Unit: unit, Props: fmtProps(props)})
}

// finishJob replies with a job path and announces the job's end the way
// systemd does, with a JobRemoved signal (id, job, unit, result).
func (f *fakeSystemd) finishJob(unit string) dbus.ObjectPath {
	f.jobs++
	job := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", f.jobs))
	_ = f.conn.Emit(systemdPath, managerIface+".JobRemoved", f.jobs, job, unit, f.jobResult)
	return job
}

func (f *fakeSystemd) StartTransientUnit(name, mode string, props []sddbus.Property, aux []sddbus.PropertyCollection) (dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StartTransientUnit", name, props)
	if _, ok := f.units[name]; ok {
		return "", dbus.NewError("org.freedesktop.systemd1.UnitExists", []any{"Unit " + name + " already exists."})
	}
	if mode != "replace" || len(aux) != 0 {
		return "", dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"unexpected mode or aux units"})
	}
	f.units[name] = "active"
	if f.jobResult != "done" {
		f.units[name] = "failed"
	}
	return f.finishJob(name), nil
}

func (f *fakeSystemd) StopUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StopUnit", name, nil)
	if _, ok := f.units[name]; !ok {
		return "", dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " not loaded."})
	}
	delete(f.units, name)
	return f.finishJob(name), nil
}

func (f *fakeSystemd) SetUnitProperties(name string, runtime bool, props []sddbus.Property) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(fmt.Sprintf("SetUnitProperties(runtime=%v)", runtime), name, props)
	if _, ok := f.units[name]; !ok {
		return dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " not loaded."})
	}
	return nil
}

func (f *fakeSystemd) ResetFailedUnit(name string) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ResetFailedUnit", name, nil)
	if f.units[name] != "failed" {
		return dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " not failed."})
	}
	delete(f.units, name)
	return nil
}

// configure changes the fake's behaviour under its lock (its methods run
// on the bus connection's goroutines).
func (f *fakeSystemd) configure(change func(f *fakeSystemd)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeSystemd) recorded() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func (f *fakeSystemd) methods() []string {
	var m []string
	for _, c := range f.recorded() {
		m = append(m, c.Method+" "+c.Unit)
	}
	return m
}

// fakeProperties answers org.freedesktop.DBus.Properties.Get for the
// manager's Version and ControlGroup.
type fakeProperties struct{ f *fakeSystemd }

func (p fakeProperties) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	if iface == managerIface {
		switch name {
		case "Version":
			return dbus.MakeVariant(p.f.version), nil
		case "ControlGroup":
			return dbus.MakeVariant(p.f.controlGroup), nil
		}
	}
	return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{iface + "." + name})
}

package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// kmsgCheck opens /dev/kmsg for reading (CAP_SYSLOG is granted, so with
// kernel.dmesg_restrict only the device cgroup can refuse it) and
// /dev/null for reading and writing, and says what happened.
const kmsgCheck = `if err=$( (: </dev/kmsg) 2>&1 ); then echo kmsg-open; else echo "kmsg-refused: $err"; fi
: </dev/null && echo x >/dev/null && echo null-ok`

// kmsgDevice lists /dev/kmsg (c 1:11) in linux.devices, under the base
// spec's linux.resources.devices (deny everything), plus the rules extra.
func kmsgDevice(extra ...specs.LinuxDeviceCgroup) specMod {
	return func(s *specs.Spec) {
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11})
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, extra...)
	}
}

var allowKmsg = specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64p(1), Minor: i64p(11), Access: "rwm"}

// checkKmsg checks kmsgCheck's output: /dev/kmsg refused with EPERM (or
// opened, with open) and /dev/null usable.
func checkKmsg(t *testing.T, what, out string, open bool) {
	t.Helper()
	lines := nonEmptyLines(out)
	kmsg := "kmsg-open"
	if !open {
		kmsg = "kmsg-refused: sh: can't open /dev/kmsg: Operation not permitted"
	}
	if strings.Join(lines, "|") != kmsg+"|null-ok" {
		t.Errorf("%s: the container printed\n%s\nwant\n%s\nnull-ok", what, strings.Join(lines, "\n"), kmsg)
	}
}

// A linux.devices entry gets no device cgroup rule of its own: under
// linux.resources.devices that deny everything, /dev/kmsg is made but
// cannot be opened, while the default devices stay usable; an explicit
// allow rule opens it. As runc does; nook used to add an allow rule for
// every linux.devices entry. On the v1 devices controller of this host.
func TestLinuxDevicesNotAllowedImplicitlyV1(t *testing.T) {
	e := newEnv(t)
	if !v1Controllers(t)["devices"] {
		t.Skip("no cgroup v1 devices controller mounted on this host")
	}
	checkKmsg(t, "deny all", e.runOK(sh(kmsgCheck), withCaps("CAP_SYSLOG"), kmsgDevice()), false)
	checkKmsg(t, "allow c 1:11", e.runOK(sh(kmsgCheck), withCaps("CAP_SYSLOG"), kmsgDevice(allowKmsg)), true)
}

// The same on cgroup v2 (the eBPF device program), in a private mount
// namespace whose /sys/fs/cgroup is the cgroup2 hierarchy, as on a pure v2
// host (see TestCgroup2Only).
func TestLinuxDevicesNotAllowedImplicitlyV2(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			t.Skip("no cgroup2 hierarchy on this host")
		}
	}
	for _, c := range []struct {
		what  string
		extra []specs.LinuxDeviceCgroup
		open  bool
	}{{"deny all", nil, false}, {"allow c 1:11", []specs.LinuxDeviceCgroup{allowKmsg}, true}} {
		b := e.bundle(sh(kmsgCheck), withCaps("CAP_SYSLOG"), kmsgDevice(c.extra...))
		r := e.nookOnCgroup2("run", "--bundle", b, e.id())
		if r.Code != 0 {
			t.Fatalf("%s: nook run on cgroup2: %s", c.what, r)
		}
		checkKmsg(t, c.what+" (cgroup2)", r.Stdout, c.open)
	}
}

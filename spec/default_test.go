package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultShape(t *testing.T) {
	s := Default(false)
	if s.Version != "1.3.0" || !s.Process.Terminal || !s.Process.NoNewPrivileges ||
		s.Process.Cwd != "/" || s.Hostname != "nook" || s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Fatalf("unexpected default: %+v", s)
	}
	if !slices.Equal(s.Process.Args, []string{"sh"}) {
		t.Errorf("args = %q", s.Process.Args)
	}
	if !slices.Contains(s.Process.Env, "TERM=xterm") {
		t.Errorf("env lacks TERM=xterm: %q", s.Process.Env)
	}
	caps := s.Process.Capabilities
	want := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	for name, set := range map[string][]string{"bounding": caps.Bounding, "effective": caps.Effective, "permitted": caps.Permitted} {
		if !slices.Equal(set, want) {
			t.Errorf("%s = %q, want %q", name, set, want)
		}
	}
	if len(caps.Inheritable) != 0 || len(caps.Ambient) != 0 {
		t.Errorf("inheritable/ambient must be empty: %q %q", caps.Inheritable, caps.Ambient)
	}
	if !reflect.DeepEqual(s.Process.Rlimits, []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}}) {
		t.Errorf("rlimits = %+v", s.Process.Rlimits)
	}
	if got := nsTypes(s); !slices.Equal(got, []string{"pid", "network", "ipc", "uts", "mount"}) {
		t.Errorf("namespaces = %q", got)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	if !slices.Equal(dests, []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}) {
		t.Errorf("mount destinations = %q", dests)
	}
	if !slices.Contains(mountAt(t, s, "/dev/pts").Options, "gid=5") {
		t.Errorf("devpts lacks gid=5")
	}
	if len(s.Linux.MaskedPaths) != 11 || !slices.Contains(s.Linux.MaskedPaths, "/sys/devices/virtual/powercap") {
		t.Errorf("maskedPaths = %q", s.Linux.MaskedPaths)
	}
	if !slices.Equal(s.Linux.ReadonlyPaths, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
		t.Errorf("readonlyPaths = %q", s.Linux.ReadonlyPaths)
	}
	if len(s.Linux.UIDMappings) != 0 || s.Linux.Resources == nil {
		t.Errorf("root default must have no mappings and a device deny rule")
	}
	// Each call returns an independent value.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	if Default(false).Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" {
		t.Errorf("Default shares state between calls")
	}
}

func TestDefaultRootless(t *testing.T) {
	s := baseSpec()
	rootlessify(s, 1234, 5678)
	if got := nsTypes(s); !slices.Equal(got, []string{"pid", "ipc", "uts", "mount", "user"}) {
		t.Errorf("namespaces = %q", got)
	}
	if !reflect.DeepEqual(s.Linux.UIDMappings, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1234, Size: 1}}) ||
		!reflect.DeepEqual(s.Linux.GIDMappings, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 5678, Size: 1}}) {
		t.Errorf("mappings = %+v %+v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	sys := mountAt(t, s, "/sys")
	if sys.Type != "none" || sys.Source != "/sys" ||
		!slices.Equal(sys.Options, []string{"rbind", "nosuid", "noexec", "nodev", "ro"}) {
		t.Errorf("/sys = %+v", sys)
	}
	if opts := mountAt(t, s, "/dev/pts").Options; slices.Contains(opts, "gid=5") ||
		!slices.Equal(opts, []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}) {
		t.Errorf("devpts options = %q", opts)
	}
	if s.Linux.Resources != nil {
		t.Errorf("rootless default keeps cgroup resources")
	}

	d := Default(true)
	if d.Linux.UIDMappings[0].HostID != uint32(os.Geteuid()) || d.Linux.GIDMappings[0].HostID != uint32(os.Getegid()) {
		t.Errorf("Default(true) mappings = %+v %+v", d.Linux.UIDMappings, d.Linux.GIDMappings)
	}
}

func TestDefaultRoundTripsThroughValidate(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		b := newBundle(t)
		if err := WriteDefault(b, rootless); err != nil {
			t.Fatalf("WriteDefault(%v) = %v", rootless, err)
		}
		s, err := Load(b)
		if err != nil {
			t.Fatalf("Load of default (rootless=%v) = %v", rootless, err)
		}
		if !reflect.DeepEqual(s, Default(rootless)) {
			t.Errorf("rootless=%v: loaded config differs from Default", rootless)
		}
	}
}

func TestWriteDefault(t *testing.T) {
	b := t.TempDir()
	if err := WriteDefault(b, false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b, "config.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' || data[1] != '\n' || data[2] != '\t' {
		t.Errorf("config is not indented and newline-terminated: %q...", data[:min(len(data), 20)])
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("written config does not parse: %v", err)
	}

	// A second write must refuse and leave the file untouched.
	if err := os.WriteFile(path, []byte("custom"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := "File " + path + " exists. Remove it first"
	if got := errString(WriteDefault(b, true)); got != want {
		t.Errorf("overwrite: got %q, want %q", got, want)
	}
	if data, _ := os.ReadFile(path); string(data) != "custom" {
		t.Errorf("existing config was modified: %q", data)
	}

	missing := filepath.Join(b, "nope")
	if got, want := errString(WriteDefault(missing, false)), "bundle "+missing+": no such file or directory"; got != want {
		t.Errorf("missing bundle: got %q, want %q", got, want)
	}
}

func nsTypes(s *specs.Spec) []string {
	var out []string
	for _, ns := range s.Linux.Namespaces {
		out = append(out, string(ns.Type))
	}
	return out
}

func mountAt(t *testing.T, s *specs.Spec, dest string) specs.Mount {
	t.Helper()
	for _, m := range s.Mounts {
		if m.Destination == dest {
			return m
		}
	}
	t.Fatalf("no mount at %s", dest)
	return specs.Mount{}
}

// TestDefaultMatchesRuncSpec compares the whole default config with what
// `runc spec` of runc 1.5.3 writes (testdata/runc-1.5.3-spec.json, its
// output as is). The only differences are deliberate: the hostname names
// the runtime, and nook also masks /sys/devices/virtual/powercap (RAPL
// energy counters leak what other processes compute, CVE-2020-8694).
func TestDefaultMatchesRuncSpec(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "runc-1.5.3-spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var runc specs.Spec
	if err := json.Unmarshal(data, &runc); err != nil {
		t.Fatalf("runc's config: %v", err)
	}
	runc.Hostname = "nook"
	runc.Linux.MaskedPaths = append(runc.Linux.MaskedPaths, "/sys/devices/virtual/powercap")
	want, err := json.MarshalIndent(&runc, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(Default(false), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("nook's default config differs from runc's beyond the hostname and the powercap mask:\nnook:\n%s\nrunc (adjusted):\n%s", got, want)
	}
}

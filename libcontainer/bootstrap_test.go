package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/spec"
)

// bootstrapSpec has every field stage 0 is told of, and others it is not.
func bootstrapSpec() *specs.Spec {
	return &specs.Spec{
		Version:  "1.3.0",
		Root:     &specs.Root{Path: "rootfs"},
		Hostname: "h",
		Process: &specs.Process{
			Args: []string{"true"}, Cwd: "/",
			ExecCPUAffinity: &specs.CPUAffinity{Initial: "0"},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.TimeNamespace}, {Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"},
			},
			TimeOffsets: map[string]specs.LinuxTimeOffset{"boottime": {Secs: 3}, "monotonic": {Secs: -2, Nanosecs: 5}},
			Sysctl:      map[string]string{"kernel.domainname": "d"},
		},
	}
}

// The early view create sends stage 0 (spec.Config.BootstrapView) must
// tell it exactly what the whole config does: for a config that may get
// the C init too (an InitMode announced), and one with a terminal.
func TestBootstrapViewAgreesWithWholeConfig(t *testing.T) {
	cInit := bootstrapSpec()
	cInit.Process.ExecCPUAffinity = nil
	terminal := bootstrapSpec()
	terminal.Process.ExecCPUAffinity, terminal.Process.Terminal = nil, true
	for name, s := range map[string]*specs.Spec{"affinity": bootstrapSpec(), "C init": cInit, "terminal": terminal} {
		b := t.TempDir()
		if err := os.Mkdir(filepath.Join(b, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := spec.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		view, ok := c.BootstrapView()
		if !ok {
			t.Fatalf("%s: BootstrapView refused the config", name)
		}
		full, err := c.Parse()
		if err != nil {
			t.Fatal(err)
		}
		p := &initProcess{bootstrapped: true}
		p.sentPayload, p.sentAffinity = bootstrapOf(view)
		if !p.bootstrappedFor(full) {
			t.Errorf("%s: the view's Bootstrap differs from the whole config's", name)
		}
	}
}

func TestBootstrappedForNoticesEveryDifference(t *testing.T) {
	sent := bootstrapSpec()
	p := &initProcess{bootstrapped: true}
	p.sentPayload, p.sentAffinity = bootstrapOf(sent)
	if !p.bootstrappedFor(bootstrapSpec()) {
		t.Fatal("bootstrappedFor refused the spec it was sent")
	}
	for name, mod := range map[string]func(*specs.Spec){
		"namespace added": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		},
		"namespace dropped": func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[1:] },
		"path changed":      func(s *specs.Spec) { s.Linux.Namespaces[4].Path = "/proc/2/ns/net" },
		"joined, not made":  func(s *specs.Spec) { s.Linux.Namespaces[0].Path = "/proc/1/ns/pid" },
		"offset changed":    func(s *specs.Spec) { s.Linux.TimeOffsets["boottime"] = specs.LinuxTimeOffset{Secs: 4} },
		"offsets dropped":   func(s *specs.Spec) { s.Linux.TimeOffsets = nil },
		"affinity changed":  func(s *specs.Spec) { s.Process.ExecCPUAffinity.Initial = "1" },
		"no process":        func(s *specs.Spec) { s.Process = nil },
		"no linux":          func(s *specs.Spec) { s.Linux = nil },
	} {
		s := bootstrapSpec()
		mod(s)
		if p.bootstrappedFor(s) {
			t.Errorf("%s: bootstrappedFor did not notice", name)
		}
	}
	if (&initProcess{}).bootstrappedFor(sent) {
		t.Error("bootstrappedFor is true before any Bootstrap was sent")
	}
}

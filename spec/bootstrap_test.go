package spec

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// readConfig writes data as a bundle's config.json and reads it back.
func readConfig(t *testing.T, data string) *Config {
	t.Helper()
	b := newBundle(t)
	writeConfig(t, b, []byte(data))
	c, err := Read(b)
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	return c
}

func TestBootstrapViewHasOnlyStage0Fields(t *testing.T) {
	b := newBundle(t)
	s := validSpec()
	s.Linux.Namespaces = append(s.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.TimeNamespace},
		specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/x"})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 7}}
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0"}
	oom := 250
	s.Process.OOMScoreAdj = &oom
	s.Process.Terminal = true
	writeSpec(t, b, s)
	c, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	view, ok := c.BootstrapView()
	if !ok {
		t.Fatal("BootstrapView refused a valid config")
	}
	want := &specs.Spec{
		Process: &specs.Process{ExecCPUAffinity: s.Process.ExecCPUAffinity, OOMScoreAdj: &oom, Terminal: true},
		Linux:   &specs.Linux{Namespaces: s.Linux.Namespaces, TimeOffsets: s.Linux.TimeOffsets},
	}
	if !reflect.DeepEqual(view, want) {
		t.Fatalf("BootstrapView:\n got  %+v %+v\n want %+v %+v", view.Process, view.Linux, want.Process, want.Linux)
	}
	// The same bytes give the whole config.
	full, err := c.Parse()
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if !reflect.DeepEqual(full.Linux.Namespaces, view.Linux.Namespaces) || full.Hostname != s.Hostname {
		t.Fatalf("Parse disagrees with the view: %+v", full.Linux.Namespaces)
	}
}

func TestBootstrapViewWithoutLinuxOrProcess(t *testing.T) {
	view, ok := readConfig(t, `{"ociVersion": "1.3.0"}`).BootstrapView()
	if !ok || view.Process != nil || view.Linux == nil || len(view.Linux.Namespaces) != 0 {
		t.Fatalf("BootstrapView = %+v, %v; want an empty linux and no process", view, ok)
	}
}

// Whatever the view cannot vouch for is left to Parse, which reports it in
// its usual order; what the view ignores, Parse still refuses.
func TestBootstrapViewRefusals(t *testing.T) {
	for name, data := range map[string]string{
		"not JSON":             `{"linux": {"namespaces": [{"type": "pid"}]`,
		"trailing data":        `{"linux": {}} {}`,
		"linux not an object":  `{"linux": "pid"}`,
		"namespaces wrong":     `{"linux": {"namespaces": {"type": "pid"}}}`,
		"unknown namespace":    `{"linux": {"namespaces": [{"type": "nosuch"}]}}`,
		"duplicate namespace":  `{"linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}}`,
		"relative path":        `{"linux": {"namespaces": [{"type": "net", "path": "netns"}]}}`,
		"offsets without time": `{"linux": {"namespaces": [{"type": "pid"}], "timeOffsets": {"monotonic": {"secs": 1}}}}`,
		"affinity wrong type":  `{"process": {"execCPUAffinity": 0}}`,
		"oom score too low":    `{"process": {"oomScoreAdj": -1001}}`,
		"oom score not int":    `{"process": {"oomScoreAdj": "5"}}`,
	} {
		if view, ok := readConfig(t, data).BootstrapView(); ok {
			t.Errorf("%s: BootstrapView accepted %s: %+v", name, data, view.Linux)
		}
	}
	c := readConfig(t, `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "process": {"args": 5}, "linux": {"namespaces": [{"type": "pid"}]}}`)
	if _, ok := c.BootstrapView(); !ok {
		t.Error("BootstrapView refused a config whose only mistake is outside its fields")
	}
	if _, err := c.Parse(); err == nil {
		t.Error("Parse accepted process.args = 5")
	}
}

package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newBundle makes a bundle directory with an empty rootfs directory.
func newBundle(t *testing.T) string {
	t.Helper()
	b := t.TempDir()
	if err := os.Mkdir(filepath.Join(b, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeConfig writes raw bytes as the bundle's config.json.
func writeConfig(t *testing.T, bundle string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSpec marshals s into the bundle's config.json.
func writeSpec(t *testing.T, bundle string, s *specs.Spec) {
	t.Helper()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, bundle, data)
}

// validSpec is a small config that passes Validate with a bundle from
// newBundle; tests break one thing at a time.
func validSpec() *specs.Spec {
	return &specs.Spec{
		Version: "1.3.0",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"sh"},
			Env:  []string{"PATH=/bin", "EMPTY="},
			Cwd:  "/",
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024},
			},
		},
		Hostname: "box",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
		},
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

package libcontainer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/fastcmd"
	"github.com/nookrt/nook/spec"
)

// fastcmd/early.c reads config.json's namespaces itself and sends stage 0
// its Bootstrap before the Go runtime starts. Where it sends one, it must
// be byte for byte what bootstrapOf makes of the whole config (else Create
// starts over, a slower create); where it cannot be sure, it must send
// none.
func TestEarlyBootstrapIsBootstrapOf(t *testing.T) {
	const ns = `"namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "ipc"},
		{"type": "uts", "path": ""}, {"type": "mount"}, {"type": "cgroup", "path": null}]`
	sends := map[string]string{
		"namespaces": `{"ociVersion": "1.2.0", "process": {"args": ["true"], "cwd": "/"}, "root": {"path": "rootfs"},
			"linux": {` + ns + `}}`,
		"oomScoreAdj and a terminal": `{"process": {"terminal": true, "oomScoreAdj": -999, "args": ["sh"], "cwd": "/"},
			"root": {"path": "rootfs"}, "linux": {` + ns + `}}`,
		"no mount namespace": `{"process": {"args": ["true"], "cwd": "/"}, "root": {"path": "rootfs"},
			"linux": {"namespaces": [{"type": "pid"}]}}`,
		"no process": `{"root": {"path": "rootfs"}, "linux": {"namespaces": [{"type": "mount"}]}}`,
		"null process and empty offsets": `{"process": null, "root": {"path": "rootfs"},
			"linux": {"timeOffsets": {}, "namespaces": [{"type": "mount"}]}}`,
		"no linux": `{"process": {"args": ["true"], "cwd": "/", "oomScoreAdj": 0}, "root": {"path": "rootfs"}}`,
		"escapes and nesting elsewhere": `{"x-extension": {"n": -1.5e3, "t": true, "f": false}, "root": {"path": "rootfs"}, "annotations": {"a\"b": "c\\d\u00e9", "x": "[{]}"}, "process": {"args": ["sh", "-c", "echo \"[\""],
			"cwd": "/", "env": ["A=1"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
			"linux": {"resources": {"cpu": {"shares": 1024}}, "namespaces": [{"type": "mount", "future": [1, {"x": null}]}]}}`,
	}
	declines := map[string]string{
		"user namespace":   `{"process": {"args": ["true"], "cwd": "/"}, "linux": {"namespaces": [{"type": "user"}, {"type": "mount"}]}}`,
		"unknown type":     `{"linux": {"namespaces": [{"type": "nosuch"}]}}`,
		"time offsets":     `{"linux": {"timeOffsets": {"monotonic": {"secs": 1}}, "namespaces": [{"type": "time"}]}}`,
		"exec affinity":    `{"process": {"execCPUAffinity": {"initial": "0"}}, "linux": {"namespaces": [{"type": "mount"}]}}`,
		"escaped path":     `{"linux": {"namespaces": [{"type": "network", "path": "/proc/1/ns/n\u0065t"}]}}`,
		"fractional oom":   `{"process": {"oomScoreAdj": 1.5}, "linux": {}}`,
		"truncated":        `{"process": {"args": ["true"]}, "linux": {"namespaces": [{"type": "mount"}]`,
		"trailing garbage": `{"linux": {}} x`,
		"not an object":    `[{"linux": {}}]`,
		"empty":            ``,
		// What encoding/json reads and early.c does not follow.
		"a repeated process": `{"process": {"terminal": true}, "process": {"args": ["true"]}, "linux": {"namespaces": [{"type": "mount"}]}}`,
		"a repeated type":    `{"linux": {"namespaces": [{"type": "mount", "type": "pid"}]}}`,
		"a key in capitals":  `{"Linux": {"namespaces": [{"type": "mount"}]}}`,
		"an escaped key":     `{"linu\u0078": {"namespaces": [{"type": "mount"}]}}`,
	}
	for name, config := range sends {
		got, ok := fastcmd.EarlyBootstrap([]byte(config))
		if !ok {
			t.Errorf("%s: early.c declined", name)
			continue
		}
		if !strings.Contains(config, "ociVersion") {
			config = `{"ociVersion": "1.2.0", ` + config[1:]
		}
		s, err := parseConfig(t, config)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, affinity := bootstrapOf(s)
		if !bytes.Equal(got, want) || affinity != "" {
			t.Errorf("%s: early.c sends\n%q\nbootstrapOf makes\n%q (affinity %q)", name, got, want, affinity)
		}
	}
	for name, config := range declines {
		if got, ok := fastcmd.EarlyBootstrap([]byte(config)); ok {
			t.Errorf("%s: early.c sends %q, want a decline", name, got)
		}
	}
}

// parseConfig decodes config as create does (spec.Read, Config.Parse).
func parseConfig(t *testing.T, config string) (*specs.Spec, error) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		return nil, err
	}
	c, err := spec.Read(dir)
	if err != nil {
		return nil, err
	}
	return c.Parse()
}

package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyFindings walks config and returns its findings and field positions.
func keyFindings(t *testing.T, config string) *checker {
	t.Helper()
	c := &checker{data: []byte(config), pos: map[string]int64{}}
	c.walkKeys()
	for i := range c.findings {
		c.locate(&c.findings[i])
	}
	return c
}

func TestUnknownKeys(t *testing.T) {
	config := `{
  "ociVersion": "1.3.0",
  "process": {"cwd": "/", "args": ["sh"], "no_new_privileges": true, "Terminal": false},
  "linux": {
    "resources": {
      "memroy": {"limit": 5},
      "cpu": {"shares": 2}
    },
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "namespaces": [{"type": "pid", "pth": ""}]
  },
  "org.example.tool": {"anything": 1},
  "hostname": "a",
  "hostname": "b"
}`
	c := keyFindings(t, config)
	want := []struct {
		kind, severity, field, msg string
		line, col                  int
	}{
		{"config.unknown-field", Error, "process.no_new_privileges", `did you mean "noNewPrivileges"?`, 3, 43},
		{"config.key-case", Warning, "process.Terminal", `should be spelled "terminal"`, 3, 70},
		{"config.unknown-field", Error, "linux.resources.memroy", `unknown field; did you mean "memory"?`, 6, 7},
		{"config.unknown-field", Error, "linux.namespaces[0].pth", `did you mean "path"?`, 10, 36},
		{"config.unknown-field", Warning, `["org.example.tool"]`, `has no "org.example.tool" at the top level`, 12, 3},
		{"config.duplicate-key", Warning, "hostname", "more than once", 14, 3},
	}
	if len(c.findings) != len(want) {
		t.Errorf("got %d findings, want %d: %+v", len(c.findings), len(want), c.findings)
	}
	for i, w := range want {
		if i >= len(c.findings) {
			break
		}
		f := c.findings[i]
		if f.Kind != w.kind || f.Severity != w.severity || f.Field != w.field || !strings.Contains(f.Message, w.msg) || f.Line != w.line || f.Column != w.col {
			t.Errorf("finding %d: got %+v, want %+v", i, f, w)
		}
	}
	// Map keys are fields too, and nothing is reported inside them.
	if _, ok := c.pos[`linux.sysctl["net.ipv4.ip_forward"]`]; !ok {
		t.Errorf("no position for the sysctl key: %v", c.pos)
	}
}

func TestWalkStopsAtSyntaxError(t *testing.T) {
	c := keyFindings(t, `{"process": {"cwd": , "memroy": 1}}`)
	if len(c.findings) != 0 {
		t.Errorf("findings past a syntax error: %+v", c.findings)
	}
}

func TestSuggest(t *testing.T) {
	fields := jsonFields(specType())
	for key, want := range map[string]string{
		"hostnme":    "hostname",
		"ociversion": "ociVersion", // case only (reported as key-case by the walker)
		"mount":      "mounts",
		"lunix":      "linux",
		"xyz":        "",
		"processes":  "process",
		"annotation": "annotations",
		"zzzzzzzzzz": "",
	} {
		if got := suggest(key, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
	if d := distance("memroy", "memory"); d != 1 {
		t.Errorf("a swap of two letters costs %d, want 1", d)
	}
}

func TestFieldOf(t *testing.T) {
	for msg, want := range map[string]string{
		"linux.resources.memory.limit: -2 is not valid":                 "linux.resources.memory.limit",
		`process.rlimits[0].type "X": unknown rlimit`:                   "process.rlimits[0].type",
		"mounts[3]: uidMappings and gidMappings":                        "mounts[3]",
		"cgroups: container id":                                         "",
		"--console-socket was given":                                    "",
		"linux.sysctl: \"x\" is not in a separate namespace":            "linux.sysctl",
		`linux.resources.unified["memory.high"]: the memory controller`: `linux.resources.unified["memory.high"]`,
	} {
		if got := fieldOf(msg); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", msg, got, want)
		}
	}
	if p := parentPath("linux.resources.memory.limit"); p != "linux.resources.memory" {
		t.Errorf("parentPath: %q", p)
	}
	if p := parentPath("mounts[3]"); p != "mounts" {
		t.Errorf("parentPath: %q", p)
	}
}

// TestBundleUnreadable: a missing bundle is one finding, not a panic.
func TestBundleUnreadable(t *testing.T) {
	rep := Bundle(filepath.Join(t.TempDir(), "none"), Options{})
	if !rep.Failed() || len(rep.Findings) != 1 || rep.Findings[0].Kind != "config.unreadable" {
		t.Errorf("got %+v", rep.Findings)
	}
}

// TestBundleTypeError: a wrongly typed value names its field.
func TestBundleTypeError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"process": {"args": "sh"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := Bundle(dir, Options{})
	if len(rep.Findings) != 1 || rep.Findings[0].Field != "process.args" || rep.Findings[0].Line != 1 ||
		!strings.Contains(rep.Findings[0].Message, "cannot use JSON string") {
		t.Errorf("got %+v", rep.Findings)
	}
}

// TestBundleSyntax: a config that does not decode gets the decoder's
// position and nothing else.
func TestBundleSyntax(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {,}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := Bundle(dir, Options{})
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != "config.syntax" || rep.Findings[0].Line != 3 || rep.Findings[0].Column != 15 ||
		!strings.Contains(rep.Findings[0].Message, "invalid character ','") {
		t.Errorf("got %+v", rep.Findings)
	}
}

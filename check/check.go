// Package check reads a bundle and reports every problem it can find
// before anything is created (`nook check`): in config.json (unknown or
// misspelled keys, invalid values, contradictions), on this host (cgroup
// controllers, namespaces, seccomp, sysctls, devices, idmapped mounts,
// rootless limits) and in the rootfs (what executing process.args[0]
// would run into, the cwd, the user).
//
// Each check is small and independent: a problem found by one does not
// hide the others, except that nothing can be checked in a config that
// cannot be decoded.
package check

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/spec"
)

// Severities. An error is something that makes create, start or the
// process fail (or silently not do what the config asks); a warning is
// worth a look but need not fail.
const (
	Error   = "error"
	Warning = "warning"
)

// Finding is one problem.
type Finding struct {
	// Kind is stable ("config.unknown-field", "rootfs.wrong-arch", ...):
	// scripts match on it.
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Field is the config.json path of the field concerned
	// ("linux.resources.memory.limit", "mounts[2].options"), if any;
	// Line and Column (1-based) are where it is in config.json.
	Field  string `json:"field,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Message says what is wrong, Hint what to do (one sentence each).
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// Options are the command line choices that change what create does.
type Options struct {
	// SystemdCgroup: --systemd-cgroup (cgroupsPath is slice:prefix:name).
	SystemdCgroup bool
}

// Report is the outcome of checking a bundle.
type Report struct {
	// Config is the path of the config.json read.
	Config   string
	Findings []Finding
}

// Failed says whether any finding is an error.
func (r *Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// checker carries one bundle's check.
type checker struct {
	bundle string
	opts   Options
	data   []byte
	// pos maps a field path to the offset of its key in data.
	pos      map[string]int64
	spec     *specs.Spec
	rootfs   string // "" when root.path does not resolve
	findings []Finding
}

// Bundle checks the bundle in directory bundle.
func Bundle(bundle string, o Options) *Report {
	c := &checker{bundle: bundle, opts: o, pos: map[string]int64{}}
	if abs, err := filepath.Abs(bundle); err == nil {
		c.bundle = abs
	}
	rep := &Report{Config: filepath.Join(c.bundle, "config.json")}
	if c.checkConfig() {
		c.checkHost()
		c.checkRootfs()
	}
	for i := range c.findings {
		c.locate(&c.findings[i])
	}
	rep.Findings = c.findings
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	return rep
}

func (c *checker) add(f Finding) { c.findings = append(c.findings, f) }

// addErr adds err as a finding of kind, its field taken from the start of
// the message when it names one (every config error of nook's does).
func (c *checker) addErr(kind, severity string, err error, hint string) {
	msg := err.Error()
	field := fieldOf(msg)
	if field != "" {
		msg = strings.TrimLeft(strings.TrimPrefix(msg, field), ": ")
	}
	c.add(Finding{Kind: kind, Severity: severity, Field: field, Message: msg, Hint: hint})
}

// fieldOf is the config.json path an error message starts with, if its
// first component is a top-level key of the spec.
func fieldOf(msg string) string {
	n := pathLen(msg)
	if n == 0 || n < len(msg) && msg[n] != ':' && msg[n] != ' ' {
		return ""
	}
	p := msg[:n]
	top := p[:identLen(p)]
	if _, ok := jsonFields(specType())[top]; !ok {
		return ""
	}
	return p
}

// pathLen is the length of the field path s starts with: names joined by
// dots, each followed by any [N] indices or ["key"] map keys.
func pathLen(s string) int {
	end := 0
	for i := 0; ; i++ {
		n := identLen(s[i:])
		if n == 0 {
			return end
		}
		i += n
		for i < len(s) && s[i] == '[' {
			k := subscriptLen(s[i:])
			if k == 0 {
				break
			}
			i += k
		}
		end = i
		if i >= len(s) || s[i] != '.' {
			return end
		}
	}
}

// identLen is the length of the name s starts with (a letter, then
// letters and digits).
func identLen(s string) int {
	i := 0
	for i < len(s) && (isLetter(s[i]) || i > 0 && s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return i
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// subscriptLen is the length of the [N] or ["key"] s starts with, or 0.
func subscriptLen(s string) int {
	if strings.HasPrefix(s, `["`) {
		if j := strings.Index(s[2:], `"]`); j >= 0 {
			return j + 4
		}
		return 0
	}
	i := 1
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 1 || i >= len(s) || s[i] != ']' {
		return 0
	}
	return i + 1
}

// locate sets f's line and column: where its field is in config.json, or
// the closest enclosing field that is there.
func (c *checker) locate(f *Finding) {
	if f.Line > 0 {
		return // the decoder said where
	}
	for p := f.Field; p != ""; p = parentPath(p) {
		if off, ok := c.pos[p]; ok {
			f.Line, f.Column = spec.LineCol(c.data, off)
			return
		}
	}
}

// parentPath drops the last component of a field path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

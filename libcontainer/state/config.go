package state

import (
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is the container's config.json as create saw it. It is stored as
// JSON and decoded on demand: the lifecycle commands (start, kill, delete)
// need only its hooks and namespaces (View), and decoding a whole
// specs.Spec costs a fresh process ~2 ms of encoding/json reflection, most
// of what `nook state` would otherwise spend after start-up.
type Config struct {
	raw  json.RawMessage
	spec *specs.Spec
}

// NewConfig wraps a decoded spec (create has one).
func NewConfig(s *specs.Spec) *Config { return &Config{spec: s} }

// MarshalJSON writes the spec (as changed by Spec's callers, e.g. update),
// or the stored JSON untouched when nobody decoded it.
func (c *Config) MarshalJSON() ([]byte, error) {
	if c.spec != nil {
		return json.Marshal(c.spec)
	}
	if c.raw == nil {
		return []byte("null"), nil
	}
	return c.raw, nil
}

// UnmarshalJSON keeps the JSON for later.
func (c *Config) UnmarshalJSON(b []byte) error {
	c.raw = append(json.RawMessage(nil), b...)
	c.spec = nil
	return nil
}

// Spec decodes the whole config once; changes to it are saved with the
// record.
func (c *Config) Spec() (*specs.Spec, error) {
	if c.spec == nil {
		var s specs.Spec
		if err := json.Unmarshal(c.raw, &s); err != nil {
			return nil, fmt.Errorf("config in state.json: %w", err)
		}
		c.spec = &s
	}
	return c.spec, nil
}

// View is what the lifecycle commands read of the config.
type View struct {
	// HasProcess: the config has a process (start refuses one without).
	HasProcess bool
	Hooks      *specs.Hooks
	Namespaces []specs.LinuxNamespace
}

// HasNamespace says whether the container has a namespace of this type,
// new or joined.
func (v View) HasNamespace(t specs.LinuxNamespaceType) bool {
	for _, ns := range v.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// View decodes only the fields a View holds (from the spec if it is
// already decoded).
func (c *Config) View() (View, error) {
	if c.spec != nil {
		v := View{HasProcess: c.spec.Process != nil, Hooks: c.spec.Hooks}
		if c.spec.Linux != nil {
			v.Namespaces = c.spec.Linux.Namespaces
		}
		return v, nil
	}
	var part struct {
		Process json.RawMessage `json:"process"`
		Hooks   *specs.Hooks    `json:"hooks"`
		Linux   *struct {
			Namespaces []specs.LinuxNamespace `json:"namespaces"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(c.raw, &part); err != nil {
		return View{}, fmt.Errorf("config in state.json: %w", err)
	}
	v := View{
		HasProcess: len(part.Process) > 0 && string(part.Process) != "null",
		Hooks:      part.Hooks,
	}
	if part.Linux != nil {
		v.Namespaces = part.Linux.Namespaces
	}
	return v, nil
}

// Spec is the record's whole config, nil if it has none.
func (r *Record) Spec() (*specs.Spec, error) {
	if r.Config == nil {
		return nil, nil
	}
	return r.Config.Spec()
}

package caps

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Sets holds the five capability sets of a process.
type Sets struct {
	Bounding, Effective, Permitted, Inheritable, Ambient Set
}

// union is every capability named in any of the sets.
func (s Sets) union() Set {
	return s.Bounding | s.Effective | s.Permitted | s.Inheritable | s.Ambient
}

// without removes capability c from all five sets.
func (s Sets) without(c int) Sets {
	return Sets{
		Bounding:    s.Bounding.Without(c),
		Effective:   s.Effective.Without(c),
		Permitted:   s.Permitted.Without(c),
		Inheritable: s.Inheritable.Without(c),
		Ambient:     s.Ambient.Without(c),
	}
}

// FromSpec converts the capabilities of an OCI process into Sets. A nil c
// gives empty sets (the process keeps no capability).
//
// runtime-spec v1.3 says capabilities that cannot be mapped to the kernel or
// cannot be granted MUST be logged as a warning and SHOULD NOT fail the
// container, so unknown names, and ambient capabilities the kernel would
// refuse to raise because they are missing from permitted or inheritable,
// are dropped and reported in the returned warnings, which the caller logs.
// The error is reserved for input that cannot be interpreted at all; no such
// input exists in v1.3, so today it is always nil.
func FromSpec(c *specs.LinuxCapabilities) (Sets, []string, error) {
	var s Sets
	if c == nil {
		return s, nil, nil
	}
	var warnings []string
	parse := func(field string, list []string) Set {
		var set Set
		for _, name := range list {
			n, ok := Parse(name)
			if !ok {
				warnings = append(warnings, fmt.Sprintf("process.capabilities.%s: unknown capability %q ignored", field, name))
				continue
			}
			set = set.With(n)
		}
		return set
	}
	s.Bounding = parse("bounding", c.Bounding)
	s.Effective = parse("effective", c.Effective)
	s.Permitted = parse("permitted", c.Permitted)
	s.Inheritable = parse("inheritable", c.Inheritable)
	s.Ambient = parse("ambient", c.Ambient)

	// PR_CAP_AMBIENT_RAISE fails with EPERM unless the capability is both
	// permitted and inheritable; catching it here turns a failed container
	// into the warning the spec asks for.
	for _, n := range s.Ambient.Caps() {
		if !s.Permitted.Has(n) || !s.Inheritable.Has(n) {
			warnings = append(warnings, fmt.Sprintf("process.capabilities.ambient: %s is not in both the permitted and inheritable sets, so it cannot be raised; ignoring it", Name(n)))
			s.Ambient = s.Ambient.Without(n)
		}
	}
	return s, warnings, nil
}

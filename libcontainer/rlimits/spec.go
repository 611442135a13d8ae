package rlimits

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Rlimit is one resource limit to set. Soft and Hard use the kernel's
// encoding: unix.RLIM_INFINITY (all ones) means unlimited.
type Rlimit struct {
	Resource   int
	Name       string
	Soft, Hard uint64
}

// FromSpec validates process.rlimits and converts it. Unlike capabilities,
// runtime-spec v1.3 makes every problem here an error: a type with no kernel
// resource, and a type given twice. A soft limit above the hard one is
// rejected too, since setrlimit(2) would refuse it later with a bare EINVAL
// from deep inside the init.
func FromSpec(in []specs.POSIXRlimit) ([]Rlimit, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]Rlimit, 0, len(in))
	first := map[int]int{} // resource -> index of its first entry
	for i, l := range in {
		res, err := Parse(l.Type)
		if err != nil {
			return nil, fmt.Errorf("process.rlimits[%d].type: %w", i, err)
		}
		if j, dup := first[res]; dup {
			return nil, fmt.Errorf("process.rlimits[%d].type: duplicate rlimit %q (also process.rlimits[%d])", i, l.Type, j)
		}
		first[res] = i
		if l.Soft > l.Hard {
			return nil, fmt.Errorf("process.rlimits[%d]: %s soft limit %s exceeds hard limit %s", i, l.Type, format(l.Soft), format(l.Hard))
		}
		out = append(out, Rlimit{Resource: res, Name: l.Type, Soft: l.Soft, Hard: l.Hard})
	}
	return out, nil
}

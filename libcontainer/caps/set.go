package caps

import "strings"

// Set is a capability set as a bitmask: bit n is capability n. The kernel's
// own representation (capset v3) is two 32-bit words, so 64 bits hold every
// capability the ABI can express.
type Set uint64

// maxCap is the highest capability number a Set can hold.
const maxCap = 63

// Has reports whether capability c is in s.
func (s Set) Has(c int) bool {
	return c >= 0 && c <= maxCap && s&(1<<uint(c)) != 0
}

// With returns s plus capability c; numbers a Set cannot hold are ignored.
func (s Set) With(c int) Set {
	if c < 0 || c > maxCap {
		return s
	}
	return s | 1<<uint(c)
}

// Without returns s minus capability c.
func (s Set) Without(c int) Set {
	if c < 0 || c > maxCap {
		return s
	}
	return s &^ (1 << uint(c))
}

// Caps lists the capability numbers in s, lowest first.
func (s Set) Caps() []int {
	var out []int
	for c := 0; c <= maxCap; c++ {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// String lists the names in s, comma-separated, for logs and test failures.
func (s Set) String() string {
	caps := s.Caps()
	parts := make([]string, len(caps))
	for i, c := range caps {
		parts[i] = Name(c)
	}
	return strings.Join(parts, ",")
}

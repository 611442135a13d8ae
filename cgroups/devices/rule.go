package devices

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Access bits, with the kernel's values: cgroup v1 (ACC_MKNOD/READ/WRITE)
// and BPF_PROG_TYPE_CGROUP_DEVICE (BPF_DEVCG_ACC_*) use the same ones.
const (
	accMknod uint8 = 1
	accRead  uint8 = 2
	accWrite uint8 = 4
	accAll         = accMknod | accRead | accWrite
)

// wildcard is the major or minor of a rule that matches every number.
const wildcard = -1

// maxDeviceNumber is the largest major or minor a rule may name: cgroup v1
// parses them as u32 and reads ~0 as "*", so ~0 itself cannot name one
// device (real majors have 12 bits and minors 20; larger numbers are
// accepted but match nothing).
const maxDeviceNumber = math.MaxUint32 - 1

// span is the set of devices a rule covers: typ is 'a' (char and block), 'c'
// or 'b'; major and minor are a number or wildcard.
type span struct {
	typ          byte
	major, minor int64
}

// rule is a validated linux.resources.devices entry.
type rule struct {
	span
	allow  bool
	access uint8
}

// contains reports whether every device of o is in s.
func (s span) contains(o span) bool {
	return (s.typ == 'a' || s.typ == o.typ) &&
		(s.major == wildcard || s.major == o.major) &&
		(s.minor == wildcard || s.minor == o.minor)
}

// overlaps reports whether some device is in both s and o.
func (s span) overlaps(o span) bool {
	return (s.typ == 'a' || o.typ == 'a' || s.typ == o.typ) &&
		(s.major == wildcard || o.major == wildcard || s.major == o.major) &&
		(s.minor == wildcard || o.minor == wildcard || s.minor == o.minor)
}

// matches reports whether the device typ ('c' or 'b') major:minor is in s.
func (s span) matches(typ byte, major, minor uint32) bool {
	return (s.typ == 'a' || s.typ == typ) &&
		(s.major == wildcard || s.major == int64(major)) &&
		(s.minor == wildcard || s.minor == int64(minor))
}

// everything reports whether s covers every device.
func (s span) everything() bool {
	return s.typ == 'a' && s.major == wildcard && s.minor == wildcard
}

// String is the span in devices.list syntax: "c 1:*".
func (s span) String() string {
	return string(s.typ) + " " + number(s.major) + ":" + number(s.minor)
}

func number(n int64) string {
	if n == wildcard {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// accessString renders access bits in the kernel's order, "rwm".
func accessString(access uint8) string {
	var b strings.Builder
	if access&accRead != 0 {
		b.WriteByte('r')
	}
	if access&accWrite != 0 {
		b.WriteByte('w')
	}
	if access&accMknod != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

// String is the rule as a human reads it in an error: "deny c 1:3 rwm".
func (r rule) String() string {
	verb := "deny "
	if r.allow {
		verb = "allow "
	}
	return verb + r.span.String() + " " + accessString(r.access)
}

// parseAccess turns "rwm" letters into access bits; an empty string means
// all three, as an unset type means all types.
func parseAccess(s string) (uint8, error) {
	if s == "" {
		return accAll, nil
	}
	var access uint8
	for _, c := range s {
		switch c {
		case 'r':
			access |= accRead
		case 'w':
			access |= accWrite
		case 'm':
			access |= accMknod
		default:
			return 0, fmt.Errorf("%q has %q: only r, w and m are allowed", s, c)
		}
	}
	return access, nil
}

func parseNumber(n *int64) (int64, error) {
	if n == nil || *n == wildcard {
		return wildcard, nil
	}
	if *n < 0 || *n > maxDeviceNumber {
		return 0, fmt.Errorf("%d is out of range (-1 for any, or 0 to %d)", *n, int64(maxDeviceNumber))
	}
	return *n, nil
}

// parseRule validates one entry; the error names the field but not the
// index, which the caller adds.
func parseRule(d specs.LinuxDeviceCgroup) (rule, error) {
	r := rule{allow: d.Allow, span: span{typ: 'a'}}
	switch d.Type {
	case "", "a":
	case "c", "b":
		r.typ = d.Type[0]
	default:
		return rule{}, fmt.Errorf("type: %q is not one of a, c, b", d.Type)
	}
	var err error
	if r.major, err = parseNumber(d.Major); err != nil {
		return rule{}, fmt.Errorf("major: %w", err)
	}
	if r.minor, err = parseNumber(d.Minor); err != nil {
		return rule{}, fmt.Errorf("minor: %w", err)
	}
	if r.access, err = parseAccess(d.Access); err != nil {
		return rule{}, fmt.Errorf("access: %w", err)
	}
	return r, nil
}

// parseRules validates every entry; errors name linux.resources.devices[i]
// (Rules puts the config's own entries first, so their indexes match).
func parseRules(rules []specs.LinuxDeviceCgroup) ([]rule, error) {
	out := make([]rule, len(rules))
	for i, d := range rules {
		r, err := parseRule(d)
		if err != nil {
			return nil, fmt.Errorf("linux.resources.devices[%d].%w", i, err)
		}
		out[i] = r
	}
	return out, nil
}

// Validate checks every rule (type a, c or b; access letters from rwm;
// major and minor unset, -1 or a device number) without touching the
// system, so a caller can reject a bad config before writing anything.
func Validate(rules []specs.LinuxDeviceCgroup) error {
	_, err := parseRules(rules)
	return err
}

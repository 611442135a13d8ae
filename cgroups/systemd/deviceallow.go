package systemd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups/devices"
)

// deviceAllowEntry is one element of systemd's DeviceAllow property, D-Bus
// type a(ss): a device specifier and its "rwm" permissions.
type deviceAllowEntry struct {
	Path  string
	Perms string
}

// deviceSpan is a set of devices: typ 'c' or 'b', major and minor a number
// or -1 for any.
type deviceSpan struct {
	typ          byte
	major, minor int64
}

func (s deviceSpan) String() string {
	return fmt.Sprintf("%c %s:%s", s.typ, star(s.major), star(s.minor))
}

// deviceRule is a validated rule; typ 'a' covers char and block devices.
type deviceRule struct {
	allow        bool
	typ          byte
	major, minor int64
	access       string // in "rwm" order
}

// covers reports whether every device of s is matched by r.
func (r deviceRule) covers(s deviceSpan) bool {
	return (r.typ == 'a' || r.typ == s.typ) &&
		(r.major < 0 || r.major == s.major) &&
		(r.minor < 0 || r.minor == s.minor)
}

// meets reports whether some device of s is matched by r.
func (r deviceRule) meets(s deviceSpan) bool {
	return (r.typ == 'a' || r.typ == s.typ) &&
		(r.major < 0 || s.major < 0 || r.major == s.major) &&
		(r.minor < 0 || s.minor < 0 || r.minor == s.minor)
}

// parseDeviceRules validates the rules the way the devices package does
// (the errors name linux.resources.devices[i]) and normalizes them.
func parseDeviceRules(rules []specs.LinuxDeviceCgroup) ([]deviceRule, error) {
	if err := devices.Validate(rules); err != nil {
		return nil, err
	}
	out := make([]deviceRule, 0, len(rules))
	for _, r := range rules {
		access, err := normalizeAccess(r.Access)
		if err != nil { // Validate refused this already
			return nil, fmt.Errorf("linux.resources.devices: %w", err)
		}
		typ := byte('a')
		if r.Type != "" {
			typ = r.Type[0]
		}
		out = append(out, deviceRule{allow: r.Allow, typ: typ, major: wildcardOr(r.Major), minor: wildcardOr(r.Minor), access: access})
	}
	return out, nil
}

// grantedToAll returns the access bits that rules grant to every device of
// s, under the meaning the devices package enforces (SetV1, SetV2): rules
// start from "deny everything" and, for each bit, the last rule that
// matches a device and names that bit decides. It errs on the side of
// less: a later deny rule touching any device of s takes the bit away
// from all of s, because systemd cannot say "all but these". So what
// systemd is told never allows more than nook's own enforcement does.
func grantedToAll(rules []deviceRule, s deviceSpan) string {
	var out []byte
	for _, bit := range []byte("rwm") {
		for i := len(rules) - 1; i >= 0; i-- {
			r := rules[i]
			if strings.IndexByte(r.access, bit) < 0 || !r.meets(s) {
				continue
			}
			if !r.allow {
				break
			}
			if r.covers(s) {
				out = append(out, bit)
				break
			}
		}
	}
	return string(out)
}

// allowedSpans lists, in rule order, each span an allow rule names (an "a"
// rule gives a char and a block span) with the bits granted to all of it,
// leaving out spans granted nothing and spans an earlier listed span
// already grants at least as much.
func allowedSpans(rules []deviceRule) (spans []deviceSpan, access []string) {
	for _, r := range rules {
		if !r.allow {
			continue
		}
		types := []byte{r.typ}
		if r.typ == 'a' {
			types = []byte{'c', 'b'}
		}
		for _, typ := range types {
			s := deviceSpan{typ: typ, major: r.major, minor: r.minor}
			bits := grantedToAll(rules, s)
			if bits == "" || subsumed(spans, access, s, bits) {
				continue
			}
			spans = append(spans, s)
			access = append(access, bits)
		}
	}
	return spans, access
}

func subsumed(spans []deviceSpan, access []string, s deviceSpan, bits string) bool {
	for i, o := range spans {
		wide := deviceRule{typ: o.typ, major: o.major, minor: o.minor}
		if wide.covers(s) && removeAccess(bits, access[i]) == "" {
			return true
		}
	}
	return false
}

// deviceGroupFinder names the /proc/devices group of a (type, major) pair,
// "" when there is none; only systemd older than v240 needs it.
type deviceGroupFinder func(typ byte, major int64) (string, error)

// deviceProperties maps the container's device rules (devices.Rules) to
// DevicePolicy= and DeviceAllow=, as runc does, but under the rule meaning
// of nook's devices package (see grantedToAll):
//   - every bit granted to every char and block device: DevicePolicy=auto
//     with an empty DeviceAllow, i.e. no device filtering by systemd;
//   - otherwise DevicePolicy=strict and one DeviceAllow entry per allowed
//     span: "/dev/char/M:m" for one device, "char-M" for a whole major
//     (v240+; older systemd needs the /proc/devices group name), "char-*"
//     for every char device. A "*:m" span has no systemd form and is left
//     to the cgroupfs manager (and reported in skipped), as are bits that
//     a later deny rule takes from part of a span.
//
// The list starts with an empty DeviceAllow, which resets what the unit had
// when the properties are changed with SetUnitProperties.
func deviceProperties(rules []specs.LinuxDeviceCgroup, version int, findGroup deviceGroupFinder) (props []sddbus.Property, skipped []string, err error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return nil, nil, err
	}
	everything := func(typ byte) bool {
		return grantedToAll(parsed, deviceSpan{typ: typ, major: -1, minor: -1}) == "rwm"
	}
	if everything('c') && everything('b') {
		return []sddbus.Property{
			newProp("DevicePolicy", "auto"),
			newProp("DeviceAllow", []deviceAllowEntry{}),
		}, nil, nil
	}

	entries := []deviceAllowEntry{}
	spans, access := allowedSpans(parsed)
	for i, s := range spans {
		entry, ok, err := deviceAllowFor(s, version, findGroup)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			skipped = append(skipped, fmt.Sprintf("device rule %s %s (no systemd form; left to the cgroupfs manager)", s, access[i]))
			continue
		}
		entry.Perms = access[i]
		entries = append(entries, entry)
	}
	return []sddbus.Property{
		newProp("DevicePolicy", "strict"),
		newProp("DeviceAllow", []deviceAllowEntry{}),
		newProp("DeviceAllow", entries),
	}, skipped, nil
}

func deviceAllowFor(k deviceSpan, version int, findGroup deviceGroupFinder) (deviceAllowEntry, bool, error) {
	kind := "char"
	if k.typ == 'b' {
		kind = "block"
	}
	switch {
	case k.major < 0 && k.minor < 0:
		return deviceAllowEntry{Path: kind + "-*"}, true, nil
	case k.major < 0:
		return deviceAllowEntry{}, false, nil
	case k.minor < 0:
		// systemd v240 added "char-MAJOR"; before that only the
		// /proc/devices group name works. version 0 = unknown: assume
		// a current systemd.
		if version == 0 || version >= 240 {
			return deviceAllowEntry{Path: kind + "-" + strconv.FormatInt(k.major, 10)}, true, nil
		}
		if findGroup == nil {
			return deviceAllowEntry{}, false, nil
		}
		group, err := findGroup(k.typ, k.major)
		if err != nil {
			return deviceAllowEntry{}, false, fmt.Errorf("device group of %s %d: %w", kind, k.major, err)
		}
		if group == "" {
			return deviceAllowEntry{}, false, nil
		}
		return deviceAllowEntry{Path: kind + "-" + group}, true, nil
	}
	return deviceAllowEntry{Path: fmt.Sprintf("/dev/%s/%d:%d", kind, k.major, k.minor)}, true, nil
}

// procDeviceGroup looks the group name up in /proc/devices.
func procDeviceGroup(typ byte, major int64) (string, error) {
	f, err := os.Open("/proc/devices")
	if err != nil {
		return "", err
	}
	defer f.Close()
	return findDeviceGroup(f, typ, major)
}

// findDeviceGroup reads a /proc/devices listing: a "Character devices:"
// and a "Block devices:" section of "<major> <name>" lines.
func findDeviceGroup(r io.Reader, typ byte, major int64) (string, error) {
	var section byte
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "Character devices:":
			section = 'c'
			continue
		case "Block devices:":
			section = 'b'
			continue
		}
		if section != typ {
			continue
		}
		num, name, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(num, 10, 64); err == nil && n == major {
			return strings.TrimSpace(name), nil
		}
	}
	return "", sc.Err()
}

// normalizeAccess checks an OCI access string and returns it in "rwm"
// order without repeats. Empty means "rwm", as for the kernel's files.
func normalizeAccess(access string) (string, error) {
	if access == "" {
		return "rwm", nil
	}
	for i := 0; i < len(access); i++ {
		if !strings.ContainsRune("rwm", rune(access[i])) {
			return "", fmt.Errorf("access %q: only r, w and m are allowed", access)
		}
	}
	return mergeAccess("", access), nil
}

func mergeAccess(a, b string) string {
	var out []byte
	for _, c := range []byte("rwm") {
		if strings.IndexByte(a, c) >= 0 || strings.IndexByte(b, c) >= 0 {
			out = append(out, c)
		}
	}
	return string(out)
}

func removeAccess(have, remove string) string {
	var out []byte
	for _, c := range []byte(have) {
		if strings.IndexByte(remove, c) < 0 {
			out = append(out, c)
		}
	}
	return string(out)
}

func wildcardOr(n *int64) int64 {
	if n == nil || *n < 0 {
		return -1
	}
	return *n
}

func star(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

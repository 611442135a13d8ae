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
)

// deviceAllowEntry is one element of systemd's DeviceAllow property, D-Bus
// type a(ss): a device specifier and its "rwm" permissions.
type deviceAllowEntry struct {
	Path  string
	Perms string
}

// deviceKey identifies a device rule's target; -1 is a wildcard.
type deviceKey struct {
	typ          byte // 'c' or 'b'
	major, minor int64
}

// devicePolicy is the v1 device controller's state after a rule list, which
// is how the kernel (and runc) read OCI device rules: a default (allow or
// deny everything) and exceptions to it. An "a" rule resets both; any other
// rule either adds an exception (when it disagrees with the default) or
// takes access bits away from the exception with exactly the same type,
// major and minor (when it agrees), as the kernel's devices.allow/deny do.
type devicePolicy struct {
	allowByDefault bool
	exceptions     map[deviceKey]string
	order          []deviceKey // first-seen order, for a stable result
}

func newDevicePolicy(rules []specs.LinuxDeviceCgroup) (*devicePolicy, error) {
	p := &devicePolicy{exceptions: map[deviceKey]string{}}
	for _, r := range rules {
		if err := p.apply(r); err != nil {
			return nil, fmt.Errorf("linux.resources.devices: rule %s: %w", describeRule(r), err)
		}
	}
	return p, nil
}

func (p *devicePolicy) apply(r specs.LinuxDeviceCgroup) error {
	access, err := normalizeAccess(r.Access)
	if err != nil {
		return err
	}
	switch r.Type {
	case "", "a":
		// The kernel ignores numbers and access on "a" rules.
		p.allowByDefault = r.Allow
		p.exceptions = map[deviceKey]string{}
		p.order = nil
		return nil
	case "c", "b", "u":
	case "p":
		// A FIFO needs no device-controller permission.
		return nil
	default:
		return fmt.Errorf("type %q is none of a, b, c", r.Type)
	}
	typ := r.Type[0]
	if typ == 'u' { // OCI's unbuffered character device is a char device
		typ = 'c'
	}
	k := deviceKey{typ: typ, major: wildcardOr(r.Major), minor: wildcardOr(r.Minor)}
	if r.Allow == p.allowByDefault {
		left := removeAccess(p.exceptions[k], access)
		if left == "" {
			delete(p.exceptions, k)
		} else {
			p.exceptions[k] = left
		}
		return nil
	}
	if _, seen := p.exceptions[k]; !seen {
		p.order = append(p.order, k)
	}
	p.exceptions[k] = mergeAccess(p.exceptions[k], access)
	return nil
}

// allowed returns the whitelist's entries in first-seen order.
func (p *devicePolicy) allowed() []deviceKey {
	var keys []deviceKey
	for _, k := range p.order {
		if _, ok := p.exceptions[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// deviceGroupFinder names the /proc/devices group of a (type, major) pair,
// "" when there is none; only systemd older than v240 needs it.
type deviceGroupFinder func(typ byte, major int64) (string, error)

// deviceProperties maps the container's device rules to DevicePolicy= and
// DeviceAllow=, as runc does:
//   - the rules' result allows everything: DevicePolicy=auto with an empty
//     DeviceAllow, i.e. no device filtering by systemd;
//   - a deny list (allow by default, some denials): systemd has no way to
//     express it, so it is told to deny everything (strict, empty list) and
//     the cgroupfs manager enforces the real list;
//   - an allow list: DevicePolicy=strict and one DeviceAllow entry per
//     allowed device, "/dev/char/M:m" for one device, "char-M" for a whole
//     major (v240+; older systemd needs the /proc/devices group name),
//     "char-*" for every char device. A "*:m" rule has no systemd form and
//     is left to the cgroupfs manager (and logged).
//
// The list starts with an empty DeviceAllow, which resets what the unit had
// when the properties are changed with SetUnitProperties.
func deviceProperties(rules []specs.LinuxDeviceCgroup, version int, findGroup deviceGroupFinder) (props []sddbus.Property, skipped []string, err error) {
	policy, err := newDevicePolicy(rules)
	if err != nil {
		return nil, nil, err
	}
	if policy.allowByDefault {
		if len(policy.exceptions) == 0 {
			return []sddbus.Property{
				newProp("DevicePolicy", "auto"),
				newProp("DeviceAllow", []deviceAllowEntry{}),
			}, nil, nil
		}
		return []sddbus.Property{
			newProp("DevicePolicy", "strict"),
			newProp("DeviceAllow", []deviceAllowEntry{}),
		}, []string{"deny-list device rules (systemd only takes allow lists; systemd denies all devices, the cgroupfs manager applies the list)"}, nil
	}

	entries := []deviceAllowEntry{}
	for _, k := range policy.allowed() {
		entry, ok, err := deviceAllowFor(k, version, findGroup)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			skipped = append(skipped, fmt.Sprintf("device rule %s (no systemd form; left to the cgroupfs manager)", describeKey(k, policy.exceptions[k])))
			continue
		}
		entry.Perms = policy.exceptions[k]
		entries = append(entries, entry)
	}
	return []sddbus.Property{
		newProp("DevicePolicy", "strict"),
		newProp("DeviceAllow", []deviceAllowEntry{}),
		newProp("DeviceAllow", entries),
	}, skipped, nil
}

func deviceAllowFor(k deviceKey, version int, findGroup deviceGroupFinder) (deviceAllowEntry, bool, error) {
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

func describeRule(r specs.LinuxDeviceCgroup) string {
	verb := "deny"
	if r.Allow {
		verb = "allow"
	}
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	return fmt.Sprintf("%q", fmt.Sprintf("%s %s %s:%s %s", verb, typ, numOrStar(r.Major), numOrStar(r.Minor), r.Access))
}

func describeKey(k deviceKey, access string) string {
	star := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s %s", k.typ, star(k.major), star(k.minor), access)
}

func numOrStar(n *int64) string {
	if n == nil {
		return "*"
	}
	return strconv.FormatInt(*n, 10)
}

// Package devices turns OCI device cgroup rules into kernel policy: the v1
// devices.allow/devices.deny files, or a v2 BPF_PROG_TYPE_CGROUP_DEVICE
// program attached to the container's cgroup.
//
// Both enforce one meaning, the one Allowed computes: rules apply in order,
// starting from "deny everything", and for each access bit (r, w, m) the
// last rule that matches the device and names that bit decides.
package devices

import specs "github.com/opencontainers/runtime-spec/specs-go"

// defaultAllow is one device every container may use.
type defaultAllow struct {
	typ          string
	major, minor int64
	access       string
}

// defaultAllows is runc's implicit allow list, in its order (libcontainer/
// specconv AllowedDevices): config-linux.md's "Default Devices" plus what
// runc adds, since engines are written against runc's behaviour.
// /dev/console (5:1) is absent, as in runc: the spec makes the container's
// console a bind mount of its pty (136:N), so 5:1 would only open the
// host's console.
func defaultAllows() []defaultAllow {
	return []defaultAllow{
		// mknod of any node: creating one grants nothing, opening it is
		// still checked against its own rule (runc, docker).
		{"c", wildcard, wildcard, "m"},
		{"b", wildcard, wildcard, "m"},
		{"c", 1, 3, "rwm"},          // /dev/null
		{"c", 1, 8, "rwm"},          // /dev/random
		{"c", 1, 7, "rwm"},          // /dev/full
		{"c", 5, 0, "rwm"},          // /dev/tty
		{"c", 1, 5, "rwm"},          // /dev/zero
		{"c", 1, 9, "rwm"},          // /dev/urandom
		{"c", 136, wildcard, "rwm"}, // /dev/pts/*, and /dev/console bound from one
		{"c", 5, 2, "rwm"},          // /dev/ptmx
		// /dev/net/tun: runc dropped it in 1.2.0 and restored it in 1.2.4
		// because workloads rely on it.
		{"c", 10, 200, "rwm"},
	}
}

// Rules is the ordered rule list to enforce, as runc builds it:
// linux.resources.devices as written, then allow rules for the devices
// every container gets (defaultAllows). Later rules win over earlier ones.
//
// linux.devices gets no rule: a device the config creates is usable only if
// linux.resources.devices allows it (runc), so a config that denies
// everything keeps, say, a listed /dev/kmsg closed.
//
// An added rule that would change nothing (the list already grants it, e.g.
// engines that list the default devices themselves, or a privileged
// "allow a") is left out.
func Rules(resources []specs.LinuxDeviceCgroup) []specs.LinuxDeviceCgroup {
	out := make([]specs.LinuxDeviceCgroup, 0, len(resources)+len(defaultAllows()))
	out = append(out, resources...)
	for _, d := range defaultAllows() {
		out = appendAllow(out, d.typ, d.major, d.minor, d.access)
	}
	return out
}

func appendAllow(rules []specs.LinuxDeviceCgroup, typ string, major, minor int64, access string) []specs.LinuxDeviceCgroup {
	add := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: access}
	r, err := parseRule(add)
	if err != nil || alreadyAllowed(rules, r) {
		return rules
	}
	return append(rules, add)
}

// alreadyAllowed reports whether appending the allow rule r would change
// nothing: walking back, an allow rule covering all of r comes before any
// deny rule that could take part of r away.
func alreadyAllowed(rules []specs.LinuxDeviceCgroup, r rule) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		e, err := parseRule(rules[i])
		if err != nil {
			return false // Validate will reject the list; stay literal.
		}
		if !e.allow {
			if e.overlaps(r.span) && e.access&r.access != 0 {
				return false
			}
			continue
		}
		if e.contains(r.span) && r.access&^e.access == 0 {
			return true
		}
	}
	return false
}

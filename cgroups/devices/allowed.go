package devices

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Allowed reports whether rules let a process use the device typ ('c' or
// 'b') major:minor for access, letters from "rwm" ("rw" is an O_RDWR open).
// It is the meaning SetV1 and SetV2 enforce, in plain Go so tests can use it
// as the reference: each requested access bit is decided by the last rule
// that matches the device and names that bit, and a bit no rule decides is
// denied; the request is allowed only if every bit is. An empty access, an
// unknown letter or rules that fail Validate are denied.
func Allowed(rules []specs.LinuxDeviceCgroup, typ byte, major, minor uint32, access string) bool {
	if access == "" {
		return false
	}
	bits, err := parseAccess(access)
	if err != nil {
		return false
	}
	parsed, err := parseRules(rules)
	if err != nil {
		return false
	}
	return allowed(parsed, typ, major, minor, bits)
}

// allowed walks the rules from the last one, crossing off the requested
// bits each matching allow rule grants, until none is left (allowed) or a
// matching deny rule names one still pending (denied). The eBPF program
// built by buildProgram runs exactly this loop.
func allowed(rules []rule, typ byte, major, minor uint32, access uint8) bool {
	pending := access & accAll
	if pending == 0 {
		return false
	}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if !r.matches(typ, major, minor) {
			continue
		}
		if !r.allow {
			if pending&r.access != 0 {
				return false
			}
			continue
		}
		pending &^= r.access
		if pending == 0 {
			return true
		}
	}
	return false
}

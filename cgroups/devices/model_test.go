package devices

import (
	"fmt"
	"math/rand/v2"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file holds what the property tests share: a random rule generator
// over a small universe, and a model of the kernel's cgroup v1 devices
// controller (security/device_cgroup.c) to check v1 states and writes
// against the rules' meaning.

var (
	testMajors = []int64{wildcard, 1, 5}
	testMinors = []int64{wildcard, 3, 9}
	// Devices probed: numbers named by rules and one named by none.
	probeMajors = []uint32{1, 5, 7}
	probeMinors = []uint32{3, 9, 11}
)

func num(n int64) *int64 { return &n }

func randomSpecRule(r *rand.Rand) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{
		Allow:  r.IntN(2) == 0,
		Type:   []string{"a", "c", "b", ""}[r.IntN(4)],
		Access: []string{"r", "w", "m", "rw", "rm", "wm", "rwm", ""}[r.IntN(8)],
	}
	if m := testMajors[r.IntN(len(testMajors))]; m != wildcard || r.IntN(2) == 0 {
		d.Major = num(m)
	}
	if m := testMinors[r.IntN(len(testMinors))]; m != wildcard || r.IntN(2) == 0 {
		d.Minor = num(m)
	}
	return d
}

func randomSpecRules(r *rand.Rand, maxLen int) []specs.LinuxDeviceCgroup {
	out := make([]specs.LinuxDeviceCgroup, r.IntN(maxLen+1))
	for i := range out {
		out[i] = randomSpecRule(r)
	}
	// Often start from a reset, as real configs do.
	if len(out) > 0 && r.IntN(2) == 0 {
		out[0] = specs.LinuxDeviceCgroup{Allow: r.IntN(3) == 0, Access: "rwm"}
	}
	return out
}

// forEachProbe calls f for every device type, probe number and non-empty
// access of the universe.
func forEachProbe(f func(typ byte, major, minor uint32, access uint8)) {
	for _, typ := range []byte{'c', 'b'} {
		for _, major := range probeMajors {
			for _, minor := range probeMinors {
				// The requests the kernel can see: mknod ("m" alone) and
				// opens (r, w, or both); "m" never comes with r or w.
				for _, access := range []uint8{accMknod, accRead, accWrite, accRead | accWrite} {
					f(typ, major, minor, access)
				}
			}
		}
	}
}

// kernelAllows is devcgroup_legacy_check_permission: in deny mode one
// exception must hold every requested bit (match_exception); in allow mode
// any exception sharing a requested bit denies (match_exception_partial).
func kernelAllows(st v1State, typ byte, major, minor uint32, access uint8) bool {
	for s, acc := range st.exceptions {
		if !s.matches(typ, major, minor) {
			continue
		}
		if st.allowAll && acc&access != 0 {
			return false
		}
		if !st.allowAll && access&^acc == 0 {
			return true
		}
	}
	return st.allowAll
}

// kernelWrite applies one write to devices.allow or devices.deny as
// devcgroup_update_access does (leaving out the parent checks).
func kernelWrite(st *v1State, file, line string) error {
	line = strings.TrimSpace(line)
	if line == "" {
		return fmt.Errorf("empty write")
	}
	if line[0] == 'a' {
		*st = v1State{allowAll: file == "devices.allow", exceptions: map[span]uint8{}}
		return nil
	}
	parsed := parseV1List([]byte(line))
	if parsed == nil || len(parsed.exceptions) != 1 {
		return fmt.Errorf("kernel model: bad write %q", line)
	}
	for s, acc := range parsed.exceptions {
		addsException := (file == "devices.allow") != st.allowAll
		if addsException {
			st.exceptions[s] |= acc
			continue
		}
		if rest := st.exceptions[s] &^ acc; rest != 0 {
			st.exceptions[s] = rest
		} else {
			delete(st.exceptions, s)
		}
	}
	return nil
}

func cloneState(st v1State) v1State {
	c := v1State{allowAll: st.allowAll, exceptions: make(map[span]uint8, len(st.exceptions))}
	for k, v := range st.exceptions {
		c.exceptions[k] = v
	}
	return c
}

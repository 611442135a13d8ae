package devices

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// v1State is what a cgroup v1 devices cgroup holds: a default behaviour
// and a list of exceptions to it, keyed by exact span (type 'c' or 'b').
// With allowAll false the exceptions are what is allowed, otherwise what
// is denied. The kernel only ever removes access from the exception with
// the very same span, which is why rules cannot simply be replayed.
type v1State struct {
	allowAll   bool
	exceptions map[span]uint8
	// order is the order in which the rules first named each exception:
	// a fresh cgroup gets them written (and devices.list shows them) in
	// the config's order, as runtime-spec asks ("in the listed order").
	order []span
}

// v1Target computes the state whose meaning is exactly the rules', or
// explains which rule cgroup v1 cannot express.
func v1Target(rules []rule) (v1State, error) {
	st := v1State{exceptions: map[span]uint8{}}
	for i, r := range rules {
		if r.everything() && r.access == accAll {
			st = v1State{allowAll: r.allow, exceptions: map[span]uint8{}}
			continue
		}
		for _, typ := range []byte{'c', 'b'} {
			if r.typ != 'a' && r.typ != typ {
				continue
			}
			s := span{typ: typ, major: r.major, minor: r.minor}
			if r.allow != st.allowAll {
				if _, seen := st.exceptions[s]; !seen {
					st.order = append(st.order, s)
				}
				st.exceptions[s] |= r.access
				continue
			}
			// The rule agrees with the default: it takes its bits off every
			// exception inside its span. An exception reaching outside it
			// would keep them inside too, and v1 has no way to say "except".
			for _, e := range sortedSpans(st.exceptions) {
				acc := st.exceptions[e]
				if !e.overlaps(s) || acc&r.access == 0 {
					continue
				}
				if !s.contains(e) {
					kind := "allowed"
					if st.allowAll {
						kind = "denied"
					}
					return v1State{}, fmt.Errorf("linux.resources.devices[%d] (%s): cgroup v1 cannot enforce it: it would cut a hole in the wider %s range %q, and v1 exception lists have no holes (cgroup v2 can)",
						i, r, kind, e.String()+" "+accessString(acc))
				}
				if rest := acc &^ r.access; rest != 0 {
					st.exceptions[e] = rest
				} else {
					delete(st.exceptions, e)
				}
			}
		}
	}
	if !st.allowAll {
		closeOverMeets(st.exceptions)
	}
	return st, nil
}

// closeOverMeets makes allow exceptions answer multi-bit requests the way
// the rules do. The kernel allows a request only if one exception holds
// every requested bit, so "c 1:* r" plus "c 1:3 w" refuses an O_RDWR open
// of 1:3 that the rules allow bit by bit. Giving every exception the bits
// of the exceptions containing it, and adding the point "c M:m" where
// "c M:*" and "c *:m" cross, leaves for each device one exception (the
// intersection of those matching it) holding all its allowed bits.
func closeOverMeets(ex map[span]uint8) {
	// Only read and write are ever requested together (an open O_RDWR);
	// mknod is always a request of its own, so "m" is not spread: a
	// device's exception keeps the bits its rules gave it.
	union := func(s span) uint8 {
		acc := ex[s]
		for e, eacc := range ex {
			if e.contains(s) {
				acc |= eacc &^ accMknod
			}
		}
		return acc
	}
	grown := make(map[span]uint8, len(ex))
	for s := range ex {
		grown[s] = union(s)
	}
	for a := range ex {
		for b := range ex {
			if a.typ != b.typ || a.major == wildcard || a.minor != wildcard ||
				b.major != wildcard || b.minor == wildcard {
				continue
			}
			meet := span{typ: a.typ, major: a.major, minor: b.minor}
			if _, ok := ex[meet]; ok {
				continue
			}
			// Its containers are a, b and "t *:*" (inside both): needed
			// only if neither a nor b already holds all its bits.
			if u := union(meet); u != 0 && u != grown[a]&^accMknod && u != grown[b]&^accMknod {
				grown[meet] = u
			}
		}
	}
	maps.Copy(ex, grown)
}

// parseV1List reads devices.list. It returns nil when the exceptions are
// unknown: in allow-all mode the kernel prints only "a *:* rwm" however
// many denials it holds, and a list it cannot parse is not trusted.
func parseV1List(data []byte) *v1State {
	st := &v1State{exceptions: map[span]uint8{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		var typ, numbers, access string
		if n, err := fmt.Sscan(line, &typ, &numbers, &access); n != 3 || err != nil {
			return nil
		}
		if typ != "c" && typ != "b" {
			return nil // "a *:* rwm": allow-all mode
		}
		majorStr, minorStr, ok := bytes.Cut([]byte(numbers), []byte(":"))
		if !ok {
			return nil
		}
		major, err1 := parseListNumber(string(majorStr))
		minor, err2 := parseListNumber(string(minorStr))
		acc, err3 := parseAccess(access)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil
		}
		st.exceptions[span{typ: typ[0], major: major, minor: minor}] |= acc
	}
	if sc.Err() != nil {
		return nil
	}
	return st
}

func parseListNumber(s string) (int64, error) {
	if s == "*" {
		return wildcard, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// v1Write is one write(2) of line to file (devices.allow or devices.deny).
type v1Write struct {
	file, line string
}

// v1Writes is the write sequence taking a cgroup from current (nil:
// unknown) to target. When both deny by default it only adds the missing
// bits and then removes the extra ones, so a running container keeps every
// device both policies allow and never gains one neither allows. Otherwise
// it resets with "a" and writes every exception: switching the default
// has no other way, and allow-all exceptions cannot be read back.
func v1Writes(current *v1State, target v1State) []v1Write {
	var out []v1Write
	if current == nil || current.allowAll || target.allowAll {
		resetFile, exceptionFile := "devices.deny", "devices.allow"
		if target.allowAll {
			resetFile, exceptionFile = "devices.allow", "devices.deny"
		}
		out = append(out, v1Write{resetFile, "a"})
		written := make(map[span]bool, len(target.exceptions))
		for _, s := range append(slices.Clone(target.order), sortedSpans(target.exceptions)...) {
			acc, ok := target.exceptions[s]
			if !ok || written[s] {
				continue
			}
			written[s] = true
			out = append(out, v1Write{exceptionFile, s.String() + " " + accessString(acc)})
		}
		return out
	}
	for _, s := range sortedSpans(target.exceptions) {
		if missing := target.exceptions[s] &^ current.exceptions[s]; missing != 0 {
			out = append(out, v1Write{"devices.allow", s.String() + " " + accessString(missing)})
		}
	}
	for _, s := range sortedSpans(current.exceptions) {
		if extra := current.exceptions[s] &^ target.exceptions[s]; extra != 0 {
			out = append(out, v1Write{"devices.deny", s.String() + " " + accessString(extra)})
		}
	}
	return out
}

// sortedSpans orders spans wildcards first, so writes are deterministic.
func sortedSpans(m map[span]uint8) []span {
	return slices.SortedFunc(maps.Keys(m), func(a, b span) int {
		return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.major, b.major), cmp.Compare(a.minor, b.minor))
	})
}

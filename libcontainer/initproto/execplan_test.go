package initproto

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/rlimits"
)

func fullPlan() *ExecPlan {
	return &ExecPlan{
		Path: "/bin/sh", Args: []string{"sh", "-c", "echo a b", ""}, Env: []string{"PATH=/bin", "HOME=/root"},
		Cwd: "/tmp", UID: 1000, GID: 1001, Groups: []uint32{5, 6}, Umask: 0o027,
		Caps:        caps.Sets{Bounding: 1 << 40, Effective: 3, Permitted: 7, Inheritable: 1 << 33, Ambient: 2},
		Rlimits:     []rlimits.Rlimit{{Resource: 7, Soft: 1024, Hard: 1 << 40}, {Resource: 6, Soft: 10, Hard: 20}},
		NoNewPrivs:  true,
		KeepAdmin:   true,
		TimerSlack:  50000,
		PreserveFds: 2,
		Filter:      []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		FilterFlags: 4,
		Keyring:     "c1",
		ReopenNull:  true,
		Failures:    []ExecFailure{{Errno: 2, Line: "exec x: no such file or directory: why"}, {Errno: 13, Line: "denied"}},
	}
}

// What the parent encodes is what execplan.c (whose format
// DecodeExecPlan mirrors) reads.
func TestExecPlanRoundTrip(t *testing.T) {
	for _, p := range []*ExecPlan{fullPlan(), {Path: "/x", Args: []string{"x"}, Cwd: "/"}} {
		got, err := DecodeExecPlan(p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("got %+v\nwant %+v", got, p)
		}
	}
}

func TestExecPlanRefusesDamage(t *testing.T) {
	b := fullPlan().Encode()
	bad := map[string][]byte{
		"truncated":     b[:len(b)-3],
		"trailing byte": append(append([]byte{}, b...), 0),
		"short ids":     append(append([]byte{}, b...), 5, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4),
		"no path":       (&ExecPlan{Args: []string{"x"}, Cwd: "/"}).Encode(),
		"odd filter":    (&ExecPlan{Path: "/x", Args: []string{"x"}, Cwd: "/", Filter: []byte{1, 2, 3}}).Encode(),
		"unknown":       append(append([]byte{}, b...), 99, 0, 0, 0, 0, 0, 0, 0),
		"short failure": append(append([]byte{}, b...), 14, 0, 0, 0, 2, 0, 0, 0, 1, 2),
	}
	for name, in := range bad {
		if _, err := DecodeExecPlan(in); err == nil || !strings.Contains(err.Error(), "exec plan") {
			t.Errorf("%s: got %v, want an exec plan error", name, err)
		}
	}
}

// DecodeExecPlan parses what Encode made, with the C half's checks
// (nsenter/execplan.c's parse_plan), so the tests hold Encode to that format.
func DecodeExecPlan(b []byte) (*ExecPlan, error) {
	p := &ExecPlan{}
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("exec plan: %d trailing bytes", len(b))
		}
		a, n := ne.Uint32(b), ne.Uint32(b[4:])
		if uint64(n) > uint64(len(b)-8) {
			return nil, fmt.Errorf("exec plan: attribute %d is truncated", a)
		}
		v := b[8 : 8+n]
		b = b[8+n:]
		fixed := map[uint32]int{PlanIDs: 12, PlanGroup: 4, PlanCaps: 40, PlanRlimit: 20, PlanFlags: 4, PlanTimerSlack: 8, PlanPreserve: 4}
		if want, ok := fixed[a]; ok && len(v) != want {
			return nil, fmt.Errorf("exec plan: attribute %d is %d bytes, want %d", a, len(v), want)
		}
		switch a {
		case PlanPath:
			p.Path = string(v)
		case PlanArg:
			p.Args = append(p.Args, string(v))
		case PlanEnv:
			p.Env = append(p.Env, string(v))
		case PlanCwd:
			p.Cwd = string(v)
		case PlanIDs:
			p.UID, p.GID, p.Umask = ne.Uint32(v), ne.Uint32(v[4:]), ne.Uint32(v[8:])
		case PlanGroup:
			p.Groups = append(p.Groups, ne.Uint32(v))
		case PlanCaps:
			p.Caps = caps.Sets{Bounding: caps.Set(ne.Uint64(v)), Effective: caps.Set(ne.Uint64(v[8:])),
				Permitted: caps.Set(ne.Uint64(v[16:])), Inheritable: caps.Set(ne.Uint64(v[24:])), Ambient: caps.Set(ne.Uint64(v[32:]))}
		case PlanRlimit:
			p.Rlimits = append(p.Rlimits, rlimits.Rlimit{Resource: int(ne.Uint32(v)), Soft: ne.Uint64(v[4:]), Hard: ne.Uint64(v[12:])})
		case PlanFlags:
			f := ne.Uint32(v)
			p.NoNewPrivs, p.KeepAdmin, p.ReopenNull = f&PlanNoNewPrivs != 0, f&PlanKeepAdmin != 0, f&PlanReopenNull != 0
		case PlanTimerSlack:
			p.TimerSlack = ne.Uint64(v)
		case PlanPreserve:
			p.PreserveFds = ne.Uint32(v)
		case PlanFilter:
			if len(v) < 4 || (len(v)-4)%8 != 0 {
				return nil, fmt.Errorf("exec plan: the filter is %d bytes", len(v))
			}
			p.FilterFlags, p.Filter = ne.Uint32(v), v[4:]
		case PlanKeyring:
			p.Keyring = string(v)
		case PlanFailure:
			if len(v) < 4 {
				return nil, fmt.Errorf("exec plan: a failure is %d bytes", len(v))
			}
			p.Failures = append(p.Failures, ExecFailure{Errno: ne.Uint32(v), Line: string(v[4:])})
		default:
			return nil, fmt.Errorf("exec plan: unknown attribute %d", a)
		}
	}
	if p.Path == "" || len(p.Args) == 0 || p.Cwd == "" {
		return nil, fmt.Errorf("exec plan: no path, args or cwd")
	}
	return p, nil
}

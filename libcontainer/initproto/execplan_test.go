package initproto

import (
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
	}
	for name, in := range bad {
		if _, err := DecodeExecPlan(in); err == nil || !strings.Contains(err.Error(), "exec plan") {
			t.Errorf("%s: got %v, want an exec plan error", name, err)
		}
	}
}

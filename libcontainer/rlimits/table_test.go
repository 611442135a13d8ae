package rlimits

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseTable(t *testing.T) {
	if len(resources) != 16 {
		t.Fatalf("table has %d entries, want the 16 of getrlimit(2)", len(resources))
	}
	seen := map[int]string{}
	for _, r := range resources {
		if prev, dup := seen[r.resource]; dup {
			t.Errorf("%s and %s share resource %d", prev, r.name, r.resource)
		}
		seen[r.resource] = r.name
		got, err := Parse(r.name)
		if err != nil || got != r.resource {
			t.Errorf("Parse(%q) = %d, %v; want %d", r.name, got, err, r.resource)
		}
	}
	// Every resource number below RLIM_NLIMITS (16 on Linux) is covered.
	for n := 0; n < 16; n++ {
		if _, ok := seen[n]; !ok {
			t.Errorf("resource %d has no name", n)
		}
	}
	for name, want := range map[string]int{"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_CPU": 0, "RLIMIT_RTTIME": 15} {
		if got, _ := Parse(name); got != want {
			t.Errorf("Parse(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestParseUnknown(t *testing.T) {
	for _, name := range []string{"", "RLIMIT_FOO", "rlimit_nofile", "NOFILE", "RLIMIT_NOFILE "} {
		_, err := Parse(name)
		if err == nil || err.Error() != `unknown rlimit "`+name+`"` {
			t.Errorf("Parse(%q) error = %v", name, err)
		}
	}
}

func TestFromSpec(t *testing.T) {
	got, err := FromSpec([]specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048},
		{Type: "RLIMIT_CORE", Soft: unix.RLIM_INFINITY, Hard: unix.RLIM_INFINITY},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Rlimit{
		{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048},
		{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE", Soft: unix.RLIM_INFINITY, Hard: unix.RLIM_INFINITY},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("FromSpec = %+v, want %+v", got, want)
	}
	if got, err := FromSpec(nil); got != nil || err != nil {
		t.Errorf("FromSpec(nil) = %v, %v", got, err)
	}
}

func TestFromSpecErrors(t *testing.T) {
	ok := specs.POSIXRlimit{Type: "RLIMIT_CPU", Soft: 1, Hard: 1}
	for _, tc := range []struct {
		in   []specs.POSIXRlimit
		want string
	}{
		{[]specs.POSIXRlimit{ok, {Type: "RLIMIT_AS"}, {Type: "RLIMIT_FOO"}},
			`process.rlimits[2].type: unknown rlimit "RLIMIT_FOO"`},
		{[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE"}, ok, {Type: "RLIMIT_NOFILE", Soft: 5, Hard: 5}},
			`process.rlimits[2].type: duplicate rlimit "RLIMIT_NOFILE" (also process.rlimits[0])`},
		{[]specs.POSIXRlimit{ok, {Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}},
			`process.rlimits[1]: RLIMIT_NOFILE soft limit 10 exceeds hard limit 5`},
		{[]specs.POSIXRlimit{{Type: "RLIMIT_STACK", Soft: unix.RLIM_INFINITY, Hard: 8192}},
			`process.rlimits[0]: RLIMIT_STACK soft limit unlimited exceeds hard limit 8192`},
	} {
		_, err := FromSpec(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("FromSpec(%+v) error = %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	l := Rlimit{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: 2048, Hard: 2048}
	err := wrap(l, unix.EPERM, true)
	if want := "set RLIMIT_NOFILE to 2048/2048: operation not permitted (raising a hard limit needs CAP_SYS_RESOURCE)"; err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	if !errors.Is(err, unix.EPERM) {
		t.Error("wrapped error lost EPERM")
	}
	// Lowering cannot be blamed on the capability.
	if err := wrap(l, unix.EPERM, false); strings.Contains(err.Error(), "CAP_SYS_RESOURCE") {
		t.Errorf("hint on a lowering: %q", err)
	}
	l = Rlimit{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE", Soft: unix.RLIM_INFINITY, Hard: unix.RLIM_INFINITY}
	if err, want := wrap(l, unix.EINVAL, true), "set RLIMIT_CORE to unlimited/unlimited: invalid argument"; err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
}

func TestWrapNrOpen(t *testing.T) {
	ceiling, ok := nrOpen()
	if !ok || ceiling == unix.RLIM_INFINITY {
		t.Skip("no fs.nr_open")
	}
	l := Rlimit{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: 1, Hard: ceiling + 1}
	if err := wrap(l, unix.EPERM, false); !strings.Contains(err.Error(), "cannot exceed fs.nr_open") {
		t.Errorf("no fs.nr_open hint: %q", err)
	}
}

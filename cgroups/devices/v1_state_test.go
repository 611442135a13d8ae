package devices

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func mustParse(t *testing.T, rules []specs.LinuxDeviceCgroup) []rule {
	t.Helper()
	parsed, err := parseRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// The v1 state computed from random rules, read by the kernel's own
// matching, must answer every probe the way the rules do.
func TestV1TargetMeansTheRules(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	enforced, refused := 0, 0
	for range 20000 {
		specRules := randomSpecRules(r, 6)
		rules := mustParse(t, specRules)
		st, err := v1Target(rules)
		if err != nil {
			if !strings.Contains(err.Error(), "cgroup v1 cannot enforce it") {
				t.Fatalf("%v: unexpected error %v", rules, err)
			}
			refused++
			continue
		}
		enforced++
		forEachProbe(func(typ byte, major, minor uint32, access uint8) {
			want := allowed(rules, typ, major, minor, access)
			if got := kernelAllows(st, typ, major, minor, access); got != want {
				t.Fatalf("rules %v\nstate %+v\n%c %d:%d %s: kernel says %v, rules say %v",
					rules, st, typ, major, minor, accessString(access), got, want)
			}
		})
	}
	t.Logf("%d rule lists enforced exactly, %d refused as inexpressible in v1", enforced, refused)
	if enforced < refused {
		t.Fatalf("too few lists enforceable (%d of %d): the generator or v1Target is off", enforced, enforced+refused)
	}
}

// Whatever the cgroup held, the writes v1Writes plans leave it holding
// exactly the target; when they only patch (no reset) every intermediate
// state grants a single access bit only if the old or the new policy does,
// and keeps every bit both grant.
func TestV1WritesReachTarget(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		old, err1 := v1Target(mustParse(t, randomSpecRules(r, 5)))
		target, err2 := v1Target(mustParse(t, randomSpecRules(r, 5)))
		if err1 != nil || err2 != nil {
			continue
		}
		// What SetV1 would read back: allow-all hides its exceptions.
		var seen *v1State
		if !old.allowAll {
			c := cloneState(old)
			seen = &c
		}
		if r.IntN(4) == 0 {
			seen = nil // unreadable list
		}
		writes := v1Writes(seen, target)
		kernel := cloneState(old)
		patching := len(writes) == 0 || writes[0].line != "a"
		for i, w := range writes {
			if err := kernelWrite(&kernel, w.file, w.line); err != nil {
				t.Fatal(err)
			}
			if !patching || i == len(writes)-1 {
				continue
			}
			forEachProbe(func(typ byte, major, minor uint32, access uint8) {
				if access&(access-1) != 0 {
					return // single bits only
				}
				inOld := kernelAllows(old, typ, major, minor, access)
				inNew := kernelAllows(target, typ, major, minor, access)
				now := kernelAllows(kernel, typ, major, minor, access)
				if now && !inOld && !inNew || !now && inOld && inNew {
					t.Fatalf("after write %d of %v: %c %d:%d %s is %v (old %v, new %v)",
						i, writes, typ, major, minor, accessString(access), now, inOld, inNew)
				}
			})
		}
		if kernel.allowAll != target.allowAll || !reflect.DeepEqual(kernel.exceptions, target.exceptions) {
			t.Fatalf("from %+v (seen %v) writes %v\nreach %+v\nwant  %+v", old, seen != nil, writes, kernel, target)
		}
	}
}

func TestV1TargetClosesOverMeets(t *testing.T) {
	st, err := v1Target(mustParse(t, []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: num(1), Access: "r"},
		{Allow: true, Type: "c", Minor: num(3), Access: "w"},
		{Allow: true, Type: "c", Access: "m"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[span]uint8{
		// "m" is never requested with r or w, so it is not spread.
		{'c', 1, wildcard}:        accRead,
		{'c', wildcard, 3}:        accWrite,
		{'c', wildcard, wildcard}: accMknod,
		{'c', 1, 3}:               accRead | accWrite, // an O_RDWR open of 1:3 needs one exception with rw
	}
	if st.allowAll || !reflect.DeepEqual(st.exceptions, want) {
		t.Fatalf("got %+v, want deny-all with %v", st, want)
	}
}

func TestV1TargetRefusesHoles(t *testing.T) {
	_, err := v1Target(mustParse(t, []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: num(1), Access: "rwm"},
		{Allow: false, Type: "c", Major: num(1), Minor: num(5), Access: "w"},
	}))
	want := `linux.resources.devices[2] (deny c 1:5 w): cgroup v1 cannot enforce it: it would cut a hole in the wider allowed range "c 1:* rwm"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %s…", err, want)
	}
	// The same deny on exactly the allowed span is fine.
	st, err := v1Target(mustParse(t, []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: num(1), Minor: num(5), Access: "rwm"},
		{Allow: false, Type: "c", Major: num(1), Minor: num(5), Access: "w"},
	}))
	if err != nil || st.exceptions[span{'c', 1, 5}] != accRead|accMknod {
		t.Fatalf("got %+v, %v", st, err)
	}
}

func TestParseV1List(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *v1State
	}{
		{"a *:* rwm\n", nil},
		{"c 1:3 rwm\nb *:* m\nc 136:* rw\n", &v1State{exceptions: map[span]uint8{
			{'c', 1, 3}: accAll, {'b', wildcard, wildcard}: accMknod, {'c', 136, wildcard}: accRead | accWrite,
		}}},
		{"", &v1State{exceptions: map[span]uint8{}}},
		{"c 1 rwm\n", nil},
		{"c x:3 rwm\n", nil},
		{"c 1:3 rwx\n", nil},
	} {
		if got := parseV1List([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseV1List(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestV1WritesPatchOrReset(t *testing.T) {
	target := v1State{exceptions: map[span]uint8{{'c', 1, 3}: accAll, {'c', 1, 5}: accRead}}
	current := v1State{exceptions: map[span]uint8{{'c', 1, 3}: accRead, {'c', 1, 7}: accAll}}
	got := v1Writes(&current, target)
	want := []v1Write{
		{"devices.allow", "c 1:3 wm"},
		{"devices.allow", "c 1:5 r"},
		{"devices.deny", "c 1:7 rwm"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("patch: got %v, want %v", got, want)
	}
	got = v1Writes(nil, target)
	want = []v1Write{{"devices.deny", "a"}, {"devices.allow", "c 1:3 rwm"}, {"devices.allow", "c 1:5 r"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reset to deny: got %v, want %v", got, want)
	}
	got = v1Writes(&current, v1State{allowAll: true, exceptions: map[span]uint8{{'b', 8, wildcard}: accWrite}})
	want = []v1Write{{"devices.allow", "a"}, {"devices.deny", "b 8:* w"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reset to allow: got %v, want %v", got, want)
	}
	if got := v1Writes(&target, cloneState(target)); len(got) != 0 {
		t.Errorf("no change: got %v, want no writes", got)
	}
}

// A fresh cgroup gets its exceptions in the config's order (runtime-tools'
// linux_cgroups_devices reads devices.list back in that order).
func TestV1WritesKeepConfigOrder(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	rules, err := parseRules([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(10), Minor: i64(229), Access: "rwm"},
		{Allow: true, Type: "b", Major: i64(8), Minor: i64(20), Access: "rw"},
		{Allow: true, Type: "b", Major: i64(10), Minor: i64(200), Access: "r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	target, err := v1Target(rules)
	if err != nil {
		t.Fatal(err)
	}
	writes := v1Writes(&v1State{allowAll: true, exceptions: map[span]uint8{}}, target)
	var got []string
	for _, w := range writes {
		got = append(got, w.file+" "+w.line)
	}
	want := []string{"devices.deny a", "devices.allow c 10:229 rwm", "devices.allow b 8:20 rw", "devices.allow b 10:200 r"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
}

package devices

import (
	"math/rand/v2"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func allow(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	return specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: num(major), Minor: num(minor), Access: access}
}

// defaultRules is what Rules appends after an empty resources list.
func defaultRules() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{
		allow("c", -1, -1, "m"),
		allow("b", -1, -1, "m"),
		allow("c", 1, 3, "rwm"),
		allow("c", 1, 5, "rwm"),
		allow("c", 1, 7, "rwm"),
		allow("c", 1, 8, "rwm"),
		allow("c", 1, 9, "rwm"),
		allow("c", 5, 0, "rwm"),
		allow("c", 5, 2, "rwm"),
		allow("c", 136, -1, "rwm"),
		allow("c", 10, 200, "rwm"),
	}
}

func TestRulesOrder(t *testing.T) {
	resources := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: num(4), Minor: num(1), Access: "r"},
	}
	devices := []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}, // a default already
		{Path: "/dev/pts/7", Type: "c", Major: 136, Minor: 7},
		{Path: "/dev/fifo", Type: "p"}, // not governed by the device cgroup
		{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
		{Path: "/dev/raw", Type: "u", Major: 162, Minor: 1}, // unbuffered char
		{Path: "/dev/fuse2", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/bad", Type: "c", Major: -1, Minor: 0}, // would be a wildcard
	}
	got := Rules(resources, devices)
	want := append(append(append([]specs.LinuxDeviceCgroup{}, resources...), defaultRules()...),
		allow("c", 10, 229, "rwm"),
		allow("b", 8, 0, "rwm"),
		allow("c", 162, 1, "rwm"),
	)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Rules:\n got %v\nwant %v", got, want)
	}
}

func TestRulesLeavesEngineListsAlone(t *testing.T) {
	// Engines that spell out the defaults themselves (docker does) get
	// nothing appended.
	docker := append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, defaultRules()...)
	if got := Rules(docker, nil); !reflect.DeepEqual(got, docker) {
		t.Errorf("docker-style list changed:\n got %v\nwant %v", got, docker)
	}
	privileged := []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	if got := Rules(privileged, []specs.LinuxDevice{{Type: "b", Major: 8, Minor: 0}}); !reflect.DeepEqual(got, privileged) {
		t.Errorf("privileged list changed: got %v", got)
	}
}

func TestRulesDefaultsWinOverEarlierDenies(t *testing.T) {
	// Later rules win: a deny of /dev/null before the defaults is undone,
	// as with runc, which also appends its defaults.
	got := Rules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Type: "c", Major: num(1), Minor: num(3), Access: "rwm"}}, nil)
	if !Allowed(got, 'c', 1, 3, "rw") {
		t.Errorf("/dev/null denied by %v", got)
	}
	// Only the defaults the deny touched come back: mknod of char devices
	// and /dev/null.
	want := []specs.LinuxDeviceCgroup{allow("c", -1, -1, "m"), allow("c", 1, 3, "rwm")}
	if !reflect.DeepEqual(got[2:], want) {
		t.Errorf("re-added %v, want %v", got[2:], want)
	}
}

// Leaving out redundant rules never changes the meaning.
func TestRulesDedupKeepsMeaning(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		resources := randomSpecRules(r, 5)
		var devices []specs.LinuxDevice
		for range r.IntN(4) {
			devices = append(devices, specs.LinuxDevice{
				Type:  []string{"c", "b"}[r.IntN(2)],
				Major: int64(probeMajors[r.IntN(len(probeMajors))]),
				Minor: int64(probeMinors[r.IntN(len(probeMinors))]),
			})
		}
		literal := append([]specs.LinuxDeviceCgroup{}, resources...)
		literal = append(literal, defaultRules()...)
		for _, d := range devices {
			literal = append(literal, allow(d.Type, d.Major, d.Minor, "rwm"))
		}
		got := Rules(resources, devices)
		forEachProbe(func(typ byte, major, minor uint32, access uint8) {
			a := accessString(access)
			if Allowed(got, typ, major, minor, a) != Allowed(literal, typ, major, minor, a) {
				t.Fatalf("resources %v devices %v: %c %d:%d %s differs", resources, devices, typ, major, minor, a)
			}
		})
	}
}

func TestAllowedSemantics(t *testing.T) {
	rules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		allow("c", 1, -1, "r"),
		allow("c", -1, 3, "w"),
		{Allow: false, Type: "c", Major: num(1), Minor: num(5), Access: "w"},
	}
	for _, tc := range []struct {
		typ          byte
		major, minor uint32
		access       string
		want         bool
	}{
		{'c', 1, 3, "rw", true}, // r from one rule, w from another
		{'c', 1, 3, "rwm", false},
		{'c', 1, 5, "r", true},
		{'c', 1, 5, "rw", false}, // a denied bit denies the request
		{'b', 1, 3, "r", false},
		{'c', 1, 3, "", false},
		{'c', 1, 3, "x", false},
	} {
		if got := Allowed(rules, tc.typ, tc.major, tc.minor, tc.access); got != tc.want {
			t.Errorf("%c %d:%d %q: got %v, want %v", tc.typ, tc.major, tc.minor, tc.access, got, tc.want)
		}
	}
	if Allowed([]specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}, 'c', 1, 3, "r") {
		t.Error("invalid rules allowed a request")
	}
}

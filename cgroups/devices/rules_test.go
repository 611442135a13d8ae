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

// defaultRules is what Rules appends after an empty resources list: runc
// 1.5's libcontainer/specconv AllowedDevices, in its order.
func defaultRules() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{
		allow("c", -1, -1, "m"),
		allow("b", -1, -1, "m"),
		allow("c", 1, 3, "rwm"),
		allow("c", 1, 8, "rwm"),
		allow("c", 1, 7, "rwm"),
		allow("c", 5, 0, "rwm"),
		allow("c", 1, 5, "rwm"),
		allow("c", 1, 9, "rwm"),
		allow("c", 136, -1, "rwm"),
		allow("c", 5, 2, "rwm"),
		allow("c", 10, 200, "rwm"),
	}
}

func TestRulesOrder(t *testing.T) {
	resources := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: num(4), Minor: num(1), Access: "r"},
	}
	got := Rules(resources)
	want := append(append([]specs.LinuxDeviceCgroup{}, resources...), defaultRules()...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Rules:\n got %v\nwant %v", got, want)
	}
}

// Only the default devices are allowed implicitly: a device the config
// creates (linux.devices, e.g. /dev/kmsg, c 1:11) stays denied under a
// deny-all list unless linux.resources.devices allows it, as with runc.
func TestRulesAllowOnlyDefaultDevices(t *testing.T) {
	denyAll := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	rules := Rules(denyAll)
	for _, d := range []struct {
		typ          byte
		major, minor uint32
	}{{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 1, 8}, {'c', 1, 9}, {'c', 5, 0}, {'c', 5, 2}, {'c', 136, 4}, {'c', 10, 200}} {
		if !Allowed(rules, d.typ, d.major, d.minor, "rwm") {
			t.Errorf("default device %c %d:%d denied by %v", d.typ, d.major, d.minor, rules)
		}
	}
	for _, d := range []struct {
		typ          byte
		major, minor uint32
	}{{'c', 1, 11}, {'c', 5, 1}, {'c', 10, 229}, {'b', 8, 0}, {'c', 1, 1}} {
		if Allowed(rules, d.typ, d.major, d.minor, "r") || Allowed(rules, d.typ, d.major, d.minor, "w") {
			t.Errorf("%c %d:%d is open under a deny-all list: %v", d.typ, d.major, d.minor, rules)
		}
		// mknod stays allowed for every node (runc's "c *:* m", "b *:* m").
		if !Allowed(rules, d.typ, d.major, d.minor, "m") {
			t.Errorf("mknod of %c %d:%d denied", d.typ, d.major, d.minor)
		}
	}
	kmsg := Rules(append(denyAll, allow("c", 1, 11, "rwm")))
	if !Allowed(kmsg, 'c', 1, 11, "rw") {
		t.Errorf("/dev/kmsg allowed in linux.resources.devices but denied by %v", kmsg)
	}
}

func TestRulesLeavesEngineListsAlone(t *testing.T) {
	// Engines that spell out the defaults themselves (docker does) get
	// nothing appended.
	docker := append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, defaultRules()...)
	if got := Rules(docker); !reflect.DeepEqual(got, docker) {
		t.Errorf("docker-style list changed:\n got %v\nwant %v", got, docker)
	}
	privileged := []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	if got := Rules(privileged); !reflect.DeepEqual(got, privileged) {
		t.Errorf("privileged list changed: got %v", got)
	}
}

func TestRulesDefaultsWinOverEarlierDenies(t *testing.T) {
	// Later rules win: a deny of /dev/null before the defaults is undone,
	// as with runc, which also appends its defaults.
	got := Rules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Type: "c", Major: num(1), Minor: num(3), Access: "rwm"}})
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
		literal := append(append([]specs.LinuxDeviceCgroup{}, resources...), defaultRules()...)
		got := Rules(resources)
		forEachProbe(func(typ byte, major, minor uint32, access uint8) {
			a := accessString(access)
			if Allowed(got, typ, major, minor, a) != Allowed(literal, typ, major, minor, a) {
				t.Fatalf("resources %v: %c %d:%d %s differs", resources, typ, major, minor, a)
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

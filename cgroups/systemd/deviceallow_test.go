package systemd

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups/devices"
)

func devRule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// denyAll is how every OCI config (and runc's spec) starts its list.
var denyAll = specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}

func TestDevicePropertiesAllowList(t *testing.T) {
	rules := []specs.LinuxDeviceCgroup{
		denyAll,
		devRule(true, "c", 1, 3, "rwm"),     // /dev/null
		devRule(true, "c", 1, 5, "mwr"),     // any order of letters
		devRule(true, "c", 136, -1, "rw"),   // /dev/pts/*: a whole major
		devRule(true, "b", 8, 0, "r"),       // a block device (m comes from block-* below)
		devRule(true, "b", -1, -1, "m"),     // mknod of any block device
		devRule(true, "c", 1, 9, ""),        // empty access = rwm
		devRule(true, "c", 1, 3, "rwm"),     // a repeat changes nothing
		devRule(true, "c", 10, 200, "rw"),   // later revoked
		devRule(false, "c", 10, 200, "rwm"), // revoked
		devRule(true, "c", 5, 1, "rw"),      // access narrowed below
		devRule(false, "c", 5, 1, "w"),
		devRule(true, "c", 4, -1, "r"), // a major...
		devRule(true, "c", 4, 1, "r"),  // ...already grants this one
		devRule(true, "c", 4, 2, "rw"), // ...but not this one's w
		devRule(true, "a", 7, 7, "r"),  // an "a" rule: char and block
	}
	props, skipped, err := deviceProperties(rules, 252, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DevicePolicy s=strict",
		"DeviceAllow a(ss)=[]",
		"DeviceAllow a(ss)=[" +
			"{/dev/char/1:3 rwm} {/dev/char/1:5 rwm} {char-136 rw} {/dev/block/8:0 rm} {block-* m} " +
			"{/dev/char/1:9 rwm} {/dev/char/5:1 r} {char-4 r} {/dev/char/4:2 rw} {/dev/char/7:7 r} {/dev/block/7:7 rm}]",
	}
	if got := fmtProps(props); !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	if len(skipped) != 0 {
		t.Errorf("skipped %q, want nothing", skipped)
	}
}

func TestDevicePropertiesAllowAll(t *testing.T) {
	// A later "a" rule wipes everything before it.
	rules := []specs.LinuxDeviceCgroup{denyAll, devRule(true, "c", 1, 3, "rwm"), {Allow: true, Type: "a"}}
	props, _, err := deviceProperties(rules, 252, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DevicePolicy s=auto", "DeviceAllow a(ss)=[]"}
	if got := fmtProps(props); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDevicePropertiesDenyList(t *testing.T) {
	// Allow everything but w on 1:3: systemd cannot say "all but", so it
	// is told only what is granted to whole spans (char-* without w),
	// never more than nook's own enforcement allows.
	rules := []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, devRule(false, "c", 1, 3, "w")}
	props, _, err := deviceProperties(rules, 252, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DevicePolicy s=strict", "DeviceAllow a(ss)=[]", "DeviceAllow a(ss)=[{char-* rm} {block-* rwm}]"}
	if got := fmtProps(props); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestDevicePropertiesNeverWiderThanModel checks every entry systemd gets
// against the devices package's reference meaning (devices.Allowed), on
// rule lists that mix wildcards, denials and narrowing.
func TestDevicePropertiesNeverWiderThanModel(t *testing.T) {
	lists := [][]specs.LinuxDeviceCgroup{
		{denyAll, devRule(true, "c", -1, -1, "rwm"), devRule(false, "c", 1, -1, "w"), devRule(true, "c", 1, 3, "w")},
		{{Allow: true}, devRule(false, "b", 8, -1, "rw"), devRule(false, "c", 10, 200, "m")},
		{denyAll, devRule(true, "a", 1, -1, "rw"), devRule(false, "a", 1, 5, "r"), devRule(true, "c", 136, -1, "rwm")},
		{denyAll, devRule(true, "c", 1, 3, "rw"), devRule(false, "", -1, -1, "w"), devRule(true, "c", 1, 5, "w")},
	}
	probes := []struct {
		typ          byte
		major, minor uint32
	}{{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 9}, {'c', 10, 200}, {'c', 136, 4}, {'b', 8, 0}, {'b', 1, 3}, {'c', 99, 1}}
	for li, rules := range lists {
		parsed, err := parseDeviceRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		spans, access := allowedSpans(parsed)
		for i, s := range spans {
			for _, p := range probes {
				inSpan := deviceRule{typ: s.typ, major: s.major, minor: s.minor}.covers(deviceSpan{p.typ, int64(p.major), int64(p.minor)})
				if !inSpan {
					continue
				}
				for _, bit := range access[i] {
					if !devices.Allowed(rules, p.typ, p.major, p.minor, string(bit)) {
						t.Errorf("list %d: systemd would get %s %s, but the model denies %c %d:%d %c", li, s, access[i], p.typ, p.major, p.minor, bit)
					}
				}
			}
		}
	}
}

func TestDevicePropertiesNoRules(t *testing.T) {
	// No rules: the kernel's default for a v1 whitelist is deny-all, and
	// so is systemd's strict policy.
	props, _, err := deviceProperties(nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DevicePolicy s=strict", "DeviceAllow a(ss)=[]", "DeviceAllow a(ss)=[]"}
	if got := fmtProps(props); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDevicePropertiesUnsupportedForms(t *testing.T) {
	rules := []specs.LinuxDeviceCgroup{denyAll, devRule(true, "c", -1, 5, "rw"), devRule(true, "c", 1, 3, "rw")}
	props, skipped, err := deviceProperties(rules, 252, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtProps(props)[2]; got != "DeviceAllow a(ss)=[{/dev/char/1:3 rw}]" {
		t.Errorf("got %q: a '*:5' rule has no systemd form", got)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "c *:5 rw") {
		t.Errorf("skipped = %q, want the '*:5' rule named", skipped)
	}
}

func TestDevicePropertiesOldSystemd(t *testing.T) {
	// Before v240 a whole major needs its /proc/devices group name.
	rules := []specs.LinuxDeviceCgroup{denyAll, devRule(true, "c", 136, -1, "rw"), devRule(true, "b", 259, -1, "r"), devRule(true, "c", 99, -1, "r")}
	groups := func(typ byte, major int64) (string, error) {
		switch {
		case typ == 'c' && major == 136:
			return "pts", nil
		case typ == 'b' && major == 259:
			return "blkext", nil
		}
		return "", nil
	}
	props, skipped, err := deviceProperties(rules, 239, groups)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtProps(props)[2]; got != "DeviceAllow a(ss)=[{char-pts rw} {block-blkext r}]" {
		t.Errorf("got %q", got)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "c 99:* r") {
		t.Errorf("skipped = %q, want the group-less major 99 named", skipped)
	}

	failing := func(byte, int64) (string, error) { return "", errors.New("boom") }
	if _, _, err := deviceProperties(rules, 239, failing); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a failing group lookup: err = %v", err)
	}
}

func TestDevicePropertiesRefuses(t *testing.T) {
	tests := []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{devRule(true, "x", 1, 3, "rwm"), `linux.resources.devices[1].type`},
		{devRule(true, "c", 1, 3, "rwx"), `linux.resources.devices[1].access`},
		{devRule(true, "u", 1, 3, "rw"), `linux.resources.devices[1].type`},
	}
	for _, tt := range tests {
		_, _, err := deviceProperties([]specs.LinuxDeviceCgroup{denyAll, tt.rule}, 252, nil)
		if err == nil || !strings.Contains(err.Error(), "linux.resources.devices") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("rule %+v: err = %v, want linux.resources.devices and %q", tt.rule, err, tt.want)
		}
	}
}

func TestFindDeviceGroup(t *testing.T) {
	const procDevices = `Character devices:
  1 mem
  4 /dev/vc/0
  4 tty
136 pts

Block devices:
  8 sd
259 blkext
`
	tests := []struct {
		typ   byte
		major int64
		want  string
	}{
		{'c', 1, "mem"},
		{'c', 4, "/dev/vc/0"}, // first one wins
		{'c', 136, "pts"},
		{'b', 8, "sd"},
		{'b', 259, "blkext"},
		{'b', 1, ""}, // char major, not block
		{'c', 8, ""},
	}
	for _, tt := range tests {
		got, err := findDeviceGroup(strings.NewReader(procDevices), tt.typ, tt.major)
		if err != nil || got != tt.want {
			t.Errorf("findDeviceGroup(%c, %d) = %q, %v; want %q", tt.typ, tt.major, got, err, tt.want)
		}
	}
}

package devices

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func badRuleCases() []struct {
	rule specs.LinuxDeviceCgroup
	want string
} {
	return []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "x", Access: "r"}, `linux.resources.devices[1].type: "x" is not one of a, c, b`},
		{specs.LinuxDeviceCgroup{Type: "cb", Access: "r"}, `linux.resources.devices[1].type: "cb" is not one of a, c, b`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rx"}, `linux.resources.devices[1].access: "rx" has 'x': only r, w and m are allowed`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "RWM"}, `linux.resources.devices[1].access: "RWM" has 'R'`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: num(-2), Access: "r"}, `linux.resources.devices[1].major: -2 is out of range`},
		{specs.LinuxDeviceCgroup{Type: "c", Minor: num(1 << 32), Access: "r"}, `linux.resources.devices[1].minor: 4294967296 is out of range`},
		{specs.LinuxDeviceCgroup{Type: "c", Minor: num(1<<32 - 1), Access: "r"}, `linux.resources.devices[1].minor: 4294967295 is out of range`},
	}
}

func TestValidate(t *testing.T) {
	good := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: num(1), Minor: num(-1), Access: "rwm"}
	for _, tc := range badRuleCases() {
		err := Validate([]specs.LinuxDeviceCgroup{good, tc.rule})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %s…", tc.rule, err, tc.want)
		}
	}
	if err := Validate([]specs.LinuxDeviceCgroup{good, {}, {Type: "b", Access: "mwr"}}); err != nil {
		t.Errorf("valid rules refused: %v", err)
	}
}

// Bad rules are refused before anything is written.
func TestBadRulesWriteNothing(t *testing.T) {
	dir := fakeV1Dir(t, "c 1:3 rwm\n")
	for _, tc := range badRuleCases() {
		rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, tc.rule}
		if err := SetV1(dir, rules); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("SetV1(%+v) = %v, want %s…", tc.rule, err, tc.want)
		}
		// SetV2 must fail on the rules, not on the directory it never opens.
		if err := SetV2(filepath.Join(dir, "missing"), rules); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("SetV2(%+v) = %v, want %s…", tc.rule, err, tc.want)
		}
	}
	// An inexpressible rule is also refused before any write.
	if err := SetV1(dir, []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"}, allow("c", 1, -1, "rwm"), {Type: "c", Major: num(1), Minor: num(3), Access: "r"},
	}); err == nil || !strings.Contains(err.Error(), "linux.resources.devices[2]") {
		t.Errorf("hole in a wildcard: got %v", err)
	}
	for _, f := range []string{"devices.allow", "devices.deny"} {
		if data, _ := os.ReadFile(filepath.Join(dir, f)); len(data) != 0 {
			t.Errorf("%s written: %q", f, data)
		}
	}
}

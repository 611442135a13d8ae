package selinux

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeKernel records what would have been asked of SELinux.
type fakeKernel struct {
	on        bool
	err       error
	execLabel []string
	keyLabel  []string
	asked     int
}

func (f *fakeKernel) enabled() bool { f.asked++; return f.on }
func (f *fakeKernel) setExecLabel(l string) error {
	f.execLabel = append(f.execLabel, l)
	return f.err
}
func (f *fakeKernel) setKeyLabel(l string) error {
	f.keyLabel = append(f.keyLabel, l)
	return f.err
}

const label = "system_u:system_r:svirt_lxc_net_t:s0:c124,c675"

func TestFormatMountLabel(t *testing.T) {
	on, off := &fakeKernel{on: true}, &fakeKernel{}
	tests := []struct {
		k           *fakeKernel
		data, label string
		want        string
	}{
		{on, "", label, `context="system_u:system_r:svirt_lxc_net_t:s0:c124,c675"`},
		{on, "mode=755,size=65536k", label, `mode=755,size=65536k,context="system_u:system_r:svirt_lxc_net_t:s0:c124,c675"`},
		{on, "mode=755", "", "mode=755"},
		{on, "", "", ""},
		{off, "mode=755", label, "mode=755"},
		{off, "", label, ""},
	}
	for _, tt := range tests {
		if got := formatMountLabel(tt.k, tt.data, tt.label); got != tt.want {
			t.Errorf("formatMountLabel(enabled=%v, %q, %q) = %q, want %q", tt.k.on, tt.data, tt.label, got, tt.want)
		}
	}
}

func TestNoLabelNeverAsksTheKernel(t *testing.T) {
	k := &fakeKernel{on: true}
	if err := setExecLabel(k, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := formatMountLabel(k, "mode=755", ""); got != "mode=755" {
		t.Fatalf("formatMountLabel = %q", got)
	}
	if err := validateProcessLabel(k, ""); err != nil {
		t.Fatal(err)
	}
	if k.asked != 0 || len(k.execLabel) != 0 {
		t.Fatalf("asked the kernel %d times and set %v with no label", k.asked, k.execLabel)
	}
}

func TestSetExecLabelEnabled(t *testing.T) {
	k := &fakeKernel{on: true}
	if err := setExecLabel(k, label, nil); err != nil {
		t.Fatal(err)
	}
	if len(k.execLabel) != 1 || k.execLabel[0] != label {
		t.Fatalf("exec labels set = %q, want [%q]", k.execLabel, label)
	}
}

func TestSetExecLabelDisabledIsANoopWithDebugLine(t *testing.T) {
	k := &fakeKernel{}
	var lines []string
	debugf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if err := setExecLabel(k, label, debugf); err != nil {
		t.Fatal(err)
	}
	if len(k.execLabel) != 0 {
		t.Fatalf("set %q on a host without SELinux", k.execLabel)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "SELinux is disabled") || !strings.Contains(lines[0], label) {
		t.Fatalf("debug lines = %q, want one naming the skipped label", lines)
	}
	if err := setExecLabel(k, label, nil); err != nil { // nil debugf is allowed
		t.Fatal(err)
	}
}

func TestSetExecLabelErrorNamesTheField(t *testing.T) {
	k := &fakeKernel{on: true, err: errors.New("invalid argument")}
	err := setExecLabel(k, label, nil)
	if err == nil || !strings.HasPrefix(err.Error(), `process.selinuxLabel "`+label+`": set exec label: invalid argument`) {
		t.Fatalf("setExecLabel = %v", err)
	}
}

func TestSetKeyLabel(t *testing.T) {
	k := &fakeKernel{on: true}
	if err := setKeyLabel(k, label); err != nil {
		t.Fatal(err)
	}
	if err := setKeyLabel(k, ""); err != nil {
		t.Fatal(err)
	}
	if len(k.keyLabel) != 2 || k.keyLabel[0] != label || k.keyLabel[1] != "" {
		t.Fatalf("key labels set = %q, want [label, reset]", k.keyLabel)
	}

	off := &fakeKernel{}
	if err := setKeyLabel(off, label); err != nil || len(off.keyLabel) != 0 {
		t.Fatalf("disabled: err=%v, set %q", err, off.keyLabel)
	}

	failing := &fakeKernel{on: true, err: errors.New("permission denied")}
	if err := setKeyLabel(failing, label); err == nil || !strings.Contains(err.Error(), "set keyring label: permission denied") {
		t.Fatalf("setKeyLabel = %v", err)
	}
	if err := setKeyLabel(failing, ""); err == nil || !strings.HasPrefix(err.Error(), "reset keyring label: ") {
		t.Fatalf("reset = %v", err)
	}
}

func TestValidateProcessLabel(t *testing.T) {
	if err := validateProcessLabel(&fakeKernel{on: true}, label); err != nil {
		t.Fatal(err)
	}
	err := validateProcessLabel(&fakeKernel{}, label)
	if err == nil || !strings.Contains(err.Error(), "SELinux is disabled or not supported on this host") {
		t.Fatalf("validateProcessLabel(disabled) = %v", err)
	}
}

// On the real host the exported functions agree with what the host reports; on this
// project's machines SELinux is disabled, which makes them all no-ops.
func TestHostFunctionsFollowEnabled(t *testing.T) {
	on := Enabled()
	got := FormatMountLabel("mode=755", label)
	if on != strings.Contains(got, "context=") {
		t.Fatalf("Enabled() = %v but FormatMountLabel gave %q", on, got)
	}
	if on {
		t.Skip("SELinux is enabled here; the disabled-host behaviour is covered by the fake")
	}
	if err := SetExecLabel(label, nil); err != nil {
		t.Fatalf("SetExecLabel on a host without SELinux = %v, want a no-op", err)
	}
	if err := SetKeyLabel(label); err != nil {
		t.Fatalf("SetKeyLabel on a host without SELinux = %v, want a no-op", err)
	}
	if err := ValidateProcessLabel(label); err == nil {
		t.Fatal("ValidateProcessLabel on a host without SELinux accepted a label")
	}
}

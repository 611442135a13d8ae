package sched

import (
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func cpus(set unix.CPUSet) []int {
	var out []int
	for cpu := range maxCPUs {
		if set.IsSet(cpu) {
			out = append(out, cpu)
		}
	}
	return out
}

func TestParseCPUSet(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"0-3,7", []int{0, 1, 2, 3, 7}},
		{" 7 , 1-2 ", []int{1, 2, 7}},
		{"3-3", []int{3}},
		{"0,0,0-1", []int{0, 1}},
		{"1023", []int{1023}},
	}
	for _, tt := range tests {
		set, err := ParseCPUSet(tt.in)
		if err != nil {
			t.Errorf("ParseCPUSet(%q): %v", tt.in, err)
			continue
		}
		if got := cpus(set); !slices.Equal(got, tt.want) {
			t.Errorf("ParseCPUSet(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseCPUSetRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty cpu list"},
		{"  ", "empty cpu list"},
		{"0,,1", `item "": "" is not a CPU number`},
		{"0-3,", `item "": "" is not a CPU number`},
		{"a", `item "a": "a" is not a CPU number`},
		{"-1", `item "-1": "" is not a CPU number`},
		{"+1", `"+1" is not a CPU number`},
		{"1-", `item "1-": "" is not a CPU number`},
		{"0-1-2", `"1-2" is not a CPU number`},
		{"3-1", `item "3-1": range ends before it starts`},
		{"1024", "CPU 1024 is beyond the 1024 CPUs this runtime can address"},
		{"0-99999999999999999999", "beyond the 1024 CPUs"},
		{"0-7:2", `"7:2" is not a CPU number`},
	}
	for _, tt := range tests {
		_, err := ParseCPUSet(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCPUSet(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestValidateCPUAffinity(t *testing.T) {
	for _, ok := range []*specs.CPUAffinity{nil, {}, {Initial: "0"}, {Final: "0-3,7"}, {Initial: "7", Final: "0-3,7"}} {
		if err := ValidateCPUAffinity(ok); err != nil {
			t.Errorf("ValidateCPUAffinity(%+v) = %v", ok, err)
		}
	}
	if err := ValidateCPUAffinity(&specs.CPUAffinity{Initial: "x"}); err == nil ||
		!strings.HasPrefix(err.Error(), `process.execCPUAffinity.initial: cpu list "x"`) {
		t.Errorf("bad initial: %v", err)
	}
	if err := ValidateCPUAffinity(&specs.CPUAffinity{Initial: "0", Final: "2-1"}); err == nil ||
		!strings.HasPrefix(err.Error(), `process.execCPUAffinity.final: cpu list "2-1"`) {
		t.Errorf("bad final: %v", err)
	}
}

// lastCPU is the highest CPU this test may use: pinning to it differs from the default
// mask whenever the machine has more than one CPU.
func lastCPU(t *testing.T) (unix.CPUSet, int) {
	t.Helper()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	c := cpus(all)
	var set unix.CPUSet
	set.Set(c[len(c)-1])
	return set, c[len(c)-1]
}

func TestSetAffinityReadsBack(t *testing.T) {
	want, _ := lastCPU(t)
	var got unix.CPUSet
	err := onThrowawayThread(func() error {
		if err := SetAffinity(want); err != nil {
			return err
		}
		return unix.SchedGetaffinity(0, &got)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("affinity = %v, want %v", cpus(got), cpus(want))
	}
}

func TestSetAffinityReportsKernelError(t *testing.T) {
	var none unix.CPUSet
	none.Set(maxCPUs - 1) // no machine this runs on has CPU 1023 online
	err := onThrowawayThread(func() error { return SetAffinity(none) })
	if err == nil || !strings.HasPrefix(err.Error(), "sched_setaffinity: invalid argument") {
		t.Fatalf("SetAffinity(CPU 1023) = %v, want sched_setaffinity: invalid argument", err)
	}
}

// A process started inside OnThreadWithAffinity is born with the mask; the caller's own
// thread keeps its mask.
func TestOnThreadWithAffinityChildInherits(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	want, cpu := lastCPU(t)
	var out []byte
	err := OnThreadWithAffinity(want, func() error {
		var err error
		out, err = exec.Command("/bin/grep", "Cpus_allowed_list", "/proc/self/status").Output()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wantLine := "Cpus_allowed_list:\t" + strconv.Itoa(cpu)
	if strings.TrimSpace(string(out)) != wantLine {
		t.Fatalf("child's %q, want %q", strings.TrimSpace(string(out)), wantLine)
	}
	var after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("caller's thread affinity changed from %v to %v", cpus(before), cpus(after))
	}
}

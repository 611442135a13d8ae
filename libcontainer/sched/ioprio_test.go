package sched

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidateIOPriority(t *testing.T) {
	for _, ok := range []*specs.LinuxIOPriority{
		nil,
		{Class: specs.IOPRIO_CLASS_RT, Priority: 0},
		{Class: specs.IOPRIO_CLASS_BE, Priority: 7},
		{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0},
	} {
		if err := ValidateIOPriority(ok); err != nil {
			t.Errorf("ValidateIOPriority(%+v) = %v", ok, err)
		}
	}
	tests := []struct {
		p    specs.LinuxIOPriority
		want string
	}{
		{specs.LinuxIOPriority{}, "process.ioPriority.class: required"},
		{specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"}, `process.ioPriority.class: unknown class "IOPRIO_CLASS_NONE"`},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}, "process.ioPriority.priority: 8 is outside 0..7"},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: -1}, "process.ioPriority.priority: -1 is outside 0..7"},
	}
	for _, tt := range tests {
		err := ValidateIOPriority(&tt.p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateIOPriority(%+v) = %v, want %q", tt.p, err, tt.want)
		}
		if err2 := SetIOPriority(&tt.p); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("SetIOPriority(%+v) = %v, want the validation error", tt.p, err2)
		}
	}
}

func TestSetIOPriorityReadsBack(t *testing.T) {
	for _, p := range []specs.LinuxIOPriority{
		{Class: specs.IOPRIO_CLASS_BE, Priority: 4},
		{Class: specs.IOPRIO_CLASS_BE, Priority: 0},
		{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0},
		{Class: specs.IOPRIO_CLASS_RT, Priority: 7},
	} {
		t.Run(string(p.Class), func(t *testing.T) {
			var got uintptr
			err := onThrowawayThread(func() error {
				if err := SetIOPriority(&p); err != nil {
					return err
				}
				r, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
				if errno != 0 {
					return errno
				}
				got = r
				return nil
			})
			skipIfNotPermitted(t, err, string(p.Class))
			if err != nil {
				t.Fatal(err)
			}
			if want := uintptr(ioprioClasses[p.Class]<<13 | p.Priority); got != want {
				t.Fatalf("ioprio_get = %#x, want %#x", got, want)
			}
		})
	}
}

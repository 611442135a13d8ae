package sched

import (
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidatePersonality(t *testing.T) {
	for _, ok := range []*specs.LinuxPersonality{nil, {Domain: specs.PerLinux}, {Domain: specs.PerLinux32}} {
		if err := ValidatePersonality(ok); err != nil {
			t.Errorf("ValidatePersonality(%+v) = %v", ok, err)
		}
	}
	tests := []struct {
		p    specs.LinuxPersonality
		want string
	}{
		{specs.LinuxPersonality{}, `linux.personality.domain: unknown domain ""`},
		{specs.LinuxPersonality{Domain: "SVR4"}, `linux.personality.domain: unknown domain "SVR4"`},
		{specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}},
			`linux.personality.flags: "ADDR_NO_RANDOMIZE" is not supported`},
	}
	for _, tt := range tests {
		err := ValidatePersonality(&tt.p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidatePersonality(%+v) = %v, want %q", tt.p, err, tt.want)
		}
		if err2 := SetPersonality(&tt.p); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("SetPersonality(%+v) = %v, want the validation error", tt.p, err2)
		}
	}
}

func currentPersonality() (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

func TestSetPersonalityReadsBack(t *testing.T) {
	var linux32, linux uintptr
	var machine string
	err := onThrowawayThread(func() error {
		if err := SetPersonality(&specs.LinuxPersonality{Domain: specs.PerLinux32}); err != nil {
			return err
		}
		var err error
		if linux32, err = currentPersonality(); err != nil {
			return err
		}
		var uts unix.Utsname
		if err := unix.Uname(&uts); err != nil {
			return err
		}
		machine = unix.ByteSliceToString(uts.Machine[:])
		if err := SetPersonality(&specs.LinuxPersonality{Domain: specs.PerLinux}); err != nil {
			return err
		}
		linux, err = currentPersonality()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if linux32&0xff != 0x0008 {
		t.Errorf("after LINUX32: personality = %#x, want domain 0x8", linux32)
	}
	if runtime.GOARCH == "amd64" && machine != "i686" {
		t.Errorf("after LINUX32: uname machine = %q, want i686", machine)
	}
	if linux != 0 {
		t.Errorf("after LINUX: personality = %#x, want 0", linux)
	}
}

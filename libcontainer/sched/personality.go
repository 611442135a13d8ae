package sched

import (
	"fmt"
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Execution domains from include/uapi/linux/personality.h.
var domains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000, // PER_LINUX
	specs.PerLinux32: 0x0008, // PER_LINUX32
}

// ValidatePersonality checks linux.personality. runtime-spec v1.3 defines no flag values,
// so any flag is refused rather than silently dropped. nil is valid.
func ValidatePersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	if _, ok := domains[p.Domain]; !ok {
		return fmt.Errorf("linux.personality.domain: unknown domain %q (want LINUX or LINUX32)", p.Domain)
	}
	if len(p.Flags) > 0 {
		return fmt.Errorf("linux.personality.flags: %q is not supported (runtime-spec defines no personality flags)", p.Flags[0])
	}
	return nil
}

// SetPersonality validates p and sets the calling thread's execution domain with
// personality(2); it is inherited across fork and execve. nil leaves it alone.
func SetPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	if err := ValidatePersonality(p); err != nil {
		return err
	}
	// personality returns the previous persona on success, so only errno tells failure.
	if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, domains[p.Domain], 0, 0); errno != 0 {
		return fmt.Errorf("linux.personality: %w", os.NewSyscallError("personality", errno))
	}
	return nil
}

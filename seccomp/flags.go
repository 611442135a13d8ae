package seccomp

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// flagTSYNC is runtime-spec's name for SECCOMP_FILTER_FLAG_TSYNC; specs-go
// declares constants for the other three only.
const flagTSYNC specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// flagByName maps a config.json flag to its seccomp(2) bit.
func flagByName(f specs.LinuxSeccompFlag) (uint, bool) {
	switch f {
	case flagTSYNC:
		return unix.SECCOMP_FILTER_FLAG_TSYNC, true
	case specs.LinuxSeccompFlagLog:
		return unix.SECCOMP_FILTER_FLAG_LOG, true
	case specs.LinuxSeccompFlagSpecAllow:
		return unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, true
	case specs.LinuxSeccompFlagWaitKillableRecv:
		return unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, true
	}
	return 0, false
}

func flagNames() []string {
	return []string{
		string(flagTSYNC),
		string(specs.LinuxSeccompFlagLog),
		string(specs.LinuxSeccompFlagSpecAllow),
		string(specs.LinuxSeccompFlagWaitKillableRecv),
	}
}

// kernelSupportsFlags asks the running kernel whether it accepts the given
// seccomp(2) filter flags, the way libseccomp does: SECCOMP_SET_MODE_FILTER
// with a NULL program. The kernel checks the flags before it reads the
// program, so EFAULT means "flags fine, program unreadable" and EINVAL means
// "unknown flag". Nothing is ever installed, and no privilege is needed.
func kernelSupportsFlags(flags uint) bool {
	if flags&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 {
		// The kernel accepts WAIT_KILLABLE_RECV only with a listener.
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	if flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		// TSYNC with a listener needs TSYNC_ESRCH to say how a failure is
		// reported (a listener fd and a thread id can't share the result).
		flags |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), 0)
	return errors.Is(errno, unix.EFAULT)
}

// parseFlags validates linux.seccomp.flags and returns their bits.
func parseFlags(flags []specs.LinuxSeccompFlag) (uint, error) {
	var bits uint
	for i, f := range flags {
		bit, ok := flagByName(f)
		if !ok {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, f)
		}
		if !kernelSupportsFlags(bit) {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: %s is not supported by this kernel", i, f)
		}
		bits |= bit
	}
	return bits, nil
}

// supportedFlagNames lists the known flags the running kernel accepts.
func supportedFlagNames() []string {
	var out []string
	for _, name := range flagNames() {
		bit, _ := flagByName(specs.LinuxSeccompFlag(name))
		if kernelSupportsFlags(bit) {
			out = append(out, name)
		}
	}
	return out
}

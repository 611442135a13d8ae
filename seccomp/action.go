package seccomp

import (
	"fmt"
	"math"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// parseAction validates an action and its errno and returns the libseccomp
// action with the return value attached. actionField and errnoField are the
// JSON paths used in errors.
func parseAction(name specs.LinuxSeccompAction, errnoRet *uint, actionField, errnoField string) (libseccomp.ScmpAction, error) {
	act, ok := actionByName(name)
	if !ok {
		if name == "" {
			return libseccomp.ActInvalid, fmt.Errorf("%s: missing action", actionField)
		}
		return libseccomp.ActInvalid, fmt.Errorf("%s: unknown action %q", actionField, name)
	}
	if act != libseccomp.ActErrno && act != libseccomp.ActTrace {
		if errnoRet != nil {
			return libseccomp.ActInvalid, fmt.Errorf("%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s", errnoField, name)
		}
		return act, nil
	}
	// runc's defaults: EPERM for ERRNO, and for TRACE the same value is the
	// tracer's message (PTRACE_GETEVENTMSG).
	code := uint(unix.EPERM)
	if errnoRet != nil {
		code = *errnoRet
	}
	// The kernel keeps 16 bits of return data (SECCOMP_RET_DATA).
	if code > math.MaxUint16 {
		return libseccomp.ActInvalid, fmt.Errorf("%s: %d does not fit in 16 bits", errnoField, code)
	}
	return act.SetReturnCode(int16(uint16(code))), nil
}

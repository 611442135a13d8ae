package rlimits

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/caps"
)

// CanRaiseHard says whether a process may raise hard limits: the kernel
// checks CAP_SYS_RESOURCE in the initial user namespace, so only one
// outside any user namespace that holds it can. permitted is read only
// then.
func CanRaiseHard(permitted func() (caps.Set, error), inUserNS bool) bool {
	if inUserNS {
		return false
	}
	p, err := permitted()
	return err == nil && p.Has(unix.CAP_SYS_RESOURCE)
}

// CheckRaise reports, before anything is applied, a limit whose hard value is
// above the current one when the caller cannot raise hard limits, so that the
// failure happens at create time rather than after start.
func CheckRaise(limits []Rlimit, canRaise bool) error {
	if canRaise {
		return nil
	}
	for _, l := range limits {
		var cur unix.Rlimit
		if err := unix.Prlimit(0, l.Resource, nil, &cur); err != nil {
			return fmt.Errorf("read %s: %w", l.Name, err)
		}
		if l.Hard > cur.Max {
			return wrap(l, unix.EPERM, true)
		}
	}
	return nil
}

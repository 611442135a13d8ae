package rlimits

import (
	"fmt"

	"golang.org/x/sys/unix"
)

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

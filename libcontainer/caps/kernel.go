package caps

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LastCap returns the highest capability number the running kernel knows.
//
// It reads /proc/sys/kernel/cap_last_cap and, when that is unavailable (no
// procfs mounted yet, or a masked /proc/sys), probes with PR_CAPBSET_READ,
// which fails with EINVAL exactly for numbers above the kernel's last cap.
func LastCap() (int, error) {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && n >= 0 && n <= maxCap {
			return n, nil
		}
	}
	return probeLastCap()
}

func probeLastCap() (int, error) {
	for c := maxCap; c >= 0; c-- {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return 0, fmt.Errorf("probe last capability: prctl(PR_CAPBSET_READ, %d): %w", c, err)
		}
	}
	return 0, errors.New("probe last capability: the kernel accepts no capability number")
}

// CurrentBounding returns the bounding set of the calling thread, including
// capabilities above this package's table up to the kernel's last one.
func CurrentBounding() (Set, error) {
	last, err := LastCap()
	if err != nil {
		return 0, err
	}
	var s Set
	for c := 0; c <= last; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			return 0, fmt.Errorf("read bounding set: prctl(PR_CAPBSET_READ, %s): %w", Name(c), err)
		}
		if in == 1 {
			s = s.With(c)
		}
	}
	return s, nil
}

// DropUnavailable removes from every set the capabilities that are not in the
// runtime's own bounding set: no process can gain those, so asking for them
// would make capset or PR_CAP_AMBIENT_RAISE fail. runtime-spec v1.3 wants a
// warning rather than a failed container, so one warning per capability is
// returned for the caller to log.
func (s Sets) DropUnavailable() (Sets, []string) {
	bnd, err := CurrentBounding()
	if err != nil {
		// Without the bounding set nothing can be checked; applying the sets
		// unchanged is the best remaining option, and the kernel still has
		// the last word.
		return s, []string{fmt.Sprintf("cannot check requested capabilities against the runtime's bounding set: %v", err)}
	}
	return s.dropNotIn(bnd)
}

// dropNotIn is DropUnavailable against a given bounding set, so the logic can
// be tested without depending on the machine.
func (s Sets) dropNotIn(bnd Set) (Sets, []string) {
	var warnings []string
	for _, c := range (s.union() &^ bnd).Caps() {
		warnings = append(warnings, fmt.Sprintf("capability %s is not in the runtime's bounding set and cannot be granted; ignoring it", Name(c)))
		s = s.without(c)
	}
	return s, warnings
}

package caps

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Capabilities are per thread in Linux: prctl(PR_CAPBSET_DROP), capset(2)
// and PR_CAP_AMBIENT change only the calling thread. That is enough here
// because the container init runs with runtime.LockOSThread() and calls
// execve(2) from that same thread, and execve builds the new process from
// the calling thread's credentials. Callers other than that init must lock
// their thread too, or the changes land on an arbitrary Go thread.

// DropBounding removes from the calling thread's bounding set every
// capability in [0, LastCap()] that is not in keep.Bounding. Dropping needs
// CAP_SETPCAP in the effective set, so call it before Apply lowers that.
// Capabilities already absent are skipped, which lets a process without
// CAP_SETPCAP succeed when there is nothing left to drop.
func DropBounding(keep Sets) error {
	last, err := LastCap()
	if err != nil {
		return fmt.Errorf("drop bounding set: %w", err)
	}
	for c := 0; c <= last; c++ {
		if keep.Bounding.Has(c) {
			continue
		}
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			return fmt.Errorf("drop %s from the bounding set: read: %w", Name(c), err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", Name(c), err)
		}
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets of the calling
// thread with capset(2). The kernel only lets permitted shrink, effective be
// a subset of permitted, and inheritable grow within the bounding set (or
// the permitted set without CAP_SETPCAP); on failure the error names the
// requested capabilities the thread does not have permitted.
func Apply(s Sets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	// Version 3 splits each 64-bit set into a low and a high 32-bit word.
	data := [2]unix.CapUserData{
		{Effective: uint32(s.Effective), Permitted: uint32(s.Permitted), Inheritable: uint32(s.Inheritable)},
		{Effective: uint32(s.Effective >> 32), Permitted: uint32(s.Permitted >> 32), Inheritable: uint32(s.Inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w%s", err, missingHint(s, err))
	}
	return nil
}

// missingHint explains an EPERM from capset by naming the requested
// capabilities the thread cannot take: effective or permitted ones it no
// longer has permitted, and inheritable ones outside its bounding set.
func missingHint(s Sets, err error) string {
	if !errors.Is(err, unix.EPERM) {
		return ""
	}
	var reasons []string
	if cur, err := current(); err == nil {
		if m := (s.Permitted | s.Effective) &^ cur.Permitted; m != 0 {
			reasons = append(reasons, "not in the permitted set: "+m.String())
		}
		if bnd, err := CurrentBounding(); err == nil {
			if m := s.Inheritable &^ (cur.Inheritable | bnd); m != 0 {
				reasons = append(reasons, "not in the bounding set: "+m.String())
			}
		}
	}
	if len(reasons) == 0 {
		return ""
	}
	return " (" + strings.Join(reasons, "; ") + ")"
}

// current reads the calling thread's effective, permitted and inheritable
// sets with capget(2).
func current() (Sets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return Sets{}, fmt.Errorf("capget: %w", err)
	}
	join := func(lo, hi uint32) Set { return Set(lo) | Set(hi)<<32 }
	return Sets{
		Effective:   join(data[0].Effective, data[1].Effective),
		Permitted:   join(data[0].Permitted, data[1].Permitted),
		Inheritable: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

// ApplyAmbient clears the calling thread's ambient set and raises each
// capability of s.Ambient. The kernel raises an ambient capability only if
// it is already in both the permitted and the inheritable set, so the caller
// must have run Apply with those first (FromSpec already drops ambient
// capabilities the spec does not also make permitted and inheritable).
func ApplyAmbient(s Sets) error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for _, c := range s.Ambient.Caps() {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", Name(c), err)
		}
	}
	return nil
}

// CurrentPermitted is the calling thread's permitted set.
func CurrentPermitted() (Set, error) {
	s, err := current()
	return s.Permitted, err
}

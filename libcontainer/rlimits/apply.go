package rlimits

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Apply sets each limit on the calling process. Limits are per process, so
// unlike capabilities the thread does not matter.
//
// The init must call it before it drops CAP_SYS_RESOURCE: raising a hard
// limit needs that capability, and the kernel checks it in the initial user
// namespace, so a rootless container can only lower hard limits.
func Apply(limits []Rlimit) error {
	for _, l := range limits {
		if err := apply(l); err != nil {
			return err
		}
	}
	return nil
}

func apply(l Rlimit) error {
	var old unix.Rlimit
	haveOld := unix.Prlimit(0, l.Resource, nil, &old) == nil
	var err error
	if l.Resource == unix.RLIMIT_NOFILE {
		// Since Go 1.21 the runtime raises its own soft RLIMIT_NOFILE at
		// start-up and remembers the original. syscall.Exec puts that
		// original back unconditionally before execve(2) (forks via os/exec
		// do too, unless the limit changed), so a limit set with a raw
		// prlimit(2) would be undone exactly when the init execs the user
		// process. syscall.Setrlimit is the documented way to tell the
		// runtime the new limit is deliberate and must be kept. (Recent
		// x/sys/unix.Prlimit does the same through a linkname, but that is
		// not a promise.)
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: l.Soft, Max: l.Hard})
	} else {
		err = unix.Prlimit(0, l.Resource, &unix.Rlimit{Cur: l.Soft, Max: l.Hard}, nil)
	}
	if err != nil {
		return wrap(l, err, haveOld && l.Hard > old.Max)
	}
	return nil
}

// wrap names the limit and the values, and explains the two usual causes of
// EPERM: raising a hard limit without CAP_SYS_RESOURCE, and RLIMIT_NOFILE
// above fs.nr_open, which no capability can exceed.
func wrap(l Rlimit, err error, raisingHard bool) error {
	hint := ""
	if errors.Is(err, unix.EPERM) {
		var hints []string
		if raisingHard {
			hints = append(hints, "raising a hard limit needs CAP_SYS_RESOURCE")
		}
		if l.Resource == unix.RLIMIT_NOFILE {
			if ceiling, ok := nrOpen(); ok && l.Hard > ceiling {
				hints = append(hints, "RLIMIT_NOFILE cannot exceed fs.nr_open = "+strconv.FormatUint(ceiling, 10))
			}
		}
		if len(hints) > 0 {
			hint = " (" + strings.Join(hints, "; ") + ")"
		}
	}
	return fmt.Errorf("set %s to %s/%s: %w%s", l.Name, format(l.Soft), format(l.Hard), err, hint)
}

// nrOpen reads the kernel's ceiling for RLIMIT_NOFILE; it is only used to
// explain an error, so failure to read it just drops the explanation.
func nrOpen() (uint64, bool) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// format prints a limit the way ulimit and /proc/<pid>/limits do.
func format(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

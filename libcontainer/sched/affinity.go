package sched

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxCPUs is how many CPUs a unix.CPUSet can name.
const maxCPUs = len(unix.CPUSet{}) * 64

// ParseCPUSet parses a cpu list such as "0-3,7" (comma-separated CPU numbers and inclusive
// ranges, as in cpuset.cpus). Whitespace around items is tolerated; an empty list, an empty
// item, a reversed range or a CPU beyond what a unix.CPUSet holds is an error.
func ParseCPUSet(s string) (unix.CPUSet, error) { return parseList("cpu", "CPU", s) }

// parseList parses a list of ids in cpuset syntax ("0-3,7") into a bit set; kind and unit
// name them in errors ("cpu list", "is not a CPU number").
func parseList(kind, unit, s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	err := parseIDs(kind, unit, s, maxCPUs, set.Set)
	return set, err
}

// parseIDs parses a list in cpuset syntax, calling add for every id in it
// (ids are below max).
func parseIDs(kind, unit, s string, max int, add func(id int)) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty %s list", kind)
	}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := parseID(unit, lo, max)
		if err != nil {
			return fmt.Errorf("%s list %q: item %q: %w", kind, s, item, err)
		}
		last := first
		if isRange {
			if last, err = parseID(unit, hi, max); err != nil {
				return fmt.Errorf("%s list %q: item %q: %w", kind, s, item, err)
			}
			if last < first {
				return fmt.Errorf("%s list %q: item %q: range ends before it starts", kind, s, item)
			}
		}
		for id := first; id <= last; id++ {
			add(id)
		}
	}
	return nil
}

func parseID(unit, s string, max int) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a %s number", s, unit)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n >= max {
		return 0, fmt.Errorf("%s %s is beyond the %d %ss this runtime can address", unit, s, max, unit)
	}
	return n, nil
}

// ValidateCPUAffinity checks process.execCPUAffinity; empty fields mean "leave the affinity
// alone" and are valid, as is nil.
func ValidateCPUAffinity(a *specs.CPUAffinity) error {
	if a == nil {
		return nil
	}
	if a.Initial != "" {
		if _, err := ParseCPUMask(a.Initial); err != nil {
			return fmt.Errorf("process.execCPUAffinity.initial: %w", err)
		}
	}
	if a.Final != "" {
		if _, err := ParseCPUMask(a.Final); err != nil {
			return fmt.Errorf("process.execCPUAffinity.final: %w", err)
		}
	}
	return nil
}

// SetAffinity restricts the calling thread to set with sched_setaffinity(2). Threads and
// processes it creates afterwards inherit the mask. CPUMask does the same for masks of any
// size (process.execCPUAffinity goes through it).
func SetAffinity(set unix.CPUSet) error {
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return os.NewSyscallError("sched_setaffinity", err)
	}
	return nil
}

// OnThreadWithAffinity runs fn on a fresh OS thread restricted to set, so that processes fn
// starts (exec.Cmd.Start forks from the calling thread) inherit the mask. The thread is
// never unlocked: Go destroys it when fn returns, so no other goroutine ever runs with the
// narrowed mask.
func OnThreadWithAffinity(set unix.CPUSet, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := SetAffinity(set); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

package devices

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SetV1 enforces rules in a cgroup v1 devices directory. It validates the
// rules and computes the final state first (so a rule v1 cannot express
// fails before any write), reads devices.list, and writes only the
// difference when it can (see v1Writes).
func SetV1(dir string, rules []specs.LinuxDeviceCgroup) error {
	parsed, err := parseRules(rules)
	if err != nil {
		return err
	}
	target, err := v1Target(parsed)
	if err != nil {
		return err
	}
	// An unreadable list only costs a reset, which is always correct.
	var current *v1State
	if data, err := os.ReadFile(filepath.Join(dir, "devices.list")); err == nil {
		current = parseV1List(data)
	}
	return applyV1Writes(dir, v1Writes(current, target))
}

// applyV1Writes performs each write as its own write(2): the kernel takes
// one rule per write.
func applyV1Writes(dir string, writes []v1Write) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, w := range writes {
		f := files[w.file]
		if f == nil {
			var err error
			// O_APPEND keeps every write when dir is a plain directory in tests.
			f, err = os.OpenFile(filepath.Join(dir, w.file), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return fmt.Errorf("linux.resources.devices: %w", err)
			}
			files[w.file] = f
		}
		if _, err := f.WriteString(w.line + "\n"); err != nil {
			return fmt.Errorf("linux.resources.devices: writing %q to %s: %w%s", w.line, f.Name(), err, v1Hint(w, err))
		}
	}
	for name, f := range files {
		delete(files, name)
		if err := f.Close(); err != nil {
			return fmt.Errorf("linux.resources.devices: %w", err)
		}
	}
	return nil
}

// v1Hint explains the kernel's terse refusals.
func v1Hint(w v1Write, err error) string {
	switch {
	case errors.Is(err, unix.EPERM) && w.file == "devices.allow":
		return " (the parent cgroup does not allow it)"
	case errors.Is(err, unix.EINVAL) && w.line == "a":
		return " (a cgroup with child cgroups cannot switch its default)"
	}
	return ""
}

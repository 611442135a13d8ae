package sysctl

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/procfs"
)

// Write sets each linux.sysctl entry through procFd, the procfs handle the
// parent opened on the host (procfs.OpenHost), in sorted key order so that a
// failure is reproducible. It runs in the init, inside the container's
// namespaces: namespaced sysctls are those of the writer's namespaces, not of
// the procfs instance, so the host's procfs reaches the container's. Validate
// must have accepted the map on the host.
func Write(procFd int, sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	keys, err := parseKeys(sysctl)
	if err != nil {
		return err
	}
	return writeKeys(procFd, "/proc", keys, sysctl)
}

// writeUnder is Write through the procfs mounted at procDir, for tests.
func writeUnder(procDir string, sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	keys, err := parseKeys(sysctl)
	if err != nil {
		return err
	}
	procFd, err := procfs.OpenDir(procDir, procfs.Require)
	if err != nil {
		return fmt.Errorf("linux.sysctl: %w", err)
	}
	defer unix.Close(procFd)
	return writeKeys(procFd, procDir, keys, sysctl)
}

// parseKeys parses every key before the kernel is touched, so that a bad
// key in the middle of the map does not leave the earlier ones applied.
func parseKeys(sysctl map[string]string) ([]key, error) {
	names := sortedKeys(sysctl)
	keys := make([]key, len(names))
	for i, name := range names {
		k, err := parseKey(name)
		if err != nil {
			return nil, fmt.Errorf("linux.sysctl: %w", err)
		}
		keys[i] = k
	}
	return keys, nil
}

func writeKeys(procFd int, procDir string, keys []key, sysctl map[string]string) error {
	if err := procfs.Require(procFd, procDir); err != nil {
		return fmt.Errorf("linux.sysctl: %w", err)
	}
	names := sortedKeys(sysctl)
	for i, k := range keys {
		// A sysctl takes its value from one write(2); a short write is an
		// error (procfs treats a second write at an offset differently).
		if err := procfs.WriteFile(procFd, procDir, "sys/"+k.path, sysctl[names[i]], false); err != nil {
			return fmt.Errorf("linux.sysctl: %q: %w", k.dotted, err)
		}
	}
	return nil
}

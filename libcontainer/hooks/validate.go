package hooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Validate checks what create can check of every hook without touching the
// filesystem: path is set and absolute, and timeout, if set, is greater than
// zero. The error names the field, e.g. "hooks.createRuntime[1].path".
func Validate(h *specs.Hooks) error {
	for _, kind := range Kinds() {
		for i, hook := range Of(h, kind) {
			if err := validateOne(hook); err != nil {
				return fmt.Errorf("hooks.%s[%d].%w", kind, i, err)
			}
		}
	}
	return nil
}

// validateOne's errors read "field: message", so that Validate's
// "hooks.<kind>[i]." prefix makes the full JSON path.
func validateOne(h specs.Hook) error {
	switch {
	case h.Path == "":
		return errors.New("path: is required")
	case !filepath.IsAbs(h.Path):
		return fmt.Errorf("path: %q must be absolute", h.Path)
	case h.Timeout != nil && *h.Timeout <= 0:
		return fmt.Errorf("timeout: %d must be greater than zero", *h.Timeout)
	}
	return nil
}

// CheckRuntimePaths checks, at create time, that the path of every hook that
// resolves in the runtime namespace (every kind but startContainer) names an
// executable regular file, so that a typo fails create at once instead of
// after the container was half set up or, for poststop, at delete. Call it
// after Validate. startContainer paths resolve inside the container and are
// only found out when the hook runs.
func CheckRuntimePaths(h *specs.Hooks) error {
	for _, kind := range Kinds() {
		if ResolvesInContainer(kind) {
			continue
		}
		for i, hook := range Of(h, kind) {
			if err := checkExecutable(hook.Path); err != nil {
				return fmt.Errorf("hooks.%s[%d].path: %w", kind, i, err)
			}
		}
	}
	return nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		// *PathError already reads "stat /x: no such file or directory".
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: not executable (mode %s)", path, fi.Mode().Perm())
	}
	return nil
}

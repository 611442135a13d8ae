package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ResolveRootfs returns the absolute, cleaned path of the container's root
// filesystem. A relative root.path is taken relative to the bundle, as the
// runtime-spec requires, not to the caller's working directory. The path must
// exist and be a directory (symlinks to directories are followed).
func ResolveRootfs(s *specs.Spec, bundle string) (string, error) {
	if s == nil || s.Root == nil {
		return "", errors.New("root: required")
	}
	if s.Root.Path == "" {
		return "", errors.New("root.path: required")
	}
	p := s.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("root.path: rootfs %s: %w", p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("root.path: rootfs %s: %w", abs, bareErr(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("root.path: rootfs %s: %w", abs, syscall.ENOTDIR)
	}
	return abs, nil
}

// bareErr strips the operation and path from an *os.PathError so messages
// can name the path once, in nook's words, while errors.Is still sees the
// underlying errno (fs.ErrNotExist and friends).
func bareErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

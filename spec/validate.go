package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Validate checks the parts of a config that nook relies on before it
// creates anything, so that bad input fails early with one clear line.
// Every error starts with the JSON path of the offending field; only the
// first problem found is reported.
func Validate(s *specs.Spec, bundle string) error {
	if s == nil {
		return errors.New("config: missing")
	}
	if err := checkVersion(s.Version); err != nil {
		return err
	}
	if _, err := ResolveRootfs(s, bundle); err != nil {
		return err
	}
	if err := checkProcess(s.Process); err != nil {
		return err
	}
	if err := checkMounts(s.Mounts); err != nil {
		return err
	}
	return checkLinux(s)
}

func checkProcess(p *specs.Process) error {
	// runtime-spec (config.md) makes process optional for create and
	// required only by start, which refuses a container without one.
	if p == nil {
		return nil
	}
	if len(p.Args) == 0 {
		return errors.New("process.args: must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd %q: must be an absolute path", p.Cwd)
	}
	for i, e := range p.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("process.env[%d] %q: must be of the form KEY=VALUE", i, e)
		}
	}
	if err := checkRlimits(p.Rlimits); err != nil {
		return err
	}
	if err := checkOOMScoreAdj(p); err != nil {
		return err
	}
	return nil
}

func checkRlimits(rl []specs.POSIXRlimit) error {
	seen := make(map[string]bool, len(rl))
	for i, r := range rl {
		if !strings.HasPrefix(r.Type, "RLIMIT_") {
			return fmt.Errorf("process.rlimits[%d].type %q: must start with RLIMIT_", i, r.Type)
		}
		if !contains(rlimitTypes, r.Type) {
			return fmt.Errorf("process.rlimits[%d].type %q: unknown rlimit", i, r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("process.rlimits[%d].type %q: duplicate rlimit", i, r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fmt.Errorf("process.rlimits[%d] %s: soft limit %d is greater than hard limit %d",
				i, r.Type, r.Soft, r.Hard)
		}
	}
	return nil
}

func checkMounts(ms []specs.Mount) error {
	for i, m := range ms {
		if m.Destination == "" {
			return fmt.Errorf("mounts[%d].destination: required", i)
		}
		// A relative destination is taken from "/" with a deprecation
		// warning, as runc does (rootfs.NormalizeDestinations at create).
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkOOMScoreAdj: the kernel refuses values outside this range with
// EINVAL, far from the config; say so up front.
func checkOOMScoreAdj(p *specs.Process) error {
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return fmt.Errorf("process.oomScoreAdj %d: must be between -1000 and 1000", *p.OOMScoreAdj)
	}
	return nil
}

package cgroups

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// maxCPUListID bounds the ids a cpu/mem list may name, so a list like
// "0-4294967295" cannot make nook allocate without end.
const maxCPUListID = 1 << 16

// parseCPUList parses a kernel cpu list ("0-3,5,7-8") into a set.
func parseCPUList(s string) (map[int]bool, error) {
	set := map[int]bool{}
	s = strings.TrimSpace(s)
	if s == "" {
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a cpu list (bad %q)", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a cpu list (bad range %q)", s, part)
			}
		}
		if b >= maxCPUListID {
			return nil, fmt.Errorf("%q is not a cpu list (%d is too large)", s, b)
		}
		for i := a; i <= b; i++ {
			set[i] = true
		}
	}
	return set, nil
}

// formatCPUList is parseCPUList's inverse, for error messages.
func formatCPUList(set map[int]bool) string {
	var parts []string
	for i := 0; i < maxCPUListID; i++ {
		if !set[i] {
			continue
		}
		j := i
		for j+1 < maxCPUListID && set[j+1] {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(i))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", i, j))
		}
		i = j
	}
	return strings.Join(parts, ",")
}

// allowedCPUs reads the CPUs (or memory nodes, kind "mems") a cgroup at dir
// may use: those of its closest ancestor with a non-empty cpuset, which on
// a plain host is the root cpuset, i.e. the host's.
func allowedCPUs(dir, kind string, v2 bool) (map[int]bool, string, error) {
	var files []string
	switch {
	case v2:
		files = []string{"cpuset." + kind + ".effective"}
	default:
		files = []string{"cpuset.effective_" + kind, "cpuset." + kind}
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		for _, f := range files {
			s, err := readFile(d, f)
			if err != nil || s == "" {
				continue
			}
			set, err := parseCPUList(s)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", filepath.Join(d, f), err)
			}
			return set, filepath.Join(d, f), nil
		}
		if d == "/" || d == "." {
			return nil, "", fmt.Errorf("no ancestor of %s has a cpuset to check against", dir)
		}
	}
}

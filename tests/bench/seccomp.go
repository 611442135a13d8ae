package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/seccomp"
)

// seccompBudget is issue 6's limit on what a create pays for a
// Docker-default-sized profile.
const seccompBudget = 2 * time.Millisecond

// seccompReport times compiling a Docker-like profile the way `nook create`
// does it: cold (first create with this profile) and from the compile cache
// under --root (every later create). It returns false if the cached path, the
// one creates take, is over budget.
func seccompReport(profile string, n int) bool {
	b, err := os.ReadFile(profile)
	if err != nil {
		fmt.Printf("seccomp: skipped (%v)\n", err)
		return true
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(b, &s); err != nil {
		fmt.Printf("seccomp: %s: %v\n", profile, err)
		return false
	}
	cache, err := os.MkdirTemp("", "nook-bench-seccomp-")
	if err != nil {
		fmt.Printf("seccomp: %v\n", err)
		return false
	}
	defer os.RemoveAll(cache)
	median := func(f func() error) (time.Duration, error) {
		var d []time.Duration
		for i := 0; i < n; i++ {
			start := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			d = append(d, time.Since(start))
		}
		sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
		return d[len(d)/2], nil
	}
	cold, err := median(func() error { _, err := seccomp.Compile(&s, nil); return err })
	if err != nil {
		fmt.Printf("seccomp: compile: %v\n", err)
		return false
	}
	if _, err := seccomp.CompileCached(&s, nil, cache); err != nil {
		fmt.Printf("seccomp: compile: %v\n", err)
		return false
	}
	cached, err := median(func() error { _, err := seccomp.CompileCached(&s, nil, cache); return err })
	if err != nil {
		fmt.Printf("seccomp: compile: %v\n", err)
		return false
	}
	ok := cached <= seccompBudget
	verdict := "within"
	if !ok {
		verdict = "OVER"
	}
	names := 0
	for _, sc := range s.Syscalls {
		names += len(sc.Names)
	}
	fmt.Printf("seccomp: %s (%d syscall names in %d rules, %d architectures): cold compile %.2f ms (first create with a profile), cached %.3f ms (every later create): %s the %v budget\n",
		profile, names, len(s.Syscalls), len(s.Architectures), ms(cold), ms(cached), verdict, seccompBudget)
	return ok
}

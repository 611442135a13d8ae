package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// startupReport measures what one command costs before it does any work:
// each runtime's `state` of an id that does not exist (start-up, argument
// parsing, one failed lookup, exit), next to /bin/true and a Go program
// whose main is empty, built here with the toolchain running the bench.
// A lifecycle runs five such processes (create, the container's init,
// start, state, delete), so this is the floor under every ratio above: no
// Go runtime, whatever it does, starts faster than the empty program.
func startupReport(rts []*runtime, baseline string, n int) {
	dir, err := os.MkdirTemp("", "nook-bench-startup-")
	if err != nil {
		fmt.Printf("start-up: %v\n", err)
		return
	}
	defer os.RemoveAll(dir)
	empty, err := buildEmptyGo(dir)
	if err != nil {
		fmt.Printf("start-up: empty Go program not built (%v); skipped\n", err)
		return
	}
	type probe struct {
		name string
		argv []string
		runs []time.Duration
	}
	probes := []*probe{
		{name: "/bin/true", argv: []string{"/bin/true"}},
		{name: "empty Go program (static, no cgo)", argv: []string{empty}},
	}
	for _, rt := range rts {
		if rt.skipped != "" {
			continue
		}
		probes = append(probes, &probe{name: rt.name + " state <missing id>",
			argv: []string{rt.path, "--root", filepath.Join(dir, "root-"+rt.name), "state", "nook-bench-missing"}})
	}
	// Interleaved, so that a burst of load on the machine hits all alike.
	for i := 0; i < n; i++ {
		for _, p := range probes {
			cmd := exec.Command(p.argv[0], p.argv[1:]...)
			t := time.Now()
			_ = cmd.Run() // state of a missing id exits 1: expected
			p.runs = append(p.runs, time.Since(t))
		}
	}
	fmt.Printf("\nstart-up of one command (median of %d, exec to exit):\n", n)
	med := map[string]float64{}
	for _, p := range probes {
		sort.Slice(p.runs, func(i, j int) bool { return p.runs[i] < p.runs[j] })
		m := ms(p.runs[len(p.runs)/2])
		med[p.name] = m
		fmt.Printf("  %-40s %7.2f ms\n", p.name, m)
	}
	if base := med[baseline+" state <missing id>"]; base > 0 {
		fmt.Printf("  empty Go program / %s state: %.2f (the lowest per-command ratio any Go runtime can reach here)\n",
			baseline, med[probes[1].name]/base)
		if nook := med["nook state <missing id>"]; nook > 0 {
			fmt.Printf("  nook state / %s state: %.2f\n", baseline, nook/base)
		}
	}
}

func buildEmptyGo(dir string) (string, error) {
	src := filepath.Join(dir, "empty")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module empty\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "empty-go")
	cmd := exec.Command("go", "build", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return bin, nil
}

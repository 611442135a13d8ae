package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOOMKillCount(t *testing.T) {
	v1, v2 := t.TempDir(), t.TempDir()
	write := func(dir, file, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(v1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	write(v2, "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
	for _, tc := range []struct {
		name string
		st   State
		n    uint64
		ok   bool
	}{
		{"v1", State{Mode: ModeV1, Paths: map[string]string{"memory": v1, "": v2}}, 2, true},
		{"hybrid", State{Mode: ModeHybrid, Paths: map[string]string{"memory": v1, "": v2}}, 2, true},
		{"v2", State{Mode: ModeV2, Paths: map[string]string{"": v2}}, 1, true},
		{"no memory cgroup", State{Mode: ModeV1, Paths: map[string]string{"cpu": v1}}, 0, false},
		{"no counter", State{Mode: ModeV2, Paths: map[string]string{"": t.TempDir()}}, 0, false},
	} {
		if n, ok := OOMKillCount(tc.st); n != tc.n || ok != tc.ok {
			t.Errorf("%s: OOMKillCount = %d, %v; want %d, %v", tc.name, n, ok, tc.n, tc.ok)
		}
	}
}

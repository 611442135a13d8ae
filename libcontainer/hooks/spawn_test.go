package hooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestWithSpawnerStartsEveryHook(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "state.json")
	type call struct {
		path       string
		argv, env  []string
		stdioFiles int
	}
	var calls []call
	spawn := func(path string, argv, env []string, stdio []*os.File) (*os.Process, error) {
		calls = append(calls, call{path, argv, env, len(stdio)})
		return startProcess(path, argv, env, stdio)
	}
	ctx := WithSpawner(context.Background(), spawn)
	hooks := []specs.Hook{shHook("cat > " + out), {Path: "/bin/true", Env: []string{"A=1"}}}
	if err := RunContext(ctx, StartContainer, hooks, testState()); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].path != "/bin/sh" || !slices.Equal(calls[0].argv, hooks[0].Args) ||
		len(calls[0].env) != 0 || calls[0].stdioFiles != 3 ||
		calls[1].path != "/bin/true" || !slices.Equal(calls[1].argv, []string{"/bin/true"}) || !slices.Equal(calls[1].env, []string{"A=1"}) {
		t.Errorf("spawner calls %+v", calls)
	}
	// The spawned hook got the state on its stdin.
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"id":"hooks-test"`) {
		t.Errorf("hook's stdin: %q, %v", b, err)
	}
}

func TestSpawnerFailureIsTheHooks(t *testing.T) {
	ctx := WithSpawner(context.Background(), func(string, []string, []string, []*os.File) (*os.Process, error) {
		return nil, errors.New("seccomp: load filter: invalid argument")
	})
	err := RunContext(ctx, StartContainer, []specs.Hook{shHook("true")}, testState())
	want := "startContainer hook #0 (/bin/sh): cannot execute: seccomp: load filter: invalid argument"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestNilSpawnerIsTheDefault(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ran")
	ctx := WithSpawner(context.Background(), nil)
	if err := RunContext(ctx, StartContainer, []specs.Hook{shHook("touch " + out)}, testState()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the hook did not run: %v", err)
	}
}

package hooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidate(t *testing.T) {
	ok := specs.Hook{Path: "/usr/bin/true"}
	tests := []struct {
		name  string
		hooks specs.Hooks
		want  string // "" for valid
	}{
		{"empty", specs.Hooks{}, ""},
		{"valid", specs.Hooks{CreateRuntime: []specs.Hook{ok, {Path: "/x", Timeout: seconds(3)}}}, ""},
		{"relative path", specs.Hooks{CreateRuntime: []specs.Hook{ok, {Path: "bin/hook"}}},
			`hooks.createRuntime[1].path: "bin/hook" must be absolute`},
		{"missing path", specs.Hooks{Poststop: []specs.Hook{{Args: []string{"x"}}}},
			"hooks.poststop[0].path: is required"},
		{"zero timeout", specs.Hooks{StartContainer: []specs.Hook{{Path: "/x", Timeout: seconds(0)}}},
			"hooks.startContainer[0].timeout: 0 must be greater than zero"},
		{"negative timeout", specs.Hooks{Prestart: []specs.Hook{{Path: "/x", Timeout: seconds(-2)}}},
			"hooks.prestart[0].timeout: -2 must be greater than zero"},
		{"first error in lifecycle order", specs.Hooks{
			Poststart:       []specs.Hook{{Path: "a"}},
			CreateContainer: []specs.Hook{ok, ok, {Path: "b"}},
		}, `hooks.createContainer[2].path: "b" must be absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(&tt.hooks)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
	if err := Validate(nil); err != nil {
		t.Errorf("Validate(nil) = %v", err)
	}
}

func TestCheckRuntimePaths(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "hook")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name  string
		hooks specs.Hooks
		want  string // substring of the error; "" for none
	}{
		{"existing executables", specs.Hooks{CreateRuntime: []specs.Hook{{Path: exe}}, Poststop: []specs.Hook{{Path: exe}}}, ""},
		{"startContainer resolves in the container", specs.Hooks{StartContainer: []specs.Hook{{Path: missing}}}, ""},
		{"missing poststop", specs.Hooks{Poststop: []specs.Hook{{Path: exe}, {Path: missing}}},
			"hooks.poststop[1].path: stat " + missing + ": no such file or directory"},
		{"createContainer resolves in the runtime", specs.Hooks{CreateContainer: []specs.Hook{{Path: missing}}},
			"hooks.createContainer[0].path: stat " + missing},
		{"not executable", specs.Hooks{Prestart: []specs.Hook{{Path: plain}}},
			"hooks.prestart[0].path: " + plain + ": not executable (mode -rw-r--r--)"},
		{"directory", specs.Hooks{Poststart: []specs.Hook{{Path: dir}}},
			"hooks.poststart[0].path: " + dir + ": not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRuntimePaths(&tt.hooks)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want it to contain %s", err, tt.want)
			}
		})
	}
}

func TestOfAndKinds(t *testing.T) {
	h := &specs.Hooks{
		Prestart:        []specs.Hook{{Path: "/p"}},
		CreateRuntime:   []specs.Hook{{Path: "/cr"}},
		CreateContainer: []specs.Hook{{Path: "/cc"}},
		StartContainer:  []specs.Hook{{Path: "/sc"}},
		Poststart:       []specs.Hook{{Path: "/ps"}},
		Poststop:        []specs.Hook{{Path: "/pt"}},
	}
	want := []string{"/p", "/cr", "/cc", "/sc", "/ps", "/pt"}
	kinds := Kinds()
	if len(kinds) != len(want) {
		t.Fatalf("Kinds() = %q", kinds)
	}
	for i, k := range kinds {
		if got := Of(h, k); len(got) != 1 || got[0].Path != want[i] {
			t.Errorf("Of(%s) = %v, want %s", k, got, want[i])
		}
	}
	if Of(h, "bogus") != nil || Of(nil, CreateRuntime) != nil {
		t.Error("Of of an unknown kind or nil hooks must be nil")
	}
	if !ResolvesInContainer(StartContainer) || ResolvesInContainer(CreateContainer) {
		t.Error("only startContainer resolves in the container")
	}
}

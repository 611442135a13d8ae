package caps

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func set(names ...string) Set {
	var s Set
	for _, n := range names {
		c, ok := Parse(n)
		if !ok {
			panic("test uses unknown capability " + n)
		}
		s = s.With(c)
	}
	return s
}

func TestSetOps(t *testing.T) {
	s := set("CAP_CHOWN", "CAP_CHECKPOINT_RESTORE")
	if !s.Has(0) || !s.Has(40) || s.Has(1) || s.Has(-1) || s.Has(64) {
		t.Fatalf("Has wrong for %v", s)
	}
	if got := s.Caps(); !reflect.DeepEqual(got, []int{0, 40}) {
		t.Errorf("Caps() = %v", got)
	}
	if got := s.String(); got != "CAP_CHOWN,CAP_CHECKPOINT_RESTORE" {
		t.Errorf("String() = %q", got)
	}
	if s.Without(40) != set("CAP_CHOWN") || s.With(64) != s || s.Without(-3) != s {
		t.Error("With/Without wrong")
	}
}

func TestFromSpecNil(t *testing.T) {
	s, w, err := FromSpec(nil)
	if err != nil || w != nil || s != (Sets{}) {
		t.Fatalf("FromSpec(nil) = %+v, %v, %v; want empty", s, w, err)
	}
}

func TestFromSpec(t *testing.T) {
	s, warnings, err := FromSpec(&specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_FOO"},
		Effective:   []string{"CAP_CHOWN", "CAP_FOO", "CAP_BAR"},
		Permitted:   []string{"CAP_CHOWN", "CAP_KILL"},
		Inheritable: []string{"CAP_KILL"},
		Ambient:     []string{"CAP_KILL", "CAP_CHOWN", "cap_kill"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Sets{
		Bounding:    set("CAP_CHOWN", "CAP_KILL"),
		Effective:   set("CAP_CHOWN"),
		Permitted:   set("CAP_CHOWN", "CAP_KILL"),
		Inheritable: set("CAP_KILL"),
		Ambient:     set("CAP_KILL"),
	}
	if s != want {
		t.Errorf("sets = %+v, want %+v", s, want)
	}
	wantWarnings := []string{
		`process.capabilities.bounding: unknown capability "CAP_FOO" ignored`,
		`process.capabilities.effective: unknown capability "CAP_FOO" ignored`,
		`process.capabilities.effective: unknown capability "CAP_BAR" ignored`,
		`process.capabilities.ambient: unknown capability "cap_kill" ignored`,
		`process.capabilities.ambient: CAP_CHOWN is not in both the permitted and inheritable sets, so it cannot be raised; ignoring it`,
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantWarnings)
	}
}

func TestDropNotIn(t *testing.T) {
	s := Sets{
		Bounding:  set("CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_BPF"),
		Effective: set("CAP_SYS_RESOURCE"),
		Permitted: set("CAP_SYS_RESOURCE", "CAP_BPF"),
		Ambient:   set("CAP_BPF"),
	}
	bnd := ^Set(0) &^ set("CAP_SYS_RESOURCE", "CAP_BPF")
	got, warnings := s.dropNotIn(bnd)
	if want := (Sets{Bounding: set("CAP_CHOWN")}); got != want {
		t.Errorf("sets = %+v, want %+v", got, want)
	}
	want := []string{
		"capability CAP_SYS_RESOURCE is not in the runtime's bounding set and cannot be granted; ignoring it",
		"capability CAP_BPF is not in the runtime's bounding set and cannot be granted; ignoring it",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, want)
	}
}

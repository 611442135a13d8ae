package caps

import (
	"strings"
	"testing"
)

func TestNameTable(t *testing.T) {
	all := Names()
	if len(all) != 41 {
		t.Fatalf("Names() has %d entries, want 41 (CAP_CHOWN..CAP_CHECKPOINT_RESTORE)", len(all))
	}
	seen := map[string]bool{}
	for n, name := range all {
		if !strings.HasPrefix(name, "CAP_") {
			t.Errorf("capability %d: name %q lacks the CAP_ prefix", n, name)
		}
		if seen[name] {
			t.Errorf("capability %d: duplicate name %q", n, name)
		}
		seen[name] = true
		got, ok := Parse(name)
		if !ok || got != n {
			t.Errorf("Parse(%q) = %d, %v; want %d, true", name, got, ok, n)
		}
		if Name(n) != name {
			t.Errorf("Name(%d) = %q, want %q", n, Name(n), name)
		}
	}
	// Spot-check numbers against <linux/capability.h>.
	for name, want := range map[string]int{
		"CAP_CHOWN": 0, "CAP_SETPCAP": 8, "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24,
		"CAP_AUDIT_READ": 37, "CAP_CHECKPOINT_RESTORE": 40,
	} {
		if got, _ := Parse(name); got != want {
			t.Errorf("Parse(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestParseUnknown(t *testing.T) {
	for _, name := range []string{"", "CAP_FOO", "cap_chown", "CHOWN", " CAP_CHOWN", "CAP_CHOWN\x00"} {
		if n, ok := Parse(name); ok {
			t.Errorf("Parse(%q) = %d, true; want not found", name, n)
		}
	}
}

func TestNamesIsACopy(t *testing.T) {
	Names()[0] = "CAP_CHANGED"
	if Names()[0] != "CAP_CHOWN" {
		t.Fatal("Names() exposes the package table")
	}
}

func TestNameBeyondTable(t *testing.T) {
	if got := Name(41); got != "capability 41" {
		t.Errorf("Name(41) = %q", got)
	}
}

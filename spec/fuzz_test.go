package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a bundle's config.json. Load must
// never panic; an error is one line (invariant 8: one clear error line);
// a config Load accepts must still be accepted after a JSON round trip
// through specs.Spec (what nook stores in state.json and hands to the init).
// Seeds: testdata/fuzz/FuzzLoad, plus `nook spec`'s default config below.
func FuzzLoad(f *testing.F) {
	for _, rootless := range []bool{false, true} {
		if b, err := json.Marshal(Default(rootless)); err == nil {
			f.Add(b)
		}
	}
	// One bundle per fuzzing worker, reused for every input: Load reads
	// <bundle>/config.json and checks <bundle>/rootfs exists.
	bundle := f.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	config := filepath.Join(bundle, "config.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(config, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(bundle)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
				t.Fatalf("error is not one non-empty line: %q", msg)
			}
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted config does not marshal: %v", err)
		}
		if err := os.WriteFile(config, again, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(bundle); err != nil {
			t.Fatalf("accepted config refused after a JSON round trip: %v\nfirst: %s\nagain: %s", err, data, again)
		}
	})
}

package seccomp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxFuzzProfile bounds the inputs compiled: libseccomp's time grows with
// the profile, and a fuzzer that spends seconds per input finds nothing.
const maxFuzzProfile = 64 << 10

// FuzzCompile compiles arbitrary linux.seccomp JSON. Compile must never
// panic (nor crash in libseccomp), its errors name the field they are about,
// and a program it returns must be one the kernel would take in shape
// (Instructions checks: non-empty, whole instructions, at most BPF_MAXINSNS).
// Seeds: the shared profiles in tests/testdata/seccomp and
// testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	profiles, _ := filepath.Glob(filepath.Join(profileDir, "*.json"))
	for _, p := range profiles {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzProfile {
			return
		}
		var s specs.LinuxSeccomp
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		p, err := Compile(&s, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "linux.seccomp") {
				t.Fatalf("error does not name linux.seccomp: %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("Compile returned neither a program nor an error")
		}
		if _, err := p.Instructions(); err != nil {
			t.Fatalf("compiled program is not loadable: %v", err)
		}
	})
}

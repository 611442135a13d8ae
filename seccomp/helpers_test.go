package seccomp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// profileDir holds the shared test profiles (also used by integration tests).
const profileDir = "../tests/testdata/seccomp"

// loadProfile reads a linux.seccomp object from the shared test profiles,
// replacing the @LISTENER_PATH@ placeholder with listenerPath when given.
func loadProfile(t testing.TB, name, listenerPath string) *specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(profileDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if listenerPath != "" {
		data = []byte(strings.ReplaceAll(string(data), "@LISTENER_PATH@", listenerPath))
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &s
}

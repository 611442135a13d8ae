// Package security holds regression tests for the container-escape CVE
// classes of OCI runtimes. Each test builds a real attack (a malicious image,
// config or second container) against a freshly built nook and asserts that
// it fails. Each class has tests that fail with its protection removed; the
// few that do not (nook's design leaves them nothing to attack) say so.
// They need root and /bin/busybox (busybox-static); without them every test
// is skipped with a message naming what is missing.
//
//	go test ./tests/security/ -count=1
package security

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

var (
	suite *harness.Suite
	// skip is set when the machine cannot run these tests.
	skip string
)

func TestMain(m *testing.M) {
	os.Exit(harness.Run(m, harness.Config{Prefix: "nook-security-"}, &suite, &skip))
}

// newEnv skips without root or busybox and gives the test its own world.
func newEnv(t *testing.T) *harness.Env {
	t.Helper()
	if skip != "" {
		t.Skip(skip)
	}
	t.Parallel()
	return suite.NewEnv(t)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// addCaps grants capabilities in every set but ambient: an attacker that is
// as privileged as a config may make it, so the test exercises the protection
// under test and not a capability check in front of it.
func addCaps(names ...string) harness.SpecMod {
	return func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, names...)
		c.Effective = append(c.Effective, names...)
		c.Permitted = append(c.Permitted, names...)
	}
}

// bindVolume bind-mounts a host directory into the container, read-write.
func bindVolume(src, dest string) harness.SpecMod {
	return harness.AddMount(specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"rbind", "rw"}})
}

// knownBug skips a test that demonstrates a bug found in nook and not fixed
// yet, unless NOOK_RUN_KNOWN_BUGS=1 asks to run it (to watch it fail, or to
// check a fix). The message starts with "KNOWN BUG:". Remove the call once
// the bug is fixed.
func knownBug(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("NOOK_RUN_KNOWN_BUGS") != "1" {
		t.Skip("KNOWN BUG: " + msg + " (NOOK_RUN_KNOWN_BUGS=1 runs this test)")
	}
}

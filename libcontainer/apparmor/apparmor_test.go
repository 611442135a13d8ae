package apparmor

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nookrt/nook/libcontainer/procfs"
)

func noFSCheck(int, string) error { return nil }

// fakeHost builds a tmp tree shaped like /proc and /sys for the attribute logic. The exec
// attribute files listed in attrs are created (relative to the fake /proc), and the enabled
// parameter holds param ("" means absent).
func fakeHost(t *testing.T, param string, attrs ...string) (host, string) {
	t.Helper()
	root := t.TempDir()
	h := host{
		enabledParam: filepath.Join(root, "sys", "enabled"),
		procDir:      filepath.Join(root, "proc"),
		checkFS:      noFSCheck,
	}
	if err := os.MkdirAll(filepath.Dir(h.enabledParam), 0o755); err != nil {
		t.Fatal(err)
	}
	if param != "" {
		if err := os.WriteFile(h.enabledParam, []byte(param), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range attrs {
		p := filepath.Join(h.procDir, a)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h, h.procDir
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		name  string
		param string
		attrs []string
		want  bool
	}{
		{"module attr", "Y\n", []string{"self/attr/apparmor/exec"}, true},
		{"legacy attr", "Y\n", []string{"self/attr/exec"}, true},
		{"module disabled", "N\n", []string{"self/attr/apparmor/exec"}, false},
		{"no module", "", []string{"self/attr/exec"}, false},
		{"no attribute", "Y\n", nil, false},
		{"empty parameter", "\n", []string{"self/attr/exec"}, false},
	}
	for _, tt := range tests {
		h, _ := fakeHost(t, tt.param, tt.attrs...)
		if got := h.enabled(); got != tt.want {
			t.Errorf("%s: enabled() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestApplyProfileWritesModuleAttr(t *testing.T) {
	h, proc := fakeHost(t, "Y", "thread-self/attr/apparmor/exec", "thread-self/attr/exec")
	if err := h.applyProfile("acme_secure_profile"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(proc, "thread-self/attr/apparmor/exec")); string(b) != "exec acme_secure_profile" {
		t.Fatalf("attr/apparmor/exec = %q, want %q", b, "exec acme_secure_profile")
	}
	if b, _ := os.ReadFile(filepath.Join(proc, "thread-self/attr/exec")); len(b) != 0 {
		t.Fatalf("legacy attr/exec was written too: %q", b)
	}
}

func TestApplyProfileFallsBackToLegacyAttr(t *testing.T) {
	h, proc := fakeHost(t, "Y", "thread-self/attr/exec")
	if err := h.applyProfile("docker-default"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(proc, "thread-self/attr/exec")); string(b) != "exec docker-default" {
		t.Fatalf("attr/exec = %q", b)
	}
}

func TestApplyProfileWithoutAttrNamesTheFieldAndCause(t *testing.T) {
	h, _ := fakeHost(t, "", "thread-self/attr/current")
	err := h.applyProfile("acme")
	if err == nil || !strings.HasPrefix(err.Error(), `process.apparmorProfile "acme": AppArmor is not enabled in this kernel: open `) {
		t.Fatalf("applyProfile = %v", err)
	}
}

func TestApplyEmptyProfileTouchesNothing(t *testing.T) {
	h := host{enabledParam: "/nonexistent", procDir: "/nonexistent", checkFS: procfs.Require}
	if err := h.applyProfile(""); err != nil {
		t.Fatal(err)
	}
	if err := h.validateProfile(""); err != nil {
		t.Fatal(err)
	}
}

func TestProfileWithNULRefused(t *testing.T) {
	h, proc := fakeHost(t, "Y", "thread-self/attr/apparmor/exec", "self/attr/apparmor/exec")
	for _, f := range []func(string) error{h.applyProfile, h.validateProfile} {
		if err := f("acme\x00unconfined"); err == nil || !strings.Contains(err.Error(), "NUL") {
			t.Fatalf("= %v, want a NUL refusal", err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(proc, "thread-self/attr/apparmor/exec")); len(b) != 0 {
		t.Fatalf("attr written: %q", b)
	}
}

func TestValidateProfile(t *testing.T) {
	on, _ := fakeHost(t, "Y", "self/attr/apparmor/exec")
	if err := on.validateProfile("acme"); err != nil {
		t.Fatal(err)
	}
	off, _ := fakeHost(t, "N", "self/attr/exec")
	err := off.validateProfile("acme")
	if err == nil || err.Error() != `process.apparmorProfile "acme" is set, but AppArmor is not enabled on this host` {
		t.Fatalf("validateProfile(disabled) = %v", err)
	}
}

// With the real procfs check, a fake tree is refused before anything is written.
func TestApplyProfileRefusesNonProcfs(t *testing.T) {
	h, proc := fakeHost(t, "Y", "thread-self/attr/apparmor/exec")
	h.checkFS = procfs.Require
	err := h.applyProfile("acme")
	if err == nil || !strings.Contains(err.Error(), "is not on procfs") {
		t.Fatalf("applyProfile = %v, want a not-procfs refusal", err)
	}
	if b, _ := os.ReadFile(filepath.Join(proc, "thread-self/attr/apparmor/exec")); len(b) != 0 {
		t.Fatalf("decoy written: %q", b)
	}
}

// On a host without AppArmor (this project's machines) a profile fails, as in runc, with
// an error that says why. Run on a throwaway thread so that, should AppArmor exist after
// all, the exec attribute dies with the thread.
func TestRealHostWithoutAppArmor(t *testing.T) {
	if Enabled() {
		t.Skip("AppArmor is enabled here; this test covers hosts without it")
	}
	if err := ValidateProfile("acme_secure_profile"); err == nil {
		t.Fatal("ValidateProfile accepted a profile on a host without AppArmor")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is destroyed afterwards
		proc, err := procfs.OpenHost()
		if err != nil {
			errc <- err
			return
		}
		defer proc.Close()
		errc <- ApplyProfile(int(proc.Fd()), "acme_secure_profile")
	}()
	err := <-errc
	t.Logf("ApplyProfile: %v", err)
	if err == nil || !strings.HasPrefix(err.Error(), `process.apparmorProfile "acme_secure_profile": AppArmor is not enabled in this kernel: `) {
		t.Fatalf("ApplyProfile = %v, want the not-enabled error", err)
	}
}

package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/caps"
)

func TestRecorderProcessStepsAreRecordedAndChangeWhatIsAsked(t *testing.T) {
	r := newTestRecorder(t)
	r.InRootfs()
	if wd, err := r.Getwd(); err != nil || wd != "/" {
		t.Fatalf("Getwd in the rootfs = %q, %v; want /", wd, err)
	}
	if err := r.Setgroups([]uint32{10, 20}); err != nil {
		t.Fatal(err)
	}
	if err := r.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	sets := caps.Sets{Permitted: caps.Set(0).With(unix.CAP_KILL), Effective: caps.Set(0).With(unix.CAP_KILL)}
	if err := r.ApplyCaps(sets); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.CurrentPermitted(); p != sets.Permitted {
		t.Errorf("permitted after capset = %s, want %s", p, sets.Permitted)
	}
	if err := r.Exec("/bin/sh", []string{"sh"}, []string{"HOME=/"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"setgroups 10,20",
		"prctl PR_SET_KEEPCAPS data 1",
		"capset data " + CapsetData(sets),
		`execve /bin/sh data argv ["sh"] env ["HOME=/"]`,
	}
	var got []string
	for _, c := range r.Calls() {
		got = append(got, c.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	if e, ok := r.LastExec(); !ok || e.Path != "/bin/sh" || !slices.Equal(e.Env, []string{"HOME=/"}) {
		t.Errorf("LastExec = %+v, %v", e, ok)
	}
}

func TestRecorderFailOnceFailsTheNextCallOnly(t *testing.T) {
	r := newTestRecorder(t)
	r.InRootfs()
	if err := os.Mkdir(filepath.Join(r.rootfs, "w"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.FailOnce("chdir", "/w", unix.EACCES)
	if err := r.Chdir("/w"); !errors.Is(err, unix.EACCES) {
		t.Fatalf("first chdir: %v, want EACCES", err)
	}
	if err := r.Chdir("/w"); err != nil {
		t.Fatalf("second chdir: %v", err)
	}
	if wd, err := r.Getwd(); err != nil || wd != "/w" {
		t.Fatalf("Getwd = %q, %v; want /w", wd, err)
	}
}

func TestRecorderGetwdOutsideTheRootIsENOENT(t *testing.T) {
	r := newTestRecorder(t)
	// The working directory stays on the host's side of a chroot, as an fd
	// leaked into the container would put it (CVE-2024-21626).
	if err := r.Chroot("/bundle/rootfs"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Getwd(); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Getwd outside the root: %v, want ENOENT", err)
	}
}

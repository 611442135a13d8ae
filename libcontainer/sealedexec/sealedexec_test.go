package sealedexec

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCopyIsSealedAndRuns(t *testing.T) {
	sh, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skipf("no /bin/true to copy: %v", err)
	}
	f, err := Copy("nook-test-true", bytes.NewReader(sh))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got&seals != seals {
		t.Errorf("seals %#x, want %#x set", got, seals)
	}
	if _, err := f.WriteAt([]byte{0}, 0); err == nil {
		t.Error("wrote into a sealed program")
	}
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd flags %#x (%v): want close-on-exec", flags, err)
	}
	path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil || !strings.HasPrefix(path, "/memfd:nook-test-true") {
		t.Errorf("memfd is %q (%v), want /memfd:nook-test-true…", path, err)
	}
	// It runs (a child's fd 3 is the copy: ours is close-on-exec).
	dup, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	cmd := exec.Command("/proc/self/fd/3")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(dup), "dup")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run the sealed copy: %v %s", err, out)
	}
}

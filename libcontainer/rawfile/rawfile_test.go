package rawfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadFileAsOSReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 4097, 100000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("x"), size)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
	// A /proc file reports size 0 and is read to its end.
	got, err := ReadFile("/proc/self/status")
	if err != nil || !strings.Contains(string(got), "VmRSS") && !strings.Contains(string(got), "Name:") {
		t.Errorf("/proc/self/status: %q, %v", got, err)
	}
}

func TestReadFileErrorsAsOSReadFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := ReadFile(missing)
	_, osErr := os.ReadFile(missing)
	if !errors.Is(err, os.ErrNotExist) || err.Error() != osErr.Error() {
		t.Errorf("missing file: %v, want %v", err, osErr)
	}
	if _, err := Open(missing, os.O_RDONLY); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: %v", err)
	}
}

// Control hands fn the descriptor, returns fn's error, and leaves a
// non-blocking file (a pipe from os.Pipe) non-blocking, as Fd would not.
func TestControl(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var flags int
	if err := Control(r, func(fd int) error {
		flags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK == 0 {
		t.Fatalf("os.Pipe's end is blocking (flags %#x)", flags)
	}
	if err := Control(r, func(int) error { return unix.EBADE }); err != unix.EBADE {
		t.Fatalf("Control returned %v, want fn's error", err)
	}
	if err := Control(r, func(int) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := Control(r, func(fd int) error {
		flags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		return err
	}); err != nil || flags&unix.O_NONBLOCK == 0 {
		t.Fatalf("after Control the pipe is blocking (flags %#x, %v)", flags, err)
	}
}

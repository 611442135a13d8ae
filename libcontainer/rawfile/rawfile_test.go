package rawfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

package rawfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	_, err = Open(missing, os.O_RDONLY, 0)
	_, osErr = os.OpenFile(missing, os.O_RDONLY, 0)
	if !errors.Is(err, os.ErrNotExist) || err.Error() != osErr.Error() {
		t.Errorf("Open of a missing file: %v, want %v", err, osErr)
	}
}

// Open creates as os.OpenFile does (the mode's permission and special
// bits, less the umask), and the file it returns is left blocking, outside
// Go's poller.
func TestOpenCreatesAndStaysOutOfThePoller(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	path := filepath.Join(t.TempDir(), "made")
	f, err := Open(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o777|os.ModeSetgid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0o755 | os.ModeSetgid; st.Mode() != want {
		t.Errorf("mode %v, want %v", st.Mode(), want)
	}
	checkBlockingCloexec(t, f)
	// A FIFO is pollable: os.OpenFile would have made it non-blocking.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Open(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checkBlockingCloexec(t, p)
}

func checkBlockingCloexec(t *testing.T, f *os.File) {
	t.Helper()
	// Through Control: Fd would make the file blocking itself.
	var flags, fdFlags int
	err := Control(f, func(fd int) (err error) {
		if flags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
			fdFlags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		}
		return err
	})
	if err != nil || flags&unix.O_NONBLOCK != 0 || fdFlags&unix.FD_CLOEXEC == 0 {
		t.Errorf("%s: flags %#x, fd flags %#x (%v): want a blocking, close-on-exec file", f.Name(), flags, fdFlags, err)
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

// ReadWholeInto reads a regular file whole, whatever its size against the
// buffer's, and /proc/<pid>/stat in one read.
func TestReadWholeInto(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 513, 100000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("y"), size)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		var buf [512]byte
		got, err := ReadWholeInto(p, buf[:0])
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
	got, err := ReadWholeInto("/proc/self/stat", make([]byte, 0, 512))
	if err != nil || !bytes.HasSuffix(got, []byte("\n")) {
		t.Errorf("/proc/self/stat: %q, %v", got, err)
	}
	if _, err := ReadWholeInto(filepath.Join(dir, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// ReadWholeInto takes a short read as the end, where ReadFileInto reads on
// to the read that returns 0: a fifo shows which, as its writer writes
// twice and closes only after the reader has returned (or 200 ms).
func TestReadWholeIntoStopsAtAShortRead(t *testing.T) {
	for _, tc := range []struct {
		read func(string, []byte) ([]byte, error)
		want string
	}{{ReadWholeInto, "ab"}, {ReadFileInto, "abcd"}} {
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		returned := make(chan struct{})
		wrote := make(chan error, 1)
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				wrote <- err
				return
			}
			defer w.Close()
			if _, err := w.Write([]byte("ab")); err != nil {
				wrote <- err
				return
			}
			select {
			case <-returned:
			case <-time.After(200 * time.Millisecond):
			}
			_, err = w.Write([]byte("cd"))
			wrote <- err
		}()
		got, err := tc.read(fifo, make([]byte, 0, 64))
		close(returned)
		if werr := <-wrote; werr != nil && !errors.Is(werr, unix.EPIPE) {
			t.Fatal(werr)
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("got %q, %v; want %q", got, err, tc.want)
		}
	}
}

package initproto

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func socketpair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// tempFile is a file with known content, to recognise it on the far side.
func tempFile(t *testing.T, content string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "handed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestSendFilesRoundTrip(t *testing.T) {
	for _, size := range []int{0, 100, 1 << 20} { // 1 MiB: more than the socket buffer
		parent, child := socketpair(t)
		files := []*os.File{tempFile(t, "first"), tempFile(t, "second"), tempFile(t, "third")}
		payload := bytes.Repeat([]byte{'x'}, size)
		sent := make(chan error, 1)
		go func() { sent <- SendFiles(parent, Config, payload, files) }()
		got, fds, err := ExpectFiles(child, Config)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if err := <-sent; err != nil {
			t.Fatalf("size %d: send: %v", size, err)
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("size %d: payload of %d bytes came back as %d bytes", size, len(payload), len(got))
		}
		if len(fds) != len(files) {
			t.Fatalf("size %d: got %d fds, want %d", size, len(fds), len(files))
		}
		for i, fd := range fds {
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			if err != nil || flags&unix.FD_CLOEXEC == 0 {
				t.Errorf("fd %d (file %d) is not close-on-exec (flags %#x, %v)", fd, i, flags, err)
			}
			buf := make([]byte, 16)
			n, _ := unix.Pread(fd, buf, 0)
			if want := []string{"first", "second", "third"}[i]; string(buf[:n]) != want {
				t.Errorf("file %d reads %q, want %q (order kept)", i, buf[:n], want)
			}
			unix.Close(fd)
		}
		// The stream goes on after it with ordinary frames.
		go func() { sent <- Send(parent, InitGo, nil) }()
		if _, err := Expect(child, InitGo, nil); err != nil {
			t.Errorf("size %d: frame after the files: %v", size, err)
		}
		<-sent
	}
}

func TestSendFilesNone(t *testing.T) {
	parent, child := socketpair(t)
	if err := SendFiles(parent, Config, []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	got, fds, err := ExpectFiles(child, Config)
	if err != nil || string(got) != "{}" || len(fds) != 0 {
		t.Errorf("got %q, %v, %v; want {}, no fds, no error", got, fds, err)
	}
}

func TestSendFilesTooMany(t *testing.T) {
	parent, _ := socketpair(t)
	f := tempFile(t, "x")
	many := make([]*os.File, maxFiles+1)
	for i := range many {
		many[i] = f
	}
	if err := SendFiles(parent, Config, nil, many); err == nil {
		t.Errorf("sending %d files succeeded, want an error", len(many))
	}
}

func TestExpectFilesErrorFrame(t *testing.T) {
	parent, child := socketpair(t)
	if err := Send(parent, Error, []byte("it broke")); err != nil {
		t.Fatal(err)
	}
	_, _, err := ExpectFiles(child, Config)
	var remote *RemoteError
	if !errors.As(err, &remote) || remote.Msg != "it broke" {
		t.Errorf("got %v, want RemoteError %q", err, "it broke")
	}
}

func TestExpectFilesWrongFrameClosesFds(t *testing.T) {
	parent, child := socketpair(t)
	f := tempFile(t, "x")
	if err := SendFiles(parent, Ready, nil, []*os.File{f}); err != nil {
		t.Fatal(err)
	}
	before := openFds(t)
	if _, fds, err := ExpectFiles(child, Config); err == nil {
		t.Fatalf("a ready frame was taken for config (fds %v)", fds)
	}
	if after := openFds(t); after != before {
		t.Errorf("%d fds open after a refused frame, %d before: the received fd leaked", after, before)
	}
}

func TestExpectFilesEOF(t *testing.T) {
	parent, child := socketpair(t)
	parent.Close()
	if _, _, err := ExpectFiles(child, Config); err == nil {
		t.Error("EOF gave no error")
	}
}

func openFds(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

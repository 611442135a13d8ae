package kernel

import (
	"os"
	"testing"
	"time"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// The seam costs one interface call per syscall: these two measure it
// against the direct call (fstat of an open fd, about the cheapest
// syscall rootfs makes).
func BenchmarkFstatDirect(b *testing.B) {
	f, err := os.Open("/")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	var st unix.Stat_t
	for b.Loop() {
		if err := unix.Fstat(fd, &st); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFstatThroughKernel(b *testing.B) {
	f, err := os.Open("/")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	var st unix.Stat_t
	k := Or(nil)
	for b.Loop() {
		if err := k.Fstat(fd, &st); err != nil {
			b.Fatal(err)
		}
	}
}

// WaitReadable times out on an empty pipe, says readable once a byte is
// in it, and leaves a non-blocking file non-blocking (the Read after it
// goes through Go's poller).
func TestWaitReadable(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ready, err := Real{}.WaitReadable(r, 20*time.Millisecond)
	if err != nil || ready {
		t.Fatalf("empty pipe: ready %v, %v; want a timeout", ready, err)
	}
	if _, err := w.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	ready, err = Real{}.WaitReadable(r, -1)
	if err != nil || !ready {
		t.Fatalf("pipe with a byte: ready %v, %v", ready, err)
	}
	var nonblocking bool
	if err := rawfile.Control(r, func(fd int) error {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		nonblocking = flags&unix.O_NONBLOCK != 0
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !nonblocking {
		t.Error("WaitReadable left the pipe blocking")
	}
}

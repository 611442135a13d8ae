package kernel

import (
	"os"
	"testing"

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

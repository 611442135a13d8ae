package seccomp

import (
	"errors"
	"fmt"
	"io"
	"os"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// exportBPF returns the filter's classic-BPF program without loading it.
// libseccomp ≥ 2.6 writes it to memory directly; older ones (Debian 12 has
// 2.5.4) can only write to an fd, so the program goes through a memfd: no
// file on disk, no pipe capacity to worry about.
func exportBPF(filter *libseccomp.ScmpFilter) ([]byte, error) {
	bpf, err := filter.ExportBPFMem()
	if err == nil {
		return bpf, nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		return nil, fmt.Errorf("export BPF: %w", err)
	}
	fd, err := unix.MemfdCreate("nook-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export BPF: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "nook-seccomp-bpf")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, fmt.Errorf("export BPF: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("export BPF: %w", err)
	}
	bpf = make([]byte, size)
	if _, err := f.ReadAt(bpf, 0); err != nil {
		return nil, fmt.Errorf("export BPF: read back: %w", err)
	}
	return bpf, nil
}

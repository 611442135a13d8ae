// Package sealedexec makes programs nook executes from memory: a memfd
// holding a copy of the program, sealed so that nothing can change it. A
// process executed from one has a /proc/<pid>/exe that leads to no
// writable inode (the CVE-2019-5736 class), whoever can open it.
package sealedexec

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// seals forbid every change to the content and any later unsealing.
const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// Copy returns a close-on-exec memfd named name holding everything read
// from program, sealed. name shows in /proc/<pid>/exe ("/memfd:name").
func Copy(name string, program io.Reader) (*os.File, error) {
	// MFD_EXEC: a host with vm.memfd_noexec=1 makes memfds non-executable
	// by default; kernels before 6.3 do not know the flag.
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: memfd_create: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := io.Copy(f, program); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: write memfd: %w", name, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: seal memfd: %w", name, err)
	}
	return f, nil
}

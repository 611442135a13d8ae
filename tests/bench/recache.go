package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// dropFromPageCache asks the kernel to drop each runtime binary from the
// page cache, so that the warm-up reads every one back the same way (an
// exec's readahead). How the page cache holds a binary (the size of its
// folios, set by how the file was written: by the linker, by cp) moves
// every command's time by up to ~10% on the development VM, which an A/B of
// two builds of nook would otherwise measure as the change.
func dropFromPageCache(runtimes runtimeFlags) error {
	for _, rt := range runtimes {
		fd, err := unix.Open(rt.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", rt.name, err)
		}
		// Dirty pages are not dropped: a binary just written must reach
		// the disk first.
		err = unix.Fdatasync(fd)
		if err == nil {
			err = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("%s: drop %s from the page cache: %w", rt.name, rt.path, err)
		}
	}
	return nil
}

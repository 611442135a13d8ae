package startup

/*
#include <stddef.h>
#include <sys/types.h>
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
*/
import "C"

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// HugePagesEnv, set to "off", keeps a process's Go runtime on the mappings
// it asks for (hugepages.c). A container's init gets it: an init that parks
// as itself waits as long as its container stays created, and with huge
// pages the part of its heap it never used stays resident (the runtime
// counts memory it never touched as already given back, so it never
// releases it): a parked Go init's anonymous memory 1.0 -> 6.5 MiB.
const HugePagesEnv = "_NOOK_HUGEPAGES"

// mapThroughWrapper calls hugepages.c's mmap wrapper as the Go runtime's
// calls reach it in nook's binary (linked with -Wl,--wrap=mmap). Other
// binaries, such as this package's tests, are linked without the wrap, so
// the runtime's own mappings never come here and a test owns the region.
func mapThroughWrapper(addr unsafe.Pointer, length, prot, flags int) (unsafe.Pointer, error) {
	p := C.__wrap_mmap(addr, C.size_t(length), C.int(prot), C.int(flags), -1, 0)
	if uintptr(p) == ^uintptr(0) {
		return nil, unix.EINVAL
	}
	return p, nil
}

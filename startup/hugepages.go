package startup

/*
#include <stddef.h>
#include <sys/types.h>
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
*/
import "C"

import "unsafe"

// mapThroughWrapper calls hugepages.c's mmap wrapper as the Go runtime's
// calls reach it in nook's binary (linked with -Wl,--wrap=mmap). Other
// binaries, such as this package's tests, are linked without the wrap, so
// the runtime's own mappings never come here and a test owns the region.
func mapThroughWrapper(addr unsafe.Pointer, length, prot, flags int) (unsafe.Pointer, error) {
	p, err := C.__wrap_mmap(addr, C.size_t(length), C.int(prot), C.int(flags), -1, 0)
	if uintptr(p) == ^uintptr(0) {
		return nil, err
	}
	return p, nil
}

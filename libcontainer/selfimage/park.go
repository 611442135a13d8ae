package selfimage

/*
#include <errno.h>
#include <poll.h>
#include <sys/mman.h>

// release_and_wait drops the mappings of the n ranges (start, length pairs)
// and then waits in poll(2) until fd is readable. It is C so that no code
// of the Go program runs between the two: on a kernel that maps a file's
// large folios whole, every Go function on the way from the release to the
// wait would map its folio, up to megabytes, back in. Only this function's
// folio is touched. A failed madvise only means less is released.
static int release_and_wait(const unsigned long *r, int n, int fd)
{
	for (int i = 0; i < n; i++)
		madvise((void *)r[2 * i], r[2 * i + 1], MADV_DONTNEED);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"syscall"
)

// ReleaseAndWait drops the running program's mappings of its read-only
// pages (Own) and waits until fd is readable, for a process that is about
// to wait a long time and has nothing else to do meanwhile. When the
// segments cannot be told it only waits. It returns how many bytes of
// address range were released.
func ReleaseAndWait(fd int) (uintptr, error) {
	ranges, _ := Own()
	// Start and length pairs, and one spare so that &flat[0] is valid.
	flat := make([]C.ulong, 2*len(ranges)+1)
	var n uintptr
	for i, r := range ranges {
		flat[2*i], flat[2*i+1] = C.ulong(r.Start), C.ulong(r.Len())
		n += r.Len()
	}
	if rc := C.release_and_wait(&flat[0], C.int(len(ranges)), C.int(fd)); rc < 0 {
		return n, fmt.Errorf("poll: %w", syscall.Errno(-rc))
	}
	return n, nil
}

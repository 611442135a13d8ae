package startup

/*
extern long nook_prefault_bytes;
*/
import "C"

// prefaultBytes is what prefault.c's constructor mapped in this process:
// the bytes of the read-only segments, 0 when it was off, -1 when an
// madvise failed (a kernel before 5.14).
func prefaultBytes() int64 { return int64(C.nook_prefault_bytes) }

package startup

/*
extern int nook_prefault_result;
*/
import "C"

// prefaultResult is what prefault.c's constructor did in this process:
// 0 nothing (turned off), 1 the read-only segments mapped, 2 the madvise
// failed (a kernel before 5.14).
func prefaultResult() int { return int(C.nook_prefault_result) }

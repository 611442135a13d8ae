package startup

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
extern char *nook_borrowed_env;
extern unsigned long long nook_nofile_at_start;
extern int nook_nofile_known;
*/
import "C"

import (
	"strings"
	"syscall"
)

// Puts back the environment entry startup.c lent to GOMAXPROCS=1: the
// runtime has read it by now, and nothing of nook's may see it (children
// inherit the environment). This package has no dependencies of nook's, so
// it is initialised before any package that reads the environment at
// init time.
func init() {
	if C.nook_borrowed_env == nil {
		return
	}
	k, v, _ := strings.Cut(C.GoString(C.nook_borrowed_env), "=")
	syscall.Unsetenv("GOMAXPROCS")
	syscall.Setenv(k, v)
}

// NofileAtStart is the soft RLIMIT_NOFILE the process had before the Go
// runtime raised its own (package syscall's init), read by startup.c's
// constructor in a container's init (the only process that needs it); ok
// is false anywhere else, or if getrlimit failed. syscall.Exec gives a
// program this limit back; an exec that does not go through it must do so
// itself.
func NofileAtStart() (soft uint64, ok bool) {
	return uint64(C.nook_nofile_at_start), C.nook_nofile_known != 0
}

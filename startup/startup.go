package startup

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
extern char *nook_borrowed_env;
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

package nsenter

/*
#include <stdlib.h>
#include "keeper.h"
#include "keeperlaunch.h"
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// ExitKeeperEnv starts a process of the nook binary as a container's exit
// keeper (keeper.c) instead of a nook command: its value is
// "<init pid> <init start time> <1 if an OOM counter is passed, else 0>".
const ExitKeeperEnv = "_NOOK_EXIT_KEEPER"

// The fds a keeper is handed, as keeper.h numbers them.
const (
	ExitKeeperPidfd = C.KEEPER_PIDFD // a pidfd of the init
	ExitKeeperDir   = C.KEEPER_DIRFD // the container's state directory
	ExitKeeperOOM   = C.KEEPER_OOMFD // its memory cgroup's oom_kill counter file (optional)
)

// StartKeeperAtExit starts an exit keeper as a child that shares this
// process's memory and executes prog (an fd) with argv and env only once
// this process has exited, so that the kernel tears this process's memory
// down in the keeper's exec rather than before this process's caller
// hears of its exit (keeperlaunch.c). fds are the keeper's
// ExitKeeperPidfd, ExitKeeperDir and ExitKeeperOOM (-1: none); the child
// has its own copies, so the caller may close its own. Only for a process
// that exits right after (its keeper waits for that); once per process. It
// returns the keeper's pid and settled, which returns once the keeper
// holds none of this process's files but its own: call it before this
// process goes on to exit (until then the keeper's copy of the file table
// may hold, say, the caller's pipe, whose end the caller waits for).
func StartKeeperAtExit(fds [3]int, prog int, argv, env []string) (pid int, settled func(), err error) {
	// C memory, never freed: the child reads it until its exec, which
	// comes after this process has exited.
	cargv := cStrings(argv)
	cenv := cStrings(env)
	cfds := [3]C.int{C.int(fds[0]), C.int(fds[1]), C.int(fds[2])}
	r := C.nook_keeper_start_at_exit(&cfds[0], C.int(prog), cargv, cenv)
	if r < 0 {
		return 0, nil, syscall.Errno(-r)
	}
	return int(r), func() { C.nook_keeper_settle() }, nil
}

// cStrings is a NULL-terminated C array of C copies of ss.
func cStrings(ss []string) **C.char {
	arr := unsafe.Slice((**C.char)(C.malloc(C.size_t(len(ss)+1)*C.size_t(unsafe.Sizeof((*C.char)(nil))))), len(ss)+1)
	for i, s := range ss {
		arr[i] = C.CString(s)
	}
	arr[len(ss)] = nil
	return &arr[0]
}

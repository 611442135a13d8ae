package nsenter

/*
#include "keeper.h"
*/
import "C"

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

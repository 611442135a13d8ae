package startup

/*
extern unsigned long nook_caller_timerslack;
*/
import "C"

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// CallerTimerSlackEnv carries CallerTimerSlack to the container's init,
// whose own caller (create) already runs with the raised slack.
const CallerTimerSlackEnv = "_NOOK_CALLER_TIMERSLACK"

// CallerTimerSlack is the timer slack, in ns, of the program that started
// nook (for a container's init: the one that started create). timerslack.c
// raised nook's own above it; 0 if it is unknown (prctl failed).
func CallerTimerSlack() uint64 {
	return uint64(C.nook_caller_timerslack)
}

// WithCallerTimerSlack calls start, which starts a program (a hook, ps),
// on a thread whose timer slack is the caller's again: a child inherits the
// slack of the thread that forks it, and nook's raised slack is nook's
// business alone. The thread gets its own slack back afterwards. Were the
// slack not to be given back, the program would still start.
func WithCallerTimerSlack(start func() error) error {
	if CallerTimerSlack() == 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || UseCallerTimerSlack() != nil {
		return start()
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
	return start()
}

// UseCallerTimerSlack gives the calling thread the caller's timer slack for
// good. It is for the init's thread that will execve the container's
// process, well before the execve: once the seccomp filter is loaded, that
// thread must make no system call of its own. The caller has locked the
// thread.
func UseCallerTimerSlack() error {
	caller := CallerTimerSlack()
	if caller == 0 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(caller), 0, 0, 0); err != nil {
		return fmt.Errorf("give back the caller's timer slack %d ns: %w", caller, err)
	}
	return nil
}

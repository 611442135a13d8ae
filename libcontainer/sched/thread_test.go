package sched

import (
	"errors"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// onThrowawayThread runs fn on a locked OS thread that Go destroys afterwards, so that the
// scheduling, I/O-priority, personality or affinity changes fn makes die with it and never
// reach the rest of the test process.
func onThrowawayThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // deliberately never unlocked
		errc <- fn()
	}()
	return <-errc
}

// skipIfNotPermitted turns a missing privilege into a skip naming it.
func skipIfNotPermitted(t *testing.T, err error, what string) {
	t.Helper()
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("%s is not permitted here (needs root / CAP_SYS_NICE / CAP_SYS_ADMIN): %v", what, err)
	}
}

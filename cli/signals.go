package cli

import (
	"os"
	"os/signal"
)

// catchAll starts catching every signal on sigs, as a foreground `run` or
// `exec` must (each is forwarded to the container's process), without
// making the command wait for it at once: os/signal registers each signal
// through a round trip to the runtime's signal thread, 1–2 ms for all of
// them on the development VM (docs/PERFORMANCE.md). With nook's one P the
// round trips run while the command blocks (on stage 0, on the init's
// socket). first are caught before catchAll returns, the others by the time
// the wait it returns returns: the caller waits before the container's
// process can exist, so no signal meant for it is lost.
//
// Nothing stops catching them: signal.Stop costs as much again, and these
// commands exit once the process has; a signal in between is caught and
// dropped, and the command exits with the process's status.
func catchAll(sigs chan<- os.Signal, first ...os.Signal) (wait func()) {
	if len(first) > 0 {
		signal.Notify(sigs, first...)
	}
	done := make(chan struct{})
	go func() {
		signal.Notify(sigs)
		close(done)
	}()
	return func() { <-done }
}

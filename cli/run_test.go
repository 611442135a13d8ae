package cli

import (
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Before the start, SIGTERM or SIGINT stops the run (the first one names
// the cause); other signals are kept, in order, for the container, except
// those that are nook's own (SIGCHLD, SIGURG, SIGPIPE).
func TestStartGuard(t *testing.T) {
	sigs := make(chan os.Signal, 8)
	g := guardStart(sigs)
	for _, s := range []os.Signal{unix.SIGUSR1, unix.SIGURG, unix.SIGCHLD, unix.SIGHUP} {
		sigs <- s
	}
	select {
	case <-g.ctx.Done():
		t.Fatal("stopped by signals that are not SIGTERM or SIGINT")
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- unix.SIGINT
	select {
	case <-g.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGINT did not stop the create")
	}
	sigs <- unix.SIGTERM // a second one changes nothing
	sigs <- unix.SIGUSR2 // sent before stop: still kept
	kept, stopped := g.stop()
	if stopped == nil || stopped.sig != unix.SIGINT {
		t.Fatalf("interruption %v, want SIGINT", stopped)
	}
	if want := []os.Signal{unix.SIGUSR1, unix.SIGHUP, unix.SIGUSR2}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	err := stopped.exit("c1", nil)
	coded, ok := err.(*CodedError)
	if !ok || coded.Code != 130 || err.Error() != "container c1: interrupted by SIGINT before it started" {
		t.Errorf("exit error %#v (%v), want code 130", err, err)
	}
}

// With no signal, the guard stops clean and the run goes on.
func TestStartGuardQuiet(t *testing.T) {
	g := guardStart(make(chan os.Signal))
	if kept, stopped := g.stop(); kept != nil || stopped != nil {
		t.Errorf("stop = %v, %v; want nothing", kept, stopped)
	}
	if g.ctx.Err() != nil {
		t.Errorf("context done without a signal")
	}
}

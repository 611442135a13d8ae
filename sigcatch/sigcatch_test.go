package sigcatch

import (
	"os"
	"os/signal"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// receive waits for n signals on ch.
func receive(t *testing.T, ch <-chan os.Signal, n int) []os.Signal {
	t.Helper()
	var got []os.Signal
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case s := <-ch:
			got = append(got, s)
		case <-timeout:
			t.Fatalf("got %v, want %d signals", got, n)
		}
	}
	return got
}

func raise(t *testing.T, sigs ...unix.Signal) {
	t.Helper()
	for _, sig := range sigs {
		if err := unix.Kill(os.Getpid(), sig); err != nil {
			t.Fatalf("kill -%d self: %v", sig, err)
		}
	}
}

func TestRelaysSignalsCaughtInC(t *testing.T) {
	ch := make(chan os.Signal, 8)
	c, err := Start(ch)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	// Each would end the test binary were it not caught (SIGHUP, SIGTERM,
	// SIGUSR1 under Go's defaults, SIGRTMIN+6 under the kernel's).
	for _, sig := range []unix.Signal{unix.SIGHUP, unix.SIGTERM, unix.SIGUSR1, unix.Signal(40), unix.SIGTSTP, unix.SIGWINCH} {
		if !handledInC(sig) {
			t.Fatalf("%v's handler is not catch.c's", sig)
		}
		raise(t, sig)
		if got := receive(t, ch, 1); got[0] != sig {
			t.Fatalf("raised %v, got %v", sig, got[0])
		}
	}
}

func TestRuntimeSignalsGoThroughOsSignal(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP,
		unix.SIGURG, unix.SIGPROF, unix.SIGCHLD, unix.SIGKILL, unix.SIGSTOP, 32, 33, 34} {
		if caughtInC(sig) {
			t.Errorf("%v is caught in C; the runtime or the C library needs its own handler", sig)
		}
	}
	for _, sig := range all() {
		switch sig {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGPROF, unix.SIGKILL, unix.SIGSTOP, 32, 33, 34:
			t.Errorf("all() relays %v", sig)
		}
	}
	ch := make(chan os.Signal, 8)
	c, err := Start(ch)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for _, sig := range []unix.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGURG, unix.SIGPROF, unix.SIGCHLD} {
		if handledInC(sig) {
			t.Errorf("%v's handler is catch.c's; the runtime's must stay", sig)
		}
	}
	// A user's SIGSEGV reaches the channel through os/signal.
	raise(t, unix.SIGSEGV)
	if got := receive(t, ch, 1); got[0] != unix.SIGSEGV {
		t.Fatalf("raised SIGSEGV, got %v", got[0])
	}
	// The runtime's own fault handling still works.
	var p *int
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "nil pointer") {
				t.Errorf("a nil dereference recovered %v, want the runtime's panic", r)
			}
		}()
		_ = *p
	}()
}

func TestNamedSignalsOnly(t *testing.T) {
	ch := make(chan os.Signal, 8)
	c, err := Start(ch, unix.SIGUSR2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	// SIGUSR1 is not ours: someone else's os/signal gets it.
	other := make(chan os.Signal, 1)
	signal.Notify(other, unix.SIGUSR1)
	defer signal.Stop(other)
	raise(t, unix.SIGUSR1, unix.SIGUSR2)
	if got := receive(t, ch, 1); got[0] != unix.SIGUSR2 {
		t.Fatalf("got %v, want SIGUSR2", got[0])
	}
	receive(t, other, 1)
	select {
	case s := <-ch:
		t.Fatalf("got %v, which was not asked for", s)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestSignalsWaitForAFullChannel(t *testing.T) {
	ch := make(chan os.Signal) // nobody receives yet
	c, err := Start(ch)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	sent := []unix.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGHUP, unix.SIGALRM, unix.Signal(50)}
	raise(t, sent...)
	time.Sleep(50 * time.Millisecond) // os/signal would have dropped them by now
	// The kernel may deliver signals pending together in any order.
	got := map[os.Signal]bool{}
	for _, s := range receive(t, ch, len(sent)) {
		got[s] = true
	}
	for _, sig := range sent {
		if !got[sig] {
			t.Fatalf("got %v, want each of %v", got, sent)
		}
	}
}

func TestStopGivesHandlersBack(t *testing.T) {
	ch := make(chan os.Signal, 1)
	c, err := Start(ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(make(chan os.Signal)); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("a second Start: %v, want an error saying signals are already caught", err)
	}
	c.Stop()
	if handledInC(unix.SIGUSR1) {
		t.Error("SIGUSR1's handler is still catch.c's after Stop")
	}
	// The runtime's handler is back: os/signal sees SIGUSR1 again.
	other := make(chan os.Signal, 1)
	signal.Notify(other, unix.SIGUSR1)
	defer signal.Stop(other)
	raise(t, unix.SIGUSR1)
	receive(t, other, 1)
	select {
	case s := <-ch:
		t.Fatalf("the stopped catcher relayed %v", s)
	default:
	}
	// And a new catcher can start.
	c, err = Start(ch, unix.SIGUSR2)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
}

// Package sigcatch relays signals to a channel as os/signal's Notify does,
// without its cost: os/signal enables each signal through a round trip to
// the Go runtime's signal-mask thread, and for the ~60 signals a
// foreground `nook run` passes on to its container that was 2-3 ms of its
// ~25 (docs/PERFORMANCE.md). Here a C handler (catch.c), installed with one
// sigaction per signal, writes each signal's number to a pipe that a
// goroutine reads.
//
// Signals the Go runtime itself relies on keep its handler and go through
// os/signal: the faults it turns into panics (SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGTRAP; os/signal enables those without a round trip), its
// preemption (SIGURG) and profiler (SIGPROF), and SIGCHLD. Signals 32 to
// 34 belong to the C library (musl's sigaction refuses them), and the Go
// runtime leaves them alone too.
package sigcatch

/*
int nook_sigcatch_start(int fd, const int *sigs, int n);
void nook_sigcatch_release(void);
int nook_sigcatch_catches(int sig);
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// A Catcher relays signals to a channel until Stop. A process has one at a
// time: the C handler writes to one pipe.
type Catcher struct {
	out    chan<- os.Signal
	inC    bool // catch.c catches some of them
	viaGo  []os.Signal
	read   *os.File
	write  int // a raw fd: no finalizer may close it under the handler
	quit   chan struct{}
	relayd chan struct{}
}

// caughtInC tells whether sig is caught by catch.c's handler rather than
// through os/signal (see the package comment).
func caughtInC(sig unix.Signal) bool {
	switch sig {
	case unix.SIGKILL, unix.SIGSTOP, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL,
		unix.SIGTRAP, unix.SIGURG, unix.SIGPROF, unix.SIGCHLD, 32, 33, 34:
		return false
	}
	return sig > 0 && sig < 65
}

// all is every signal Start relays when none is named: each a program can
// catch but SIGCHLD, SIGURG and SIGPROF, which are the process's own
// business (its children's exits, the runtime's preemption and profiler),
// and 32 to 34, which the C library keeps for itself (os/signal does not
// catch them either).
func all() []unix.Signal {
	var sigs []unix.Signal
	for sig := unix.Signal(1); sig < 65; sig++ {
		switch sig {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGPROF, 32, 33, 34:
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}

// Start relays sigs, or every signal in all when none is named, to out,
// from now until Stop. Unlike os/signal it never drops a signal because
// out is full: the relay waits, and signals wait in the pipe (64 KiB of
// them; more are dropped).
func Start(out chan<- os.Signal, sigs ...unix.Signal) (*Catcher, error) {
	if len(sigs) == 0 {
		sigs = all()
	}
	var inC []C.int
	var viaGo []os.Signal
	for _, sig := range sigs {
		if caughtInC(sig) {
			inC = append(inC, C.int(sig))
		} else {
			viaGo = append(viaGo, sig)
		}
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("catch signals: pipe: %w", err)
	}
	c := &Catcher{
		out:    out,
		viaGo:  viaGo,
		read:   os.NewFile(uintptr(p[0]), "signals"), // non-blocking: the poller reads it
		write:  p[1],
		quit:   make(chan struct{}),
		relayd: make(chan struct{}),
	}
	if len(inC) > 0 {
		if errno := C.nook_sigcatch_start(C.int(c.write), &inC[0], C.int(len(inC))); errno != 0 {
			c.read.Close()
			unix.Close(c.write)
			if unix.Errno(errno) == unix.EBUSY {
				return nil, errors.New("catch signals: this process already catches them")
			}
			return nil, fmt.Errorf("catch signals: sigaction: %w", unix.Errno(errno))
		}
		c.inC = true
	}
	if len(viaGo) > 0 {
		signal.Notify(out, viaGo...)
	}
	go c.relay()
	return c, nil
}

// relay passes each signal number read from the pipe on to out.
func (c *Catcher) relay() {
	defer close(c.relayd)
	var buf [64]byte
	for {
		n, err := c.read.Read(buf[:])
		for _, b := range buf[:n] {
			select {
			case c.out <- unix.Signal(b):
			case <-c.quit:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Stop gives the caught signals their handlers back (a signal arriving
// afterwards does what it did before Start) and ends the relay. Signals
// caught but not yet passed on are dropped.
func (c *Catcher) Stop() {
	if c.inC {
		C.nook_sigcatch_release()
	}
	if len(c.viaGo) > 0 {
		signal.Stop(c.out)
	}
	close(c.quit)
	unix.Close(c.write)
	<-c.relayd
	c.read.Close()
}

// handledInC tells whether sig's handler is now catch.c's (for the tests:
// a signal os/signal delivers reaches the channel all the same).
func handledInC(sig unix.Signal) bool { return C.nook_sigcatch_catches(C.int(sig)) != 0 }

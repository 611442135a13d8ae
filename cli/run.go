package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/console"
	"github.com/nookrt/nook/sigcatch"
)

func runCommand() *ucli.Command {
	flags := append(createFlags(),
		&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs; do not wait for it"},
		&ucli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		// runc's run becomes a child subreaper unless told not to; nook's
		// never does, so the flag is accepted and changes nothing.
		&ucli.BoolFlag{Name: "no-subreaper", Usage: "do not make run a subreaper (nook's run never is one)"},
	)
	return &ucli.Command{
		Name:      "run",
		Usage:     "create and start a container, and wait for it (exit status is the container's)",
		ArgsUsage: "<container-id>",
		Flags:     flags,
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return runContainer(ctx)
		},
	}
}

// ExitStatus carries the container process's exit status out of `run`.
type ExitStatus struct{ Code int }

func (e *ExitStatus) Error() string { return fmt.Sprintf("container exited with status %d", e.Code) }

func runContainer(ctx *ucli.Context) error {
	id := ctx.Args().First()
	detach := ctx.Bool("detach")
	// Signals are caught before anything exists for the container. Until
	// it starts, SIGTERM and SIGINT stop the run (startGuard); in the
	// foreground every other signal is kept, and all of them are forwarded
	// to the container's init once it runs, so none is lost between start
	// and wait. A detached run only needs the first part.
	sigs := make(chan os.Signal, 32)
	catch := []unix.Signal{unix.SIGTERM, unix.SIGINT}
	if !detach {
		catch = nil // all of them
	}
	// Never stopped: the command exits once the container's process has.
	if _, err := sigcatch.Start(sigs, catch...); err != nil {
		return err
	}
	guard := guardStart(sigs)
	var term *runTerminal
	// A closure: term is set below, after the defer statement.
	defer func() { term.close() }()
	c, err := createContainer(ctx, guard.ctx, func(s *specs.Spec) (string, bool, error) {
		sock := ctx.String("console-socket")
		if s.Process == nil || !s.Process.Terminal || sock != "" {
			return sock, false, nil
		}
		if detach {
			return "", false, errors.New("process.terminal is true: run --detach needs a --console-socket to hand the terminal to")
		}
		// In the foreground, nook itself is the terminal's other end.
		var err error
		term, err = listenTerminal()
		if err != nil {
			return "", false, err
		}
		return term.path, true, nil
	})
	if err != nil {
		guard.stop()
		// Create removed what it had made before it returned.
		var stopped *interruption
		if errors.As(err, &stopped) {
			return stopped.exit(id, nil)
		}
		return err
	}
	if err := term.accept(); err != nil {
		guard.stop()
		deleteContainer(ctx, id, true)
		return err
	}
	// The container starts with the user's window size (runc's may
	// start before its relay has copied it).
	term.resize()
	// From here on a SIGTERM or SIGINT is the container's to get.
	kept, stopped := guard.stop()
	if stopped != nil {
		return stopped.exit(id, deleteContainer(ctx, id, true))
	}
	var relay *libcontainer.NotifyRelay // nil: nothing to relay
	if !c.Started {
		if relay, err = startContainer(ctx, id); err != nil {
			deleteContainer(ctx, id, true)
			return err
		}
	}
	if detach {
		// As runc: a detached run with a NOTIFY_SOCKET returns once
		// the container is READY= (or its init has exited).
		return relay.Wait()
	}
	// In the foreground the relay ends with the init at the latest.
	go relay.Wait()
	term.relay()
	for _, s := range kept {
		forward(c.Pid, s)
	}
	ws, err := waitForwardStatus(c.Pid, sigs, term.resize)
	if err != nil {
		return err
	}
	term.drain()
	code := shellStatus(ws)
	if ctx.Bool("keep") {
		// Kept, it shows in `state` how it ended, as a detached one.
		if err := c.RecordExit(ws); err != nil {
			warnFunc(ctx)(fmt.Sprintf("container %s: record its exit: %v", id, err))
		}
	} else if err := deleteContainer(ctx, id, true); err != nil {
		return err
	}
	if code != 0 {
		return &ExitStatus{Code: code}
	}
	return nil
}

// interruption is why a run stopped before its container started: a
// SIGTERM or SIGINT.
type interruption struct{ sig unix.Signal }

func (i *interruption) Error() string { return "interrupted by " + unix.SignalName(i.sig) }

// exit is the run's error once what was made for the container has been
// removed (cleanup: the error of removing it, if any). The status is
// 128+signal, that of a process the signal killed, which is what a runtime
// that had not caught the signal would have ended with.
func (i *interruption) exit(id string, cleanup error) error {
	err := fmt.Errorf("container %s: %w before it started", id, i)
	if cleanup != nil {
		err = fmt.Errorf("container %s: %w before it started (removing it: %v)", id, i, cleanup)
	}
	return &CodedError{Code: 128 + int(i.sig), Err: err}
}

// startGuard watches a run's signals until its container is about to
// start: a SIGTERM or SIGINT cancels ctx (its cause an *interruption),
// which stops the create wherever it is; other signals are kept, in order,
// for the container.
type startGuard struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	quit   chan struct{}
	done   chan struct{}
	kept   []os.Signal // the watcher's until done is closed
}

func guardStart(sigs <-chan os.Signal) *startGuard {
	ctx, cancel := context.WithCancelCause(context.Background())
	g := &startGuard{ctx: ctx, cancel: cancel, quit: make(chan struct{}), done: make(chan struct{})}
	go g.watch(sigs)
	return g
}

func (g *startGuard) watch(sigs <-chan os.Signal) {
	defer close(g.done)
	for {
		select {
		case s := <-sigs:
			g.take(s)
		case <-g.quit:
			// Whatever arrived before stop was called belongs to the
			// time before the start.
			for {
				select {
				case s := <-sigs:
					g.take(s)
				default:
					return
				}
			}
		}
	}
}

func (g *startGuard) take(s os.Signal) {
	sig, ok := forwardable(s)
	switch {
	case !ok:
	case sig == unix.SIGTERM || sig == unix.SIGINT:
		if g.ctx.Err() == nil {
			g.cancel(&interruption{sig: sig})
		}
	default:
		g.kept = append(g.kept, sig)
	}
}

// stop ends the watch (once) and returns the signals kept for the
// container and the interruption, if one came.
func (g *startGuard) stop() ([]os.Signal, *interruption) {
	close(g.quit)
	<-g.done
	var stopped *interruption
	errors.As(context.Cause(g.ctx), &stopped)
	return g.kept, stopped
}

// waitForward waits for the init (our child: nsenter clones it with
// CLONE_PARENT) and forwards the signals we get to it. The status follows the
// shell's convention: the exit code, or 128+signal.
func waitForward(pid int, sigs chan os.Signal, resize func()) (int, error) {
	ws, err := waitForwardStatus(pid, sigs, resize)
	if err != nil {
		return 0, err
	}
	return shellStatus(ws), nil
}

// shellStatus is the shell's convention for a wait status: the exit code,
// or 128+signal.
func shellStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// waitForwardStatus is waitForward's wait, returning the wait status. On a
// SIGWINCH resize is called (a relayed terminal's size is copied) before
// the signal is passed on: the process then sees the new size.
func waitForwardStatus(pid int, sigs chan os.Signal, resize func()) (unix.WaitStatus, error) {
	exited := make(chan unix.WaitStatus, 1)
	errc := make(chan error, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				errc <- fmt.Errorf("wait for container process %d: %w", pid, err)
				return
			}
			exited <- ws
			return
		}
	}()
	for {
		select {
		case ws := <-exited:
			return ws, nil
		case err := <-errc:
			return 0, err
		case s := <-sigs:
			if s == unix.SIGWINCH {
				resize()
			}
			forward(pid, s)
		}
	}
}

// forward passes a signal on to the container's init, unless it is nook's
// own business.
func forward(pid int, s os.Signal) {
	if sig, ok := forwardable(s); ok {
		unix.Kill(pid, sig)
	}
}

// forwardable tells whether a signal nook got is one for the container:
// not its children's exits (SIGCHLD), the Go runtime's preemption (SIGURG)
// or a write to a closed pipe (SIGPIPE).
func forwardable(s os.Signal) (unix.Signal, bool) {
	sig, ok := s.(unix.Signal)
	if !ok || sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPIPE {
		return 0, false
	}
	return sig, true
}

// runTerminal is `nook run`'s own end of a terminal container's pty: the
// master arrives on a private socket and is relayed to nook's stdio.
type runTerminal struct {
	path     string
	listener *net.UnixListener
	master   *os.File
	done     chan struct{}
}

func listenTerminal() (*runTerminal, error) {
	// Refused at once, as runc does: with no terminal to relay to, a shell
	// in the container would wait for input for ever.
	if !console.HaveTerminal() {
		return nil, errors.New("process.terminal is true but nook has no terminal to relay it to (stdin, stdout and stderr are not terminals, and there is no controlling terminal): give a --console-socket, or set process.terminal to false")
	}
	path, l, err := console.ListenTemp()
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return &runTerminal{path: path, listener: l}, nil
}

// accept takes the master the init sent during create.
func (t *runTerminal) accept() error {
	if t == nil {
		return nil
	}
	m, err := console.ReceiveMaster(t.listener)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	t.master = m
	return nil
}

func (t *runTerminal) relay() {
	if t == nil || t.master == nil {
		return
	}
	t.done = make(chan struct{})
	go func() {
		console.Relay(t.master, os.Stdin, os.Stdout)
		close(t.done)
	}()
}

// resize copies the user's window size to a relayed terminal.
func (t *runTerminal) resize() {
	if t != nil && t.master != nil {
		console.CopyWindowSize(os.Stdin, t.master)
	}
}

// drain waits for the container's last output to be copied out.
func (t *runTerminal) drain() {
	if t == nil || t.done == nil {
		return
	}
	select {
	case <-t.done:
	case <-time.After(2 * time.Second):
	}
}

func (t *runTerminal) close() {
	if t == nil {
		return
	}
	if t.master != nil {
		t.master.Close()
	}
	t.listener.Close()
	console.RemoveTemp(t.path)
}

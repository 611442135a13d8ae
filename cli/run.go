package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/console"
)

func runCommand() *ucli.Command {
	flags := append(createFlags(),
		&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs; do not wait for it"},
		&ucli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
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
	// Catch signals before the container exists, so none is lost between
	// start and wait; they are forwarded to the container's init.
	sigs := make(chan os.Signal, 32)
	if !ctx.Bool("detach") {
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	var term *runTerminal
	// A closure: term is set below, after the defer statement.
	defer func() { term.close() }()
	c, err := createContainer(ctx, func(s *specs.Spec) (string, error) {
		sock := ctx.String("console-socket")
		if s.Process == nil || !s.Process.Terminal || sock != "" {
			return sock, nil
		}
		if ctx.Bool("detach") {
			return "", errors.New("process.terminal is true: run --detach needs a --console-socket to hand the terminal to")
		}
		// In the foreground, nook itself is the terminal's other end.
		var err error
		term, err = listenTerminal()
		if err != nil {
			return "", err
		}
		return term.path, nil
	})
	if err != nil {
		return err
	}
	if err := term.accept(); err != nil {
		deleteContainer(ctx, id, true)
		return err
	}
	if err := startContainer(ctx, id); err != nil {
		deleteContainer(ctx, id, true)
		return err
	}
	if ctx.Bool("detach") {
		return nil
	}
	term.relay()
	code, err := waitForward(c.Pid, sigs)
	if err != nil {
		return err
	}
	term.drain()
	if !ctx.Bool("keep") {
		if err := deleteContainer(ctx, id, true); err != nil {
			return err
		}
	}
	if code != 0 {
		return &ExitStatus{Code: code}
	}
	return nil
}

// waitForward waits for the init (our child: nsenter clones it with
// CLONE_PARENT) and forwards the signals we get to it. The status follows the
// shell's convention: the exit code, or 128+signal.
func waitForward(pid int, sigs chan os.Signal) (int, error) {
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
			if ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return ws.ExitStatus(), nil
		case err := <-errc:
			return 0, err
		case s := <-sigs:
			sig, ok := s.(unix.Signal)
			if !ok || sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPIPE {
				continue
			}
			unix.Kill(pid, sig)
		}
	}
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

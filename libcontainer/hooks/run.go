package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrTimeout is wrapped by the error of a hook that ran past its timeout and
// was killed.
var ErrTimeout = errors.New("timed out")

// Run runs the hooks of one kind in order and stops at the first failure, as
// the spec requires of every kind but poststop. Each hook gets the state as
// JSON on stdin. The error names the kind, the hook's index and path, and
// carries the tail of what the hook wrote to stderr, e.g.
// "createRuntime hook #0 (/usr/bin/foo): exit status 1: no network".
//
// A hook's stdout and stderr are captured (as runc does, which also puts both
// in its error) and never reach nook's own stdio: for create that is the
// engine's pipe, where hook chatter would corrupt what the engine reads.
func Run(kind string, hooks []specs.Hook, st specs.State) error {
	return RunContext(context.Background(), kind, hooks, st)
}

// RunContext is Run that gives up when ctx is done (a `nook run` told to
// stop): the running hook is killed with its process group, no further hook
// starts, and the error wraps context.Cause(ctx).
func RunContext(ctx context.Context, kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	input, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("%s hooks: encode state: %w", kind, err)
	}
	for i, h := range hooks {
		if err := runOne(ctx, h, input); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err)
		}
	}
	return nil
}

// RunAll runs every hook of one kind even when some fail, and returns the
// failures joined (nil if none). This is poststop's rule: a failing hook is
// a warning and the remaining hooks still run.
func RunAll(kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	input, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("%s hooks: encode state: %w", kind, err)
	}
	var errs []error
	for i, h := range hooks {
		if err := runOne(context.Background(), h, input); err != nil {
			errs = append(errs, fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err))
		}
	}
	return errors.Join(errs...)
}

// runOne executes one hook and waits for it, killing its process group when
// the timeout passes or ctx is done.
func runOne(ctx context.Context, h specs.Hook, input []byte) error {
	var timeout time.Duration
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout %d must be greater than zero", *h.Timeout)
		}
		timeout = time.Duration(*h.Timeout) * time.Second
	}
	if ctx.Err() != nil {
		return fmt.Errorf("not run: %w", context.Cause(ctx))
	}
	c, err := start(h, input, spawnerOf(ctx))
	if err != nil {
		return err
	}

	// Learn that the hook exited without reaping it: while it is an
	// unreaped zombie its pid (= its process group id) cannot be reused, so
	// the group kill below can never hit an unrelated process.
	exited := make(chan error, 1)
	go func() { exited <- waitExitedNoReap(c.proc.Pid) }()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	timedOut, stopped := false, false
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-expired:
		timedOut = true
	case <-ctx.Done():
		stopped = true
	}
	if timedOut || stopped {
		// The hook may have forked; its children are in its group (unless
		// they made their own), and a timeout or a stop means all of it
		// goes.
		_ = unix.Kill(-c.proc.Pid, unix.SIGKILL)
		waitErr = <-exited
	}
	ps, err := c.proc.Wait() // reaps: no zombie is left behind
	c.finishIO()
	if err != nil {
		if waitErr != nil {
			err = waitErr
		}
		return fmt.Errorf("wait: %w", err)
	}

	detail := c.output()
	if stopped {
		return fmt.Errorf("killed with its process group: %w", context.Cause(ctx))
	}
	if timedOut {
		return fmt.Errorf("%w after %s (killed with its process group)%s", ErrTimeout, timeout, detail)
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return fmt.Errorf("unexpected wait status %v%s", ps, detail)
	}
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		return fmt.Errorf("exit status %d%s", ws.ExitStatus(), detail)
	case ws.Signaled():
		return fmt.Errorf("killed by signal %s%s", signalName(ws.Signal()), detail)
	}
	return fmt.Errorf("ended with wait status %#x%s", uint32(ws), detail)
}

// waitExitedNoReap blocks until pid has exited, leaving it a zombie.
func waitExitedNoReap(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

func signalName(s syscall.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return name
	}
	return fmt.Sprintf("%d", int(s))
}

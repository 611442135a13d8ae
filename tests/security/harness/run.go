package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Result is one finished nook command. Output goes through files, never
// pipes: a container created by the command inherits its stdout and stderr,
// and a pipe would keep Wait waiting for the container.
type Result struct {
	Args           []string
	Code           int // exit status; 128+N when killed by signal N; -1 when it did not run
	Stdout, Stderr string
	// OutPath is the command's stdout file, which a container created by
	// it keeps writing to.
	OutPath string
}

func (r Result) String() string {
	return fmt.Sprintf("nook %s: exit %d\nstdout: %q\nstderr: %q", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Crashed says whether the command died of a Go panic or fatal error.
func (r Result) Crashed() bool {
	return strings.Contains(r.Stderr, "panic:") || strings.Contains(r.Stderr, "goroutine ") ||
		strings.Contains(r.Stderr, "fatal error:")
}

// Running is a nook command started in the background.
type Running struct {
	cmd      *exec.Cmd
	res      Result
	out, err *os.File
	cancel   context.CancelFunc
}

// Pid is the nook process's pid.
func (r *Running) Pid() int { return r.cmd.Process.Pid }

// Kill sends SIGKILL to the nook process (not to what it started).
func (r *Running) Kill() { r.cmd.Process.Signal(unix.SIGKILL) }

// Wait waits for the command and returns its result.
func (r *Running) Wait() Result {
	runErr := r.cmd.Wait()
	r.cancel()
	r.out.Close()
	r.err.Close()
	res := r.res
	var ee *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &ee):
		res.Code = ee.ExitCode()
		// os/exec reports a syscall.WaitStatus (not unix.WaitStatus).
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Code = 128 + int(ws.Signal())
		}
	default:
		res.Code = -1
		res.Stderr += "(harness: " + runErr.Error() + ")\n"
	}
	res.Stdout = ReadString(res.OutPath)
	res.Stderr = ReadString(r.err.Name()) + res.Stderr
	return res
}

// Opts are the less common ways of running nook.
type Opts struct {
	Extra   []*os.File    // fds 3, 4, … of the nook process
	Timeout time.Duration // default 30s
	NoRoot  bool          // do not add --root (the args carry their own)
}

// Start starts nook with this env's --root in the background.
func (e *Env) Start(o Opts, args ...string) (*Running, error) {
	full := args
	if !o.NoRoot {
		full = append([]string{"--root", e.Root}, args...)
	}
	n := e.Next()
	outPath := filepath.Join(e.Dir, fmt.Sprintf("out%d", n))
	out, err := os.Create(outPath)
	if err != nil {
		return nil, err
	}
	errf, err := os.Create(filepath.Join(e.Dir, fmt.Sprintf("err%d", n)))
	if err != nil {
		out.Close()
		return nil, err
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	cmd := exec.CommandContext(ctx, e.Bin, full...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = out, errf, o.Extra
	if err := cmd.Start(); err != nil {
		cancel()
		out.Close()
		errf.Close()
		return nil, err
	}
	return &Running{cmd: cmd, res: Result{Args: full, OutPath: outPath}, out: out, err: errf, cancel: cancel}, nil
}

// NookOpts runs nook to completion.
func (e *Env) NookOpts(o Opts, args ...string) Result {
	r, err := e.Start(o, args...)
	if err != nil {
		return Result{Args: args, Code: -1, Stderr: "(harness: " + err.Error() + ")"}
	}
	return r.Wait()
}

// Nook runs nook with this env's --root.
func (e *Env) Nook(args ...string) Result { return e.NookOpts(Opts{}, args...) }

// OK fails the test unless r exited 0.
func (e *Env) OK(r Result) Result {
	e.T.Helper()
	if r.Code != 0 {
		e.T.Fatalf("unexpected failure: %s", r)
	}
	return r
}

// Create creates a container and registers its init; it fails the test if
// create fails.
func (e *Env) Create(bundle, id string, extra ...string) (pid int, r Result) {
	e.T.Helper()
	pid, r = e.TryCreate(Opts{}, bundle, id, extra...)
	if r.Code != 0 {
		e.T.Fatalf("create: %s", r)
	}
	return pid, r
}

// TryCreate runs create and, if it succeeded, reads and registers the pid.
func (e *Env) TryCreate(o Opts, bundle, id string, extra ...string) (int, Result) {
	pidFile := filepath.Join(e.Dir, fmt.Sprintf("pid%d", e.Next()))
	a := append([]string{"create", "--bundle", bundle, "--pid-file", pidFile}, extra...)
	r := e.NookOpts(o, append(a, id)...)
	if r.Code != 0 {
		return 0, r
	}
	pid, err := strconv.Atoi(ReadString(pidFile))
	if err != nil {
		r.Code = -1
		r.Stderr += fmt.Sprintf("(harness: pid file holds %q)", ReadString(pidFile))
		return 0, r
	}
	e.Register(pid)
	return pid, r
}

// Register remembers a container init so the leftover check verifies it is
// gone and reaps it.
func (e *Env) Register(pid int) {
	st, err := ReadStat(pid)
	if err != nil {
		return
	}
	e.mu.Lock()
	e.inits = append(e.inits, ProcID{pid, st.Start})
	e.mu.Unlock()
}

// State is `nook state` output.
type State struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

// TryState returns the state of id, if nook reports one.
func (e *Env) TryState(id string) (State, Result, bool) {
	r := e.Nook("state", id)
	var s State
	if r.Code != 0 {
		return s, r, false
	}
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		return s, r, false
	}
	return s, r, true
}

// WaitStatus polls `nook state` until id reports want (10s at most).
func (e *Env) WaitStatus(id, want string) State {
	e.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, r, ok := e.TryState(id)
		if !ok {
			e.T.Fatalf("state %s: %s", id, r)
		}
		if s.Status == want {
			return s
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("container %s: status %q, still not %q after 10s", id, s.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFile waits until path contains want (10s at most) and returns it.
func (e *Env) WaitFile(path, want string) string {
	e.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := ReadString(path)
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("%s: no %q after 10s; it holds %q", path, want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ForceDelete removes id whatever its state; a missing container is fine.
func (e *Env) ForceDelete(id string) {
	e.T.Helper()
	r := e.Nook("delete", "--force", id)
	if r.Code != 0 && !strings.Contains(r.Stderr, "does not exist") {
		e.T.Errorf("delete --force %s: %s", id, r)
	}
}

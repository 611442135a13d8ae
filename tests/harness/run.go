package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Result is one finished nook command. Output goes through files, never
// pipes: a container created by the command inherits its stdout and stderr,
// and a pipe would keep Wait waiting for the container.
type Result struct {
	Args           []string
	Code           int // exit status; 128+N when killed by signal N; -1 when it did not run or outlived its limit
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

// Running is a command started in the background, its stdout and stderr
// in files (see Result), killed if it outlives its limit.
type Running struct {
	cmd      *exec.Cmd
	res      Result
	errPath  string
	limit    time.Duration
	timer    *time.Timer
	timedOut atomic.Bool
}

// StartCaptured starts cmd with its output in files under dir, numbered n
// (out<n>, err<n>), and kills it if it is still running after limit.
func StartCaptured(dir string, n int64, cmd *exec.Cmd, limit time.Duration) (*Running, error) {
	r := &Running{cmd: cmd, limit: limit, errPath: filepath.Join(dir, fmt.Sprintf("err%d", n)),
		res: Result{Args: cmd.Args[1:], OutPath: filepath.Join(dir, fmt.Sprintf("out%d", n))}}
	out, err := os.Create(r.res.OutPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	errf, err := os.Create(r.errPath)
	if err != nil {
		return nil, err
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r.timer = time.AfterFunc(limit, func() {
		r.timedOut.Store(true)
		cmd.Process.Kill()
	})
	return r, nil
}

// RunCaptured starts cmd as StartCaptured does and waits for it.
func RunCaptured(dir string, n int64, cmd *exec.Cmd, limit time.Duration) Result {
	r, err := StartCaptured(dir, n, cmd, limit)
	if err != nil {
		return Result{Args: cmd.Args[1:], Code: -1, Stderr: "(test harness: " + err.Error() + ")"}
	}
	return r.Wait()
}

// Pid is the command's pid.
func (r *Running) Pid() int { return r.cmd.Process.Pid }

// Kill sends SIGKILL to the command (not to what it started).
func (r *Running) Kill() { r.cmd.Process.Signal(unix.SIGKILL) }

// Started is what is known of the command before it ends: its Args and
// OutPath.
func (r *Running) Started() Result { return r.res }

// Wait waits for the command. Its Code is the exit status, 128+N for
// signal N, or -1 when the limit killed it or it could not be waited for;
// the harness says which at the start of Stderr.
func (r *Running) Wait() Result {
	err := r.cmd.Wait()
	r.timer.Stop()
	res := r.res
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
		// os/exec reports a syscall.WaitStatus (not unix.WaitStatus).
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Code = 128 + int(ws.Signal())
			res.Stderr = fmt.Sprintf("(test harness: killed by %v)\n", ws.Signal())
		}
	default:
		res.Code = -1
		res.Stderr = "(test harness: " + err.Error() + ")\n"
	}
	if r.timedOut.Load() {
		res.Code = -1
		res.Stderr = fmt.Sprintf("(test harness: killed after %v)\n", r.limit)
	}
	res.Stdout = ReadString(res.OutPath)
	res.Stderr += ReadString(r.errPath)
	return res
}

// Opts are the less common ways of running nook.
type Opts struct {
	Extra   []*os.File    // fds 3, 4, … of the nook process
	Timeout time.Duration // default 30s
	NoRoot  bool          // do not add --root (the args carry their own)
}

// Command is the nook command Start runs: this env's binary, --root (unless
// o.NoRoot), fds and environment.
func (e *Env) Command(o Opts, args ...string) *exec.Cmd {
	full := args
	if !o.NoRoot {
		full = append([]string{"--root", e.Root}, args...)
	}
	cmd := exec.Command(e.Bin, full...)
	cmd.ExtraFiles = o.Extra
	if len(e.Environ) > 0 {
		cmd.Env = append(os.Environ(), e.Environ...)
	}
	return cmd
}

// Start starts nook with this env's --root in the background.
func (e *Env) Start(o Opts, args ...string) (*Running, error) {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	return StartCaptured(e.Dir, e.Next(), e.Command(o, args...), o.Timeout)
}

// NookOpts runs nook to completion.
func (e *Env) NookOpts(o Opts, args ...string) Result {
	r, err := e.Start(o, args...)
	if err != nil {
		return Result{Args: args, Code: -1, Stderr: "(test harness: " + err.Error() + ")"}
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
		r.Stderr += fmt.Sprintf("(test harness: pid file holds %q)", ReadString(pidFile))
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
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations"`
	Owner       string            `json:"owner"`
}

// State returns the state of id; it fails the test if nook reports none.
func (e *Env) State(id string) State {
	e.T.Helper()
	r := e.OK(e.Nook("state", id))
	var s State
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		e.T.Fatalf("state output is not JSON: %v\n%s", err, r)
	}
	return s
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
		s := e.State(id)
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

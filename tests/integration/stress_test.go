package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParallelContainers(t *testing.T) {
	e := newEnv(t)
	const n = 20
	bundles := make([]string, n)
	ids := make([]string, n)
	for i := range bundles {
		bundles[i] = e.bundle(args("sleep", "100"))
		ids[i] = e.id()
	}
	var wg sync.WaitGroup
	errs := make(chan string, n*4)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(bundle, id string) {
			defer wg.Done()
			pidFile := filepath.Join(e.Dir, id+".pid")
			if r := e.nook("create", "--bundle", bundle, "--pid-file", pidFile, id); r.Code != 0 {
				errs <- "create: " + r.String()
				return
			}
			if pid, err := strconv.Atoi(readString(pidFile)); err == nil {
				e.register(pid)
			} else {
				errs <- fmt.Sprintf("%s: pid file: %v", id, err)
			}
			if r := e.nook("start", id); r.Code != 0 {
				errs <- "start: " + r.String()
			}
			r := e.nook("state", id)
			var s stateOut
			if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &s) != nil || s.Status != "running" {
				errs <- "state after start: " + r.String()
			}
			if r := e.nook("delete", "--force", id); r.Code != 0 {
				errs <- "delete --force: " + r.String()
			}
			if r := e.nook("state", id); r.Code != 1 || !strings.Contains(r.Stderr, "container does not exist") {
				errs <- "state after delete: " + r.String()
			}
		}(bundles[i], ids[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// checkNoPanic: a racing command may lose (exit 1, one line) but never crash.
func checkNoPanic(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
		t.Errorf("crash: %s", r)
		return
	}
	switch r.Code {
	case 0:
	case 1:
		if len(nonEmptyLines(r.Stderr)) != 1 {
			t.Errorf("want one error line: %s", r)
		}
	default:
		t.Errorf("exit %d: %s", r.Code, r)
	}
}

func TestRacingCommands(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	cmds := [][]string{
		{"state", id}, {"kill", id, "KILL"}, {"delete", id}, {"delete", "--force", id},
		{"kill", id, "TERM"}, {"state", id}, {"delete", "--force", id}, {"kill", "--all", id, "KILL"},
		{"state", id}, {"list", "--format", "json"},
	}
	results := make([]result, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func(i int, c []string) {
			defer wg.Done()
			results[i] = e.nook(c...)
		}(i, c)
	}
	wg.Wait()
	for _, r := range results {
		checkNoPanic(t, r)
		if r.Args[2] == "state" && r.Code == 0 {
			var s stateOut
			if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
				t.Errorf("state output is not JSON: %s", r)
			} else if (s.Status == "stopped") != (s.Pid == 0) || !containsStr([]string{"running", "stopped"}, s.Status) {
				t.Errorf("inconsistent state %+v", s)
			}
		}
	}
	// Whatever the order, --force wins in the end: the container is gone.
	r := e.nook("delete", "--force", id)
	if r.Code != 0 && !strings.Contains(r.Stderr, "container does not exist") {
		t.Errorf("final delete --force: %s", r)
	}
	e.expectFail(e.nook("state", id), "container does not exist")
	if entries, _ := os.ReadDir(e.Root); len(entries) != 0 {
		t.Errorf("state root not empty after racing deletes: %v", entries)
	}
}

// TestInterruptedCreate kills `nook create` at different moments: whatever
// it had done, delete --force must clean it up, and nothing may be left.
func TestInterruptedCreate(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("sleep", "100"))
	for i := 0; i < 12; i++ {
		delay := time.Duration(i) * 4 * time.Millisecond
		id := e.id()
		out, err := os.Create(filepath.Join(e.Dir, id+".out"))
		must(t, err)
		cmd := exec.Command(suite.Nook, "--root", e.Root, "create", "--bundle", b, id)
		cmd.Stdout, cmd.Stderr = out, out
		must(t, cmd.Start())
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
		if s, ok := e.tryState(id); ok && s.Pid > 0 {
			e.register(s.Pid)
		}
		r := e.nook("delete", "--force", id)
		if r.Code != 0 && !strings.Contains(r.Stderr, "container does not exist") {
			t.Errorf("delete --force after create was killed at %s: %s", delay, r)
		}
		e.expectFail(e.nook("state", id), "container does not exist")
	}
}

// TestRunForwardsSignals: a signal to a foreground `run` reaches the
// container's process, and run exits with its status.
func TestRunForwardsSignals(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh(`trap "echo got-term; exit 5" TERM; echo ready; while :; do sleep 0.1; done`))
	code, out := signalForeground(t, e, "run", unix.SIGTERM, "run", "--bundle", b, e.id())
	if code != 5 || !strings.Contains(out, "got-term") {
		t.Errorf("run after SIGTERM: exit %d, output %q; want exit 5 and got-term", code, out)
	}
}

// A signal other than TERM and INT (which `run` also uses for its start
// guard) to a foreground `run` or `exec` reaches the container's process
// too: the process traps USR1 from its first line, so a USR1 nook had not
// caught yet would kill nook instead.
func TestForegroundForwardsEverySignal(t *testing.T) {
	e := newEnv(t)
	script := `trap "echo got-usr1; exit 6" USR1; echo ready; while :; do sleep 0.1; done`
	id := e.id()
	e.ok(e.nook("run", "-d", "--bundle", e.bundle(args("sleep", "100")), id))
	defer e.nook("delete", "--force", id)
	for name, a := range map[string][]string{
		"run":  {"run", "--bundle", e.bundle(sh(script)), e.id()},
		"exec": {"exec", id, "sh", "-c", script},
	} {
		code, out := signalForeground(t, e, name, unix.SIGUSR1, a...)
		if code != 6 || !strings.Contains(out, "got-usr1") {
			t.Errorf("%s after SIGUSR1: exit %d, output %q; want exit 6 and got-usr1", name, code, out)
		}
	}
}

// In the foreground with a terminal, a SIGWINCH to `run` or `exec` gives
// the container's terminal the new size of the user's before the process
// gets the signal (as runc, which resizes on SIGWINCH). run's container
// has the user's size from its first instruction; exec's process exists
// before nook has its terminal, so it waits for the size.
func TestForegroundTerminalFollowsWindowSize(t *testing.T) {
	e := newEnv(t)
	_, tty := openPty(t) // nook's stdin: the user's terminal
	must(t, unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}))
	resize := func() {
		must(t, unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 160}))
	}
	// The WINCH the process gets must already show the new size.
	script := `echo first $(stty size)
while [ "$(stty size)" != "30 100" ]; do sleep 0.05; done
trap 'echo winch $(stty size); exit 7' WINCH; echo ready; while :; do sleep 0.1; done`
	id := e.id()
	e.ok(e.nook("run", "-d", "--bundle", e.bundle(args("sleep", "100")), id))
	defer e.nook("delete", "--force", id)
	for name, a := range map[string][]string{
		"run":  {"run", "--bundle", e.bundle(sh(script), func(s *specs.Spec) { s.Process.Terminal = true }), e.id()},
		"exec": {"exec", "-t", id, "sh", "-c", script},
	} {
		resize := resize
		must(t, unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}))
		code, out := signalForegroundOn(t, e, name, foreground{stdin: tty, beforeSignal: resize}, unix.SIGWINCH, a...)
		out = strings.ReplaceAll(out, "\r", "")
		if code != 7 || !strings.Contains(out, "winch 50 160") {
			t.Errorf("%s with a terminal, resized, then SIGWINCH: exit %d, output %q; want exit 7 and winch 50 160", name, code, out)
		}
		if name == "run" && !strings.Contains(out, "first 30 100") {
			t.Errorf("run with a terminal: output %q; want the container's first stty size to say 30 100", out)
		}
	}
}

// signalForeground starts nook with args, waits for "ready" in its output,
// sends it sig and returns its exit status and output.
func signalForeground(t *testing.T, e *env, name string, sig unix.Signal, args ...string) (int, string) {
	t.Helper()
	return signalForegroundOn(t, e, name, foreground{}, sig, args...)
}

// foreground is what signalForegroundOn gives nook besides its arguments.
type foreground struct {
	stdin        *os.File // nil: /dev/null
	beforeSignal func()   // called once ready is seen, before the signal
}

// signalForegroundOn is signalForeground as f says.
func signalForegroundOn(t *testing.T, e *env, name string, f foreground, sig unix.Signal, args ...string) (int, string) {
	t.Helper()
	outPath := filepath.Join(e.Dir, name+".out")
	out, err := os.Create(outPath)
	must(t, err)
	defer out.Close()
	cmd := exec.Command(suite.Nook, append([]string{"--root", e.Root}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if f.stdin != nil {
		cmd.Stdin = f.stdin
	}
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e.waitFile(outPath, "ready")
	if f.beforeSignal != nil {
		f.beforeSignal()
	}
	must(t, cmd.Process.Signal(sig))
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not exit after %v; output %q", name, sig, readString(outPath))
	}
	return cmd.ProcessState.ExitCode(), readString(outPath)
}

// TestConcurrentCreateSameID: of creates racing for one id exactly one wins.
func TestConcurrentCreateSameID(t *testing.T) {
	e := newEnv(t)
	const n = 5
	bundles := make([]string, n)
	for i := range bundles {
		bundles[i] = e.bundle(args("sleep", "100"))
	}
	id := e.id()
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = e.nook("create", "--bundle", bundles[i], id)
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		checkNoPanic(t, r)
		if r.Code == 0 {
			wins++
		} else if !strings.Contains(r.Stderr, "exists") {
			t.Errorf("losing create: %s", r)
		}
	}
	if wins != 1 {
		t.Errorf("%d creates of one id succeeded, want exactly 1", wins)
	}
	if s, ok := e.tryState(id); ok {
		e.register(s.Pid)
		if s.Status != "created" {
			t.Errorf("winner's status %q, want created", s.Status)
		}
	}
	e.ok(e.nook("delete", "--force", id))
}

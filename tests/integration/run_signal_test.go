package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// A `nook run` told to stop with SIGTERM or SIGINT before its container has
// started stops at once and removes everything made for the container: the
// state dir, the init, the cgroup, and the hook it was running with the
// hook's own children. Once the container runs, the same signals are the
// container's, forwarded to it as runc does (TestRunForwardsSignals).

// runningNook is a `nook run` left running in the background.
type runningNook struct {
	cmd  *exec.Cmd
	res  result
	done chan struct{} // closed once res is filled
}

// nookAsync starts nook with this test's --root, its output in files (see
// result). The harness kills it after 30 s, so a run that ignores the
// signal fails its test instead of hanging it.
func (e *env) nookAsync(a ...string) *runningNook {
	e.t.Helper()
	return e.nookAsyncEnv(nil, a...)
}

// nookAsyncEnv is nookAsync with extra "KEY=VALUE" entries in nook's environment.
func (e *env) nookAsyncEnv(extraEnv []string, a ...string) *runningNook {
	e.t.Helper()
	cmd := exec.Command(suite.Nook, append([]string{"--root", e.Root}, a...)...)
	if extraEnv != nil {
		cmd.Env = append(os.Environ(), extraEnv...)
	}
	c, err := harness.StartCaptured(e.Dir, e.next(), cmd, 30*time.Second)
	must(e.t, err)
	r := &runningNook{cmd: cmd, res: c.Started(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.res = c.Wait()
	}()
	e.t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait returns the finished command, failing the test if it takes longer
// than limit.
func (r *runningNook) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	select {
	case <-r.done:
		return r.res
	case <-time.After(limit):
		t.Fatalf("nook %s still running %v after the signal", strings.Join(r.res.Args, " "), limit)
		return result{}
	}
}

// sleepyHook is a hook that starts a child, writes ready once it has, and
// waits for the child (~17 minutes). Both run in the test's directory, so
// that hookProcesses, and the leftover check, find them.
func (e *env) sleepyHook(name string) (hook specs.Hook, ready string) {
	ready = filepath.Join(e.Dir, name+".ready")
	script := fmt.Sprintf("cd %s && { /bin/sleep 1000 & echo > %s; wait; }", e.Dir, ready)
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}}, ready
}

// waitReady waits for a hook to create path.
func (e *env) waitReady(path string, run *runningNook) {
	e.t.Helper()
	e.waitWhileRunning(run, "its hook ran", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// waitRunning waits until the container a background `nook run` runs is
// running, and registers its init with the leftover check.
func (e *env) waitRunning(id string, run *runningNook) {
	e.t.Helper()
	e.waitWhileRunning(run, "its container ran", func() bool {
		s, ok := e.tryState(id)
		if ok && s.Status == "running" {
			e.register(s.Pid)
		}
		return ok && s.Status == "running"
	})
}

// waitWhileRunning polls done until it says true, failing the test if the
// background nook ends first or 15 s pass.
func (e *env) waitWhileRunning(run *runningNook, what string, done func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !done() {
		select {
		case <-run.done:
			e.t.Fatalf("nook ended before %s: %s", what, run.res)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("nook still running, but not %s after 15s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hookProcesses finds a sleepyHook's shell and sleep by their working
// directory, with their host pids (a createContainer hook runs in the
// container's pid namespace, where its own $$ means nothing here).
func (e *env) hookProcesses() map[string]procID {
	e.t.Helper()
	found := map[string]procID{}
	for pid := range harness.ProcessesOf(e.Dir, nil) {
		st, err := harness.ReadStat(pid)
		if err != nil || (st.Comm != "sh" && st.Comm != "sleep") {
			continue
		}
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd == e.Dir {
			found[fmt.Sprintf("%s (pid %d)", st.Comm, pid)] = procID{Pid: pid, Start: st.Start}
		}
	}
	if len(found) != 2 {
		e.t.Fatalf("want the hook's sh and sleep in %s, found %v", e.Dir, found)
	}
	return found
}

// interruptDuringHook runs a container (`run` with runFlags) whose hook of
// kind sleeps, sends nook sig while the hook runs, and checks that the run
// ends at once with 128+sig and one error line, and leaves nothing behind.
func interruptDuringHook(t *testing.T, kind string, sig unix.Signal, runFlags ...string) {
	e := newEnv(t)
	hook, ready := e.sleepyHook(kind)
	b := e.bundle(args("true"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{}
		switch kind {
		case "prestart":
			s.Hooks.Prestart = []specs.Hook{hook}
		case "createRuntime":
			s.Hooks.CreateRuntime = []specs.Hook{hook}
		case "createContainer":
			s.Hooks.CreateContainer = []specs.Hook{hook}
		}
	})
	id := e.id()
	run := e.nookAsync(append(append([]string{"run"}, runFlags...), "--bundle", b, id)...)
	e.waitReady(ready, run)
	procs := e.hookProcesses()
	// The container exists in part: its init and cgroup are there.
	st, ok := e.tryState(id)
	if !ok || st.Pid == 0 {
		t.Fatalf("no state with an init pid while the %s hook runs: %+v", kind, st)
	}
	e.register(st.Pid)
	if _, err := os.Stat(cgroupDir("memory", id)); err != nil {
		t.Fatalf("no cgroup while the %s hook runs: %v", kind, err)
	}

	began := time.Now()
	must(t, run.cmd.Process.Signal(sig))
	r := run.wait(t, 10*time.Second)
	took := time.Since(began)
	t.Logf("run stopped %v after %v", took, sig)
	if took > 5*time.Second {
		t.Errorf("run took %v to stop after %v", took, sig)
	}
	if r.Code != 128+int(sig) {
		t.Errorf("want exit %d, got: %s", 128+int(sig), r)
	}
	lines := nonEmptyLines(r.Stderr)
	if len(lines) != 1 || !strings.Contains(r.Stderr, id) || !strings.Contains(r.Stderr, "interrupted by "+unix.SignalName(sig)) {
		t.Errorf("want one error line naming %s and the signal, got: %s", id, r)
	}
	for name, p := range procs {
		if !p.WaitDead(2 * time.Second) {
			t.Errorf("the %s hook's %s still runs", kind, name)
		}
	}
	noCgroupLeft(t, id)
	if _, ok := e.tryState(id); ok {
		t.Errorf("container %s still exists", id)
	}
	// newEnv's cleanup checks the rest (state dir, init, processes, mounts)
	// and kills what it finds.
}

// nook runs prestart and createRuntime hooks itself.
func TestRunSIGTERMDuringCreateRuntimeHook(t *testing.T) {
	interruptDuringHook(t, "createRuntime", unix.SIGTERM)
}

func TestRunSIGINTDuringPrestartHook(t *testing.T) {
	interruptDuringHook(t, "prestart", unix.SIGINT)
}

// The init runs createContainer hooks while nook waits for it on the init
// socket.
func TestRunSIGTERMWhileInitRunsHook(t *testing.T) {
	interruptDuringHook(t, "createContainer", unix.SIGTERM)
}

// A detached run forwards nothing, but is stopped all the same before its
// container starts.
func TestRunDetachSIGTERMDuringCreateRuntimeHook(t *testing.T) {
	interruptDuringHook(t, "createRuntime", unix.SIGTERM, "--detach")
}

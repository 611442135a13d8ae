package integration

import (
	"encoding/json"
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

// The C commands (fastcmd/fastcmd.c) serve state, start, kill and delete of
// a container with a summary before the Go runtime starts, and decline
// everything else to the Go commands. _NOOK_FASTCMD=must makes a decline
// exit 125 (so a test knows the C side served), =off leaves every command
// to Go (so a test can compare).

// fastcmd runs nook with _NOOK_FASTCMD=mode.
func (e *env) fastcmd(mode string, a ...string) result {
	saved := e.Environ
	e.Environ = append(append([]string{}, saved...), "_NOOK_FASTCMD="+mode)
	defer func() { e.Environ = saved }()
	return e.nook(a...)
}

// sameState checks that the C side serves `state` (with these global flags)
// and prints exactly what the Go side prints; it returns the status.
func (e *env) sameState(id string, global ...string) string {
	e.t.Helper()
	args := append(append([]string{}, global...), "state", id)
	c := e.fastcmd("must", args...)
	g := e.fastcmd("off", args...)
	if c.Code != 0 || g.Code != 0 {
		e.t.Fatalf("state %s: C %s\nGo %s", id, c, g)
	}
	if c.Stdout != g.Stdout {
		e.t.Fatalf("state %s: the C side printed\n%s\nthe Go side\n%s", id, c.Stdout, g.Stdout)
	}
	var st stateOut
	if err := json.Unmarshal([]byte(c.Stdout), &st); err != nil {
		e.t.Fatalf("state %s: %v", id, err)
	}
	return st.Status
}

// Every status, the exit fields of an exit code and of a signal, annotations
// that encoding/json escapes, and the global flags engines pass: the same
// bytes from both sides.
func TestFastStateMatchesGo(t *testing.T) {
	e := newEnv(t)
	annotate := func(s *specs.Spec) {
		s.Annotations = map[string]string{"a<b>": "x&y", "line": "v\u2028w\n\"q\"", "z": ""}
	}
	id := e.id()
	e.create(e.bundle(sh(`trap "exit 3" USR1; while :; do sleep 0.05; done`), annotate), id)
	// The C side makes the --log file as the Go side does, even with
	// nothing to log (checked before any Go command has the chance).
	log := filepath.Join(e.Dir, "fast.log")
	e.ok(e.fastcmd("must", "--log", log, "state", id))
	if _, err := os.Stat(log); err != nil {
		t.Errorf("--log: the C side did not make the log file: %v", err)
	}
	if got := e.sameState(id, "--log", log, "--log-format", "json", "--systemd-cgroup"); got != "created" {
		t.Fatalf("status %q, want created", got)
	}
	e.ok(e.fastcmd("must", "start", id))
	if got := e.sameState(id); got != "running" {
		t.Fatalf("status %q, want running", got)
	}
	e.ok(e.nook("pause", id))
	if got := e.sameState(id, "--root="+e.Root); got != "paused" {
		t.Fatalf("status %q, want paused", got)
	}
	e.ok(e.nook("resume", id))
	e.ok(e.nook("kill", id, "usr1"))
	e.waitStatus(id, "stopped")
	e.waitFile(filepath.Join(e.Root, id, "exit.json"), "waitStatus")
	if got := e.sameState(id); got != "stopped" {
		t.Fatalf("status %q, want stopped", got)
	}
	if out := e.state(id); !strings.Contains(e.nook("state", id).Stdout, `"code": 3`) || out.Pid != 0 {
		t.Errorf("stopped state: want exit code 3 and pid 0, got %+v", out)
	}

	killed := e.id()
	e.create(e.bundle(args("sleep", "100")), killed)
	e.ok(e.fastcmd("must", "kill", killed, "KILL"))
	e.waitStatus(killed, "stopped")
	e.waitFile(filepath.Join(e.Root, killed, "exit.json"), "waitStatus")
	if got := e.sameState(killed); got != "stopped" {
		t.Fatalf("status %q, want stopped", got)
	}
	if !strings.Contains(e.nook("state", killed).Stdout, `"signal": "SIGKILL"`) {
		t.Errorf("a container killed in created: no SIGKILL in its state")
	}
	for _, c := range []string{id, killed} {
		e.ok(e.fastcmd("must", "delete", c))
	}
}

// start, kill and delete served by the C side do what the Go ones do: the
// process runs, gets the signal, and nothing of the container is left.
func TestFastStartKillDelete(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	out := filepath.Join(e.Dir, "out")
	must(t, os.Mkdir(out, 0o755))
	bundle := e.bundle(sh(`trap "echo got-term >/out/x; exit 0" TERM; echo started >/out/x; while :; do sleep 0.05; done`),
		harness.AddMount(specs.Mount{Destination: "/out", Type: "bind", Source: out, Options: []string{"bind"}}))
	e.create(bundle, id)
	e.ok(e.fastcmd("must", "start", id))
	e.waitFile(filepath.Join(out, "x"), "started")
	if _, err := os.Stat(filepath.Join(e.Root, id, "exec.fifo")); !os.IsNotExist(err) {
		t.Errorf("start left the barrier: %v", err)
	}
	e.ok(e.fastcmd("must", "kill", id, "0"))
	e.ok(e.nook("kill", id)) // SIGTERM: the Go side's (TestFastCommandsDecline)
	e.waitFile(filepath.Join(out, "x"), "got-term")
	e.waitStatus(id, "stopped")
	e.ok(e.fastcmd("must", "delete", "--force", id))
	if _, err := os.Stat(filepath.Join(e.Root, id)); !os.IsNotExist(err) {
		t.Errorf("delete left the state directory: %v", err)
	}
	if dirs := harness.CgroupDirs(id); len(dirs) > 0 {
		t.Errorf("delete left cgroups: %v", dirs)
	}
}

// What the C side does not serve exactly it leaves to Go, having changed
// nothing: each of these declines under must, and the Go command then does
// what it always did (its errors, in its words).
func TestFastCommandsDecline(t *testing.T) {
	e := newEnv(t)
	declines := func(why string, a ...string) {
		t.Helper()
		r := e.fastcmd("must", a...)
		if r.Code != 125 || !strings.Contains(r.Stderr, "fast path declined") {
			t.Errorf("%s: %v: want a decline, got %s", why, a, r)
		}
	}
	running := e.id()
	e.create(e.bundle(args("sleep", "100")), running)
	e.ok(e.nook("start", running))
	declines("a missing container", "state", "no-such-"+running)
	declines("a running container", "start", running)
	declines("a running container", "delete", running)
	declines("--debug", "--debug", "state", running)
	declines("a command's flag", "kill", "--all", running, "0")
	declines("another command", "ps", running)
	declines("an unknown signal", "kill", running, "NOSUCH")
	declines("a signal the program may catch", "kill", running, "TERM")
	declines("a relative --root", "--root", "rel", "state", running)
	// NOTIFY_SOCKET is put last (before _NOOK_FASTCMD), in the slot
	// startup.c lends the Go runtime; the constructor's priority keeps the
	// C side ahead of that whatever the link order (today's order would
	// too, so this checks the decline, not the priority).
	created := e.id()
	e.create(e.bundle(args("sleep", "100")), created)
	e.Environ = append(e.Environ, "NOTIFY_SOCKET="+filepath.Join(e.Dir, "notify.sock"))
	declines("NOTIFY_SOCKET", "start", created)
	e.Environ = e.Environ[:len(e.Environ)-1]
	e.ok(e.nook("delete", "--force", created))

	// The Go side, after the decline, in default mode: its errors as ever,
	// and no lock left behind by the C side (a second command would hang).
	e.expectFail(e.nook("start", running), "already running")
	e.expectFail(e.nook("delete", running), "not stopped")
	e.ok(e.nook("kill", running, "KILL"))
	e.waitStatus(running, "stopped")
	declines("a stopped container", "kill", running, "0")
	e.expectFail(e.nook("kill", running, "0"), "not running")
	declines("a stopped container", "start", running)

	// A lock held by another command: the C side never waits for it.
	dir, err := unix.Open(filepath.Join(e.Root, running), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(dir, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	declines("a held lock", "state", running)
	// Unlocked before the close: a parallel test's fork may hold a copy of
	// the descriptor (close-on-exec, but until its exec), and with it the
	// lock, which the C side would then find held.
	if err := unix.Flock(dir, unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	unix.Close(dir)
	e.ok(e.fastcmd("must", "delete", running))

	// Containers whose start, kill or delete has more to do than the C
	// side does: poststart and poststop hooks, SIGKILL to a container
	// without a pid namespace, delete of one without a mount namespace.
	hooked := e.id()
	e.create(e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Poststart: []specs.Hook{{Path: "/bin/true"}},
			Poststop:  []specs.Hook{{Path: "/bin/true"}},
		}
	}, withoutNamespace(specs.PIDNamespace)), hooked)
	declines("poststart hooks", "start", hooked)
	e.ok(e.nook("start", hooked))
	declines("SIGKILL without a pid namespace", "kill", hooked, "KILL")
	e.ok(e.nook("kill", hooked, "KILL"))
	e.waitStatus(hooked, "stopped")
	declines("poststop hooks", "delete", hooked)
	e.ok(e.nook("delete", hooked))

	// An id longer than a directory name is stored under a digest, which
	// the C side does not compute.
	long := e.id() + "-" + strings.Repeat("x", 220)
	e.create(e.bundle(args("true")), long)
	declines("a long id", "state", long)
	e.ok(e.nook("delete", "--force", long))
}

// The C start returns only once the init has let go of the barrier (its
// execve closes its end): here a stand-in init, a process of the test's
// holding the fifo's read end for 300 ms after the byte is written.
func TestFastStartWaitsForTheExec(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	dir := filepath.Join(e.Root, id)
	must(t, os.MkdirAll(dir, 0o700))
	defer os.RemoveAll(dir)
	sleeper := exec.Command("sleep", "30")
	must(t, sleeper.Start())
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	st, err := harness.ReadStat(sleeper.Process.Pid)
	must(t, err)
	fifo := filepath.Join(dir, "exec.fifo")
	must(t, unix.Mkfifo(fifo, 0o622))
	reader, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	must(t, err)
	summary := fmt.Sprintf("nook-summary 1\npid %d\nstart %d\nstart-plain 1\nkill-init 1\nfreezer none\n"+
		"delete-plain 0\ncgroup-dirs 0\nhead 1\n{\ntail 1\n}\nrow 0\n\n", sleeper.Process.Pid, st.Start)
	must(t, os.WriteFile(filepath.Join(dir, "summary"), []byte(summary), 0o600))

	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		released <- time.Now()
		unix.Close(reader) // the stand-in's execve
	}()
	e.ok(e.fastcmd("must", "start", id))
	returned := time.Now()
	if at := <-released; returned.Before(at) {
		t.Errorf("start returned %v before the init let go of the barrier", at.Sub(returned))
	}
	if _, err := os.Stat(fifo); !os.IsNotExist(err) {
		t.Errorf("start left the barrier: %v", err)
	}
}

// `list` and `list -q` from the C side print what the Go side prints, with
// containers in every status; one without a summary leaves the list to Go.
// The env's --root holds this test's containers only.
func TestFastListMatchesGo(t *testing.T) {
	e := newEnv(t)
	sameList := func(a ...string) {
		t.Helper()
		c, g := e.fastcmd("must", a...), e.fastcmd("off", a...)
		if c.Code != 0 || g.Code != 0 || c.Stdout != g.Stdout {
			t.Fatalf("%v: the C side printed (%s)\n%s\nthe Go side (%s)\n%s", a, c, c.Stdout, g, g.Stdout)
		}
	}
	ids := map[string]string{}
	for _, status := range []string{"created", "running", "paused", "stopped"} {
		ids[status] = e.id() + "-" + status
		e.create(e.bundle(args("sleep", "100")), ids[status])
	}
	e.ok(e.nook("start", ids["running"]))
	e.ok(e.nook("start", ids["paused"]))
	e.ok(e.nook("pause", ids["paused"]))
	e.ok(e.nook("kill", ids["stopped"], "KILL"))
	e.waitStatus(ids["stopped"], "stopped")
	sameList("list")
	sameList("list", "-q")
	sameList("list", "--format", "table")
	if out := e.nook("list").Stdout; !strings.Contains(out, "paused") || !strings.Contains(out, "stopped") {
		t.Errorf("list does not show every status:\n%s", out)
	}
	if r := e.fastcmd("must", "list", "--format", "json"); r.Code != 125 {
		t.Errorf("list --format json: want a decline, got %s", r)
	}
	long := e.id() + "-" + strings.Repeat("x", 220)
	e.create(e.bundle(args("sleep", "100")), long)
	if r := e.fastcmd("must", "list"); r.Code != 125 {
		t.Errorf("a container without a summary: want a decline, got %s", r)
	}
	e.ok(e.nook("resume", ids["paused"]))
	for _, id := range []string{long, ids["created"], ids["running"], ids["paused"], ids["stopped"]} {
		e.ok(e.nook("delete", "--force", id))
	}
	sameList("list") // an empty root: the header alone
}

// A summary cut short anywhere, or with a byte changed in its numbers, is
// declined, never misread: the C side leaves the container to Go.
func TestFastDamagedSummaryDeclines(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	e.create(e.bundle(args("sleep", "100")), id)
	path := filepath.Join(e.Root, id, "summary")
	whole, err := os.ReadFile(path)
	must(t, err)
	good := e.fastcmd("must", "state", id)
	if good.Code != 0 {
		t.Fatalf("state: %s", good)
	}
	try := func(what string, b []byte) {
		t.Helper()
		must(t, os.WriteFile(path, b, 0o600))
		r := e.fastcmd("must", "state", id)
		if r.Code != 125 && (r.Code != 0 || r.Stdout != good.Stdout) {
			t.Fatalf("%s: %s", what, r)
		}
	}
	for n := 0; n < len(whole); n += 1 + n/64 {
		try(fmt.Sprintf("cut at %d", n), whole[:n])
	}
	try("without its last newline", whole[:len(whole)-1])
	for i, c := range whole[:strings.Index(string(whole), "head ")] {
		if c >= '0' && c <= '9' {
			damaged := append([]byte{}, whole...)
			damaged[i] = 'x'
			try(fmt.Sprintf("byte %d", i), damaged)
		}
	}
	must(t, os.WriteFile(path, whole, 0o600))
	e.ok(e.nook("delete", "--force", id))
}

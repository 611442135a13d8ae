package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// exitState is what `nook state` adds for a stopped container whose end is
// known, beside the OCI fields.
type exitState struct {
	Status string `json:"status"`
	Pid    int    `json:"pid"`
	Exit   *struct {
		Code   *int   `json:"code"`
		Signal string `json:"signal"`
	} `json:"exit"`
	OOMKilled *bool      `json:"oomKilled"`
	ExitedAt  *time.Time `json:"exitedAt"`
}

// rawState is `nook state` as a JSON object, to see which keys it has.
func (e *env) rawState(id string) map[string]json.RawMessage {
	e.t.Helper()
	var m map[string]json.RawMessage
	must(e.t, json.Unmarshal([]byte(e.ok(e.nook("state", id)).Stdout), &m))
	return m
}

// waitExit polls `nook state` until it says how the stopped container
// ended (its keeper writes that within milliseconds of the exit).
func (e *env) waitExit(id string) exitState {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var s exitState
		r := e.ok(e.nook("state", id))
		must(e.t, json.Unmarshal([]byte(r.Stdout), &s))
		if s.Status == "stopped" && s.ExitedAt != nil {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: no exit recorded after 10s; state: %s", id, r.Stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keeperOf is the pid of the container's exit keeper, as state.json
// records it (0: none).
func (e *env) keeperOf(id string) int {
	e.t.Helper()
	var rec struct {
		ExitKeeper int `json:"exitKeeper"`
	}
	b, err := os.ReadFile(filepath.Join(e.Root, id, "state.json"))
	must(e.t, err)
	must(e.t, json.Unmarshal(b, &rec))
	return rec.ExitKeeper
}

// keeperGone waits until the keeper pid (identified by its start time
// read while it ran) has exited.
func keeperGone(t *testing.T, k procID) {
	t.Helper()
	if !k.WaitDead(5 * time.Second) {
		t.Errorf("exit keeper pid %d still running", k.Pid)
	}
}

func keeperID(t *testing.T, pid int) procID {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("no exit keeper recorded (pid %d)", pid)
	}
	st, err := harness.ReadStat(pid)
	must(t, err)
	return procID{Pid: pid, Start: st.Start}
}

// waitKeeperProgram waits until the keeper pid runs the keeper program
// (it names itself nook-keeper).
func waitKeeperProgram(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for readString("/proc/"+strconv.Itoa(pid)+"/comm") != "nook-keeper\n" {
		if time.Now().After(deadline) {
			t.Fatalf("keeper %d never ran the keeper program (comm %q)", pid, readString("/proc/"+strconv.Itoa(pid)+"/comm"))
		}
		time.Sleep(time.Millisecond)
	}
}

func checkCode(t *testing.T, s exitState, code int) {
	t.Helper()
	if s.Exit == nil || s.Exit.Code == nil || *s.Exit.Code != code || s.Exit.Signal != "" {
		t.Errorf("exit = %+v, want code %d", s.Exit, code)
	}
}

func checkSignal(t *testing.T, s exitState, sig string) {
	t.Helper()
	if s.Exit == nil || s.Exit.Code != nil || s.Exit.Signal != sig {
		t.Errorf("exit = %+v, want signal %s", s.Exit, sig)
	}
}

func hasMemoryCgroup(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		if _, err := os.Stat(filepath.Join(cgroup2Mount(), "memory.stat")); err != nil {
			t.Skip("no memory cgroup controller")
		}
	}
}

// A container that exits by itself: its code, no OOM kill, when; the
// keeper sits outside the container (not in its cgroup, not in ps, no
// stdio) and is gone once the container is deleted.
func TestExitCodeInState(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh("sleep 0.3; exit 3"))
	id := e.id()
	before := time.Now()
	e.create(b, id)
	k := keeperID(t, e.keeperOf(id))
	// create's keeper runs its program once create has exited
	// (nsenter/keeperlaunch.c): until then it is create's memory.
	waitKeeperProgram(t, k.Pid)
	cg := readString("/proc/" + strconv.Itoa(k.Pid) + "/cgroup")
	if strings.Contains(cg, "/nook/"+id) {
		t.Errorf("keeper %d is in the container's cgroup:\n%s", k.Pid, cg)
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(k.Pid) + "/fd")
	must(t, err)
	var names []string
	for _, fd := range fds {
		names = append(names, fd.Name())
	}
	if got := strings.Join(names, " "); got != "3 4 5" && got != "3 4" {
		t.Errorf("keeper %d has fds %q, want only 3 4 (5): no stdio, nothing inherited", k.Pid, got)
	}
	e.ok(e.nook("start", id))
	s := e.waitExit(id)
	checkCode(t, s, 3)
	if s.OOMKilled != nil && *s.OOMKilled {
		t.Errorf("oomKilled = true for a plain exit")
	}
	if s.ExitedAt.Before(before.Add(-time.Second)) || s.ExitedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("exitedAt %v not between the create (%v) and now", s.ExitedAt, before)
	}
	if s.Pid != 0 {
		t.Errorf("pid = %d once stopped, want 0 (OCI fields unchanged)", s.Pid)
	}
	keeperGone(t, k) // it exits once it has written
	e.ok(e.nook("delete", id))
}

// `nook create` starts its keeper to run its program once create has
// exited (the keeper then carries away create's memory); `run -d` forks
// it. Either way the exit is recorded.
func TestExitKeeperRunsAtCreateExit(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--debug", "create", "--bundle"}, "runs its program once create has exited"},
		{[]string{"--debug", "run", "-d", "--bundle"}, ""},
	} {
		id := e.id()
		r := e.ok(e.nook(append(c.args, e.bundle(args("sleep", "100")), id)...))
		launched := strings.Contains(r.Stderr, "runs its program once create has exited")
		if c.want != "" && !launched {
			t.Errorf("%v: the keeper was not started at create's exit (--debug: %s)", c.args, r.Stderr)
		}
		if c.want == "" && launched {
			t.Errorf("%v: the keeper was started at the command's exit; it must watch at once", c.args)
		}
		k := keeperID(t, e.keeperOf(id))
		waitKeeperProgram(t, k.Pid)
		if c.args[1] == "create" {
			e.ok(e.nook("start", id))
		}
		e.ok(e.nook("kill", id, "KILL"))
		checkSignal(t, e.waitExit(id), "SIGKILL")
		keeperGone(t, k)
		e.ok(e.nook("delete", id))
	}
}

// A running (or created) container shows none of the exit fields.
func TestExitFieldsOnlyOnceStopped(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	e.create(e.bundle(args("sleep", "100")), id)
	for _, status := range []string{"created", "running"} {
		if status == "running" {
			e.ok(e.nook("start", id))
		}
		m := e.rawState(id)
		for _, k := range []string{"exit", "oomKilled", "exitedAt"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s container's state has %q: %s", status, k, m[k])
			}
		}
	}
	// And once it has stopped, the same container's state has them: the
	// absence above is the running state's, not a missing feature.
	e.ok(e.nook("kill", id, "KILL"))
	if x := e.waitExit(id); x.Exit == nil || x.Exit.Signal != "SIGKILL" {
		t.Errorf("stopped container's exit = %+v, want signal SIGKILL", x.Exit)
	}
	m := e.rawState(id)
	for _, k := range []string{"exit", "exitedAt"} {
		if _, ok := m[k]; !ok {
			t.Errorf("stopped container's state lacks %q", k)
		}
	}
	e.ok(e.nook("delete", "--force", id))
}

// Killed by a signal: the signal's name. SIGKILL to the init of a pid
// namespace; SIGTERM to a container without one (an init of a pid
// namespace ignores signals it has no handler for).
func TestExitSignalInState(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		sig  string
		mods []specMod
	}{
		{"SIGKILL", []specMod{args("sleep", "100")}},
		{"SIGTERM", []specMod{args("sleep", "100"), withoutNamespace(specs.PIDNamespace)}},
	} {
		id, _, _ := e.createStarted(tc.mods...)
		e.ok(e.nook("kill", id, strings.TrimPrefix(tc.sig, "SIG")))
		checkSignal(t, e.waitExit(id), tc.sig)
		e.ok(e.nook("delete", id))
	}
}

// Killed before it was ever started: the exit is recorded all the same.
func TestExitCreatedThenKilled(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	e.create(e.bundle(args("true")), id)
	e.ok(e.nook("kill", id, "KILL"))
	checkSignal(t, e.waitExit(id), "SIGKILL")
	e.ok(e.nook("delete", id))
}

// The kernel's OOM killer: oomKilled, whether it killed the init itself
// (which then died of SIGKILL) or another process of the container.
func TestExitOOMKilled(t *testing.T) {
	e := newEnv(t)
	hasMemoryCgroup(t)
	limit := func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64p(16 << 20), Swap: i64p(16 << 20)}
	}
	// The init reads /dev/zero into memory until it is killed.
	id, _, _ := e.createStarted(sh("x=$(head -c 200m /dev/zero | tr '\\0' a)"), limit)
	s := e.waitExit(id)
	if s.OOMKilled == nil || !*s.OOMKilled {
		t.Errorf("init over its memory limit: oomKilled = %v, want true (exit %+v)", s.OOMKilled, s.Exit)
	}
	e.ok(e.nook("delete", id))
	// A child is killed; the init goes on and exits 7. The children ask to
	// be the OOM killer's first choice: once it has killed tail and reaped
	// its memory, a second OOM before tail is gone picks the next largest
	// process, which could be the init (CI saw it die of SIGKILL).
	id, _, _ = e.createStarted(sh("(echo 1000 > /proc/self/oom_score_adj; head -c 200m /dev/zero | tail > /dev/null); exit 7"), limit)
	s = e.waitExit(id)
	checkCode(t, s, 7)
	if s.OOMKilled == nil || !*s.OOMKilled {
		t.Errorf("child over the memory limit: oomKilled = %v, want true", s.OOMKilled)
	}
	e.ok(e.nook("delete", id))
}

// delete --force of a running container leaves no keeper behind: it exits
// with the init, and writes nothing into the removed directory.
func TestExitKeeperGoneAfterDelete(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	k := keeperID(t, e.keeperOf(id))
	e.ok(e.nook("delete", "--force", id))
	keeperGone(t, k)
	if _, err := os.Stat(filepath.Join(e.Root, id)); err == nil {
		t.Errorf("state dir of %s is back after delete", id)
	}
}

// `events` ends with an exit event carrying what `state` shows.
func TestEventsExitEvent(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(sh("sleep 1; exit 5"))
	events := e.nookBackground("events", "--interval", "10s", id)
	events.wait(t)
	lines := nonEmptyLines(events.output())
	if len(lines) == 0 {
		t.Fatalf("events printed nothing")
	}
	var ev struct {
		Type string    `json:"type"`
		ID   string    `json:"id"`
		Data exitState `json:"data"`
	}
	last := lines[len(lines)-1]
	must(t, json.Unmarshal([]byte(last), &ev))
	if ev.Type != "exit" || ev.ID != id || ev.Data.ExitedAt == nil {
		t.Errorf("last event %s, want an exit event of %s with exitedAt", last, id)
	}
	checkCode(t, ev.Data, 5)
	e.ok(e.nook("delete", id))
}

// `run --keep` in the foreground waits for the init itself and records
// its exit (no keeper).
func TestRunKeepRecordsExit(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	r := e.nook("run", "--keep", "--bundle", e.bundle(sh("exit 4")), id)
	if r.Code != 4 {
		t.Fatalf("run: %s, want exit 4", r)
	}
	checkCode(t, e.waitExit(id), 4)
	if k := e.keeperOf(id); k != 0 {
		t.Errorf("foreground run started a keeper (pid %d)", k)
	}
	e.ok(e.nook("delete", id))
}

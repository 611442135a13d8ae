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

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("sleep", "100"))
	id := e.id()
	pidFile := filepath.Join(e.Dir, "lifecycle.pid")
	e.ok(e.nook("create", "--bundle", b, "--pid-file", pidFile, id))
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(raw), "\n \t") {
		t.Errorf("pid file %q has whitespace; want a bare decimal pid", raw)
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		t.Fatalf("pid file %q: %v", raw, err)
	}
	e.register(pid)

	st := e.state(id)
	if st.Status != "created" || st.Pid != pid {
		t.Errorf("after create: status %q pid %d, want created with pid %d (the pid file's)", st.Status, st.Pid, pid)
	}
	ps, err := harness.ReadStat(pid)
	if err != nil || ps.State == 'Z' {
		t.Fatalf("created container's init %d is not a live process: %v %c", pid, err, ps.State)
	}
	// The caller is a subreaper: the init must have been re-parented to it.
	if ps.Ppid != os.Getpid() {
		t.Errorf("init %d has parent %d, want the caller (subreaper) %d", pid, ps.Ppid, os.Getpid())
	}

	e.ok(e.nook("start", id))
	if st := e.state(id); st.Status != "running" || st.Pid != pid {
		t.Errorf("after start: status %q pid %d, want running with pid %d", st.Status, st.Pid, pid)
	}
	e.ok(e.nook("kill", id, "KILL"))
	if st := e.waitStatus(id, "stopped"); st.Pid != 0 {
		t.Errorf("stopped container reports pid %d, want 0", st.Pid)
	}
	e.ok(e.nook("delete", id))
	e.expectFail(e.nook("state", id), "container does not exist")
}

func TestRunExitStatus(t *testing.T) {
	e := newEnv(t)
	if r := e.run(sh("exit 3")); r.Code != 3 {
		t.Errorf("sh -c 'exit 3': %s, want exit 3", r)
	}
	if r := e.run(sh("exit 0")); r.Code != 0 {
		t.Errorf("sh -c 'exit 0': %s, want exit 0", r)
	}
}

// tryState is `nook state` without failing the test.
func (e *env) tryState(id string) (stateOut, bool) {
	r := e.nook("state", id)
	var s stateOut
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &s) != nil {
		return s, false
	}
	return s, true
}

func TestRunKilledBySignal(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("sleep", "100"))
	id := e.id()
	run := e.nookAsync("run", "--bundle", b, id)
	e.waitRunning(id, run)
	e.ok(e.nook("kill", id, "KILL"))
	if r := run.wait(t, 15*time.Second); r.Code != 128+9 {
		t.Errorf("run of a container killed by SIGKILL: %s, want exit 137", r)
	}
}

func TestRunDetach(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("sleep", "100"))
	id := e.id()
	start := time.Now()
	e.ok(e.nook("run", "--detach", "--bundle", b, id))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run --detach took %s", d)
	}
	st := e.state(id)
	e.register(st.Pid)
	if st.Status != "running" || st.Pid <= 0 {
		t.Errorf("after run --detach: status %q pid %d, want running", st.Status, st.Pid)
	}
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
}

func TestRunKeep(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh("exit 0"))
	id := e.id()
	e.ok(e.nook("run", "--keep", "--bundle", b, id))
	if st := e.state(id); st.Status != "stopped" || st.Pid != 0 {
		t.Errorf("after run --keep: status %q pid %d, want stopped with pid 0", st.Status, st.Pid)
	}
	e.ok(e.nook("delete", id))
}

func TestKillSignalNames(t *testing.T) {
	e := newEnv(t)
	for _, sig := range []string{"KILL", "SIGKILL", "kill", "9"} {
		id, _, _ := e.createStarted(args("sleep", "100"))
		if r := e.nook("kill", id, sig); r.Code != 0 {
			t.Errorf("kill %s: %s", sig, r)
		}
		e.waitStatus(id, "stopped")
		e.ok(e.nook("delete", id))
	}
}

func TestKillAll(t *testing.T) {
	e := newEnv(t)
	// The shell is pid 1 without a TERM handler: only its children can be
	// terminated, which --all must reach.
	id, _, out := e.createStarted(sh("sleep 100 & sleep 100 & echo ready; wait; echo done"))
	e.waitFile(out.OutPath, "ready")
	e.ok(e.nook("kill", "--all", id, "TERM"))
	e.waitStatus(id, "stopped")
	e.waitFile(out.OutPath, "done")
	e.ok(e.nook("delete", id))
}

func TestKillDefaultTERM(t *testing.T) {
	e := newEnv(t)
	id, _, out := e.createStarted(sh(`trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done`))
	e.waitFile(out.OutPath, "ready")
	e.ok(e.nook("kill", id))
	e.waitStatus(id, "stopped")
	e.waitFile(out.OutPath, "got-term")
	e.ok(e.nook("delete", id))
}

func TestDeleteForce(t *testing.T) {
	e := newEnv(t)
	running, runPid, _ := e.createStarted(args("sleep", "100"))
	created := e.id()
	createdPid, _ := e.create(e.bundle(args("sleep", "100")), created)
	for _, c := range []struct {
		id  string
		pid int
	}{{running, runPid}, {created, createdPid}} {
		e.ok(e.nook("delete", "--force", c.id))
		e.expectFail(e.nook("state", c.id), "container does not exist")
		if st, err := harness.ReadStat(c.pid); err == nil && st.State != 'Z' {
			t.Errorf("delete --force %s: init %d still alive (state %c)", c.id, c.pid, st.State)
		}
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	running, _, _ := e.createStarted(args("sleep", "100"))
	created := e.id()
	e.create(e.bundle(args("sleep", "100")), created)
	want := map[string]string{running: "running", created: "created"}

	table := e.ok(e.nook("list")).Stdout
	lines := nonEmptyLines(table)
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Errorf("list table:\n%s", table)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 6 || want[f[0]] != f[2] || f[5] != "root" {
			t.Errorf("list row %q: want one of %v with owner root", l, want)
		}
	}

	var all []stateOut
	js := e.ok(e.nook("list", "--format", "json")).Stdout
	if err := json.Unmarshal([]byte(js), &all); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, js)
	}
	if len(all) != 2 {
		t.Errorf("list --format json has %d entries, want 2: %s", len(all), js)
	}
	for _, s := range all {
		if want[s.ID] != s.Status || s.Pid <= 0 {
			t.Errorf("list json entry %+v: want one of %v with a pid", s, want)
		}
	}

	q := nonEmptyLines(e.ok(e.nook("list", "-q")).Stdout)
	if len(q) != 2 || want[q[0]] == "" || want[q[1]] == "" || q[0] == q[1] {
		t.Errorf("list -q = %q, want the two ids", q)
	}
	e.ok(e.nook("delete", "--force", running))
	e.ok(e.nook("delete", "--force", created))
	if out := e.ok(e.nook("list", "--format", "json")).Stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("list --format json with no containers = %q, want []", out)
	}
}

func TestStateFields(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.nook.test": "yes"}
	})
	id := e.id()
	before := time.Now()
	pid, _ := e.create(b, id)
	raw := e.ok(e.nook("state", id)).Stdout
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("state is not a JSON object: %v\n%s", err, raw)
	}
	for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"} {
		if _, ok := m[k]; !ok {
			t.Errorf("state has no %q field: %s", k, raw)
		}
	}
	st := e.state(id)
	switch {
	case st.OCIVersion != "1.3.0":
		t.Errorf("ociVersion %q, want 1.3.0", st.OCIVersion)
	case st.ID != id || st.Pid != pid || st.Status != "created":
		t.Errorf("id/pid/status = %q/%d/%q, want %q/%d/created", st.ID, st.Pid, st.Status, id, pid)
	case st.Bundle != b:
		t.Errorf("bundle %q, want %q", st.Bundle, b)
	case st.Rootfs != filepath.Join(b, "rootfs"):
		t.Errorf("rootfs %q, want %q", st.Rootfs, filepath.Join(b, "rootfs"))
	case st.Annotations["org.nook.test"] != "yes":
		t.Errorf("annotations %v, want org.nook.test=yes", st.Annotations)
	case st.Owner != "root":
		t.Errorf("owner %q, want root", st.Owner)
	case st.Created.Before(before.Add(-time.Second)) || st.Created.After(time.Now()):
		t.Errorf("created %s is not the time of create (%s)", st.Created, before)
	}
	var created string
	json.Unmarshal(m["created"], &created)
	if _, err := time.Parse(time.RFC3339Nano, created); err != nil {
		t.Errorf("created %q is not RFC 3339: %v", created, err)
	}
	e.ok(e.nook("delete", "--force", id))
}

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
)

func TestExec(t *testing.T) {
	e := newEnv(t)
	id, initPid, _ := e.createStarted(args("sleep", "100"), tmpfsTmp)
	// Output and exit status.
	r := e.nook("exec", id, "sh", "-c", "echo out; echo err >&2; exit 7")
	if r.Code != 7 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("exec exit/output: %s", r)
	}
	// Same namespaces as the init, same cgroup, only stdio as fds.
	out := e.ok(e.nook("exec", "-e", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", "-g", "20", id,
		"sh", "-c", `echo $FOO; pwd; id; ls /proc/self/fd | wc -l; grep -c . /proc/1/cmdline; grep CapInh /proc/self/status`)).Stdout

	lines := nonEmptyLines(out)
	want := []string{"bar", "/tmp", "uid=1000(nobody) gid=1000(nobody) groups=20(users)", "4", "1", "CapInh:\t0000000000000000"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("exec saw\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Detached, with a pid file: the process is in the init's namespaces
	// and cgroup.
	pidFile := filepath.Join(e.Dir, "exec.pid")
	e.ok(e.nook("exec", "--detach", "--pid-file", pidFile, id, "sleep", "50"))
	pid, err := strconv.Atoi(readString(pidFile))
	if err != nil {
		t.Fatalf("exec pid file: %q", readString(pidFile))
	}
	for _, ns := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
		a, _ := os.Readlink("/proc/" + strconv.Itoa(initPid) + "/ns/" + ns)
		b, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + ns)
		if a == "" || a != b {
			t.Errorf("exec'd process ns %s = %q, init's %q", ns, b, a)
		}
	}
	if cg := readString("/proc/" + strconv.Itoa(pid) + "/cgroup"); !strings.Contains(cg, "/nook/"+id) {
		t.Errorf("exec'd process not in the container's cgroup: %s", cg)
	}
	var pids []int
	must(t, json.Unmarshal([]byte(e.ok(e.nook("ps", "--format", "json", id)).Stdout), &pids))
	if len(pids) != 2 {
		t.Errorf("ps after a detached exec: %v, want the init and the exec'd sleep", pids)
	}
	// --process: an OCI process JSON.
	proc := specs.Process{Args: []string{"sh", "-c", "echo via-process $X"}, Env: []string{"X=1", "PATH=/bin"}, Cwd: "/"}
	b, _ := json.Marshal(proc)
	pf := filepath.Join(e.Dir, "process.json")
	must(t, os.WriteFile(pf, b, 0o644))
	if out := e.ok(e.nook("exec", "--process", pf, id)).Stdout; out != "via-process 1\n" {
		t.Errorf("exec --process: %q", out)
	}
	// Paused: refused unless --ignore-paused.
	e.ok(e.nook("pause", id))
	e.expectCode(e.nook("exec", id, "true"), 255, "paused") // 255: nook failed, not the process
	e.ok(e.nook("resume", id))
	e.ok(e.nook("delete", "--force", id))
	e.expectCode(e.nook("exec", id, "true"), 255, "does not exist")
}

func TestExecStoppedAndBad(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("true"))
	e.waitStatus(id, "stopped")
	e.expectCode(e.nook("exec", id, "true"), 255, "stopped")
	e.ok(e.nook("delete", id))
	id2, _, _ := e.createStarted(args("sleep", "100"))
	e.expectCode(e.nook("exec", id2, "no-such-binary"), 255, "no-such-binary")
	e.expectCode(e.nook("exec", "--user", "nobody", id2, "true"), 255, "--user")
	e.ok(e.nook("delete", "--force", id2))
}

func TestExecTerminal(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	// exec's private console socket lives in a temp dir under $TMPDIR,
	// which must be gone afterwards.
	tmp := t.TempDir()
	e.Environ = []string{"TMPDIR=" + tmp}
	// nook relays to its caller's terminal, which it must have (as runc).
	_, tty := openPty(t)
	out := e.ok(e.nookCmd(nookOpts{stdin: tty}, "exec", "-t", id, "sh", "-c", "tty; echo done")).Stdout
	lines := nonEmptyLines(strings.ReplaceAll(out, "\r", ""))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/dev/pts/") || lines[1] != "done" {
		t.Errorf("exec -t printed %q", lines)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("exec -t left %d entries in $TMPDIR (its console socket directory): %v", len(left), left[0].Name())
	}
	e.ok(e.nook("delete", "--force", id))
	// The detached exec's sleep dies with the container.
	time.Sleep(10 * time.Millisecond)
}

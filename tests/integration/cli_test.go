package integration

// The command line as runc has it: flags after the container id, help and
// version, exit statuses and error wording that engines and scripts match,
// and kill's reach.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// expectCode checks a failure with another status than 1 (exec's 255):
// that status, one error line on stderr, whose message (unquoted from
// logrus's msg="…") holds every one of wants.
func (e *env) expectCode(r result, code int, wants ...string) {
	e.t.Helper()
	if r.Code != code {
		e.t.Errorf("want exit %d, got: %s", code, r)
		return
	}
	if lines := nonEmptyLines(r.Stderr); len(lines) != 1 {
		e.t.Errorf("want one error line on stderr, got %d: %s", len(lines), r)
	}
	msg := errorMessage(r.Stderr)
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			e.t.Errorf("error message %q does not hold %q: %s", msg, w, r)
		}
	}
}

// errorMessage is the msg of a logrus text line, unquoted; the line itself
// when it has none.
func errorMessage(line string) string {
	_, after, ok := strings.Cut(line, "msg=")
	if !ok {
		return line
	}
	q, err := strconv.QuotedPrefix(after)
	if err != nil {
		return line
	}
	msg, err := strconv.Unquote(q)
	if err != nil {
		return line
	}
	return msg
}

func TestCLIFlagsAfterID(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	e.ok(e.nook("update", id, "--memory", "100000000"))
	if got := readCgroup(t, "memory", id, "memory.limit_in_bytes"); got != "99999744" { // page-rounded
		t.Errorf("update ID --memory: memory.limit_in_bytes = %q", got)
	}
	if out := e.ok(e.nook("exec", id, "--env", "X=1", "sh", "-c", "echo $X")).Stdout; out != "1\n" {
		t.Errorf("exec ID --env X=1 sh -c 'echo $X' printed %q, want \"1\\n\"", out)
	}
	// From the command on, every argument is the process's: -l is ls's.
	out := e.ok(e.nook("exec", id, "ls", "-l", "/bin/busybox")).Stdout
	if !strings.HasPrefix(out, "-rwx") || !strings.Contains(out, "/bin/busybox") {
		t.Errorf("exec ID ls -l /bin/busybox printed %q, want a long listing", out)
	}
	out = e.ok(e.nook("exec", id, "--cwd", "/bin", "sh", "-c", "pwd; echo \"$@\"", "sh", "--cwd", "-e")).Stdout
	if out != "/bin\n--cwd -e\n" {
		t.Errorf("exec ID --cwd /bin sh -c … --cwd -e printed %q", out)
	}
	e.ok(e.nook("kill", id, "0", "--all"))
	e.ok(e.nook("delete", id, "--force"))
	e.expectFail(e.nook("state", id), "container does not exist")
	noCgroupLeft(t, id)
	// run ID -d, and kill ID SIGNAL --all.
	b := e.bundle(args("sleep", "100"))
	id = e.id()
	e.ok(e.nook("run", id, "--bundle", b, "-d", "--pid-file", filepath.Join(e.Dir, "run.pid")))
	if pid, err := strconv.Atoi(readString(filepath.Join(e.Dir, "run.pid"))); err == nil {
		e.register(pid)
	}
	e.waitStatus(id, "running")
	e.ok(e.nook("kill", id, "KILL", "--all"))
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
	// A flag that does not exist is refused by name, wherever it is.
	e.expectFail(e.nook("delete", "some-id", "--nope"), "flag provided but not defined: -nope")
}

func TestCLIHelp(t *testing.T) {
	e := newEnv(t)
	top := e.ok(e.nook("help")).Stdout
	commands := []string{"create", "start", "run", "state", "kill", "delete", "list", "spec", "features",
		"ps", "pause", "resume", "update", "events", "exec"}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^\s+` + c + `\b`).MatchString(top) {
			t.Errorf("nook help does not list %s:\n%s", c, top)
		}
		forms := [][]string{{"help", c}, {c, "--help"}, {c, "-h"}}
		if c != "ps" { // after ps's id, --help is ps(1)'s, as with runc
			forms = append(forms, []string{c, "some-id", "--help"})
		}
		for _, a := range forms {
			r := e.ok(e.nook(a...))
			if !strings.Contains(r.Stdout, "nook "+c+" - ") || !strings.Contains(r.Stdout, "USAGE:") {
				t.Errorf("nook %s printed no help for %s: %s", strings.Join(a, " "), c, r)
			}
		}
	}
	e.expectFail(e.nook("help", "nosuch"), "nosuch")
	// A container may be named h or help: no help subcommand stands in
	// the way of its id.
	for _, a := range [][]string{{"state", "h"}, {"delete", "help"}, {"kill", "h", "KILL"}} {
		e.expectFail(e.nook(a...), "container does not exist")
	}
}

func TestCLIVersion(t *testing.T) {
	e := newEnv(t)
	long := e.ok(e.nookGlobal([]string{"--version"}, nil)).Stdout
	short := e.ok(e.nookGlobal([]string{"-v"}, nil)).Stdout
	if long != short {
		t.Errorf("-v printed %q, --version %q", short, long)
	}
	lines := strings.Split(strings.TrimSuffix(long, "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^nook version \d+\.\d+\.\d+\S*$`),
		regexp.MustCompile(`^commit: \S+$`),
		regexp.MustCompile(`^spec: 1\.3\.0$`),
		regexp.MustCompile(`^go: go1\.\d+`),
		regexp.MustCompile(`^libseccomp: \d+\.\d+\.\d+$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("--version printed %d lines, want %d: %q", len(lines), len(want), long)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("--version line %d = %q, want it to match %s", i+1, lines[i], re)
		}
	}
	// As runc, there is no version command.
	e.expectFail(e.nook("version"), "version")
}

func TestCLIListMissingRoot(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(e.Dir, "no-such-root")
	for _, f := range []string{"table", "json"} {
		r := e.nookGlobal([]string{"--root", missing, "list", "--format", f}, nil)
		e.expectFail(r, "open "+missing+": no such file or directory")
		if r.Stdout != "" {
			t.Errorf("list of a missing root printed %q", r.Stdout)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("list created the missing root: %v", err)
	}
	// An existing but empty root lists nothing.
	empty := filepath.Join(e.Dir, "empty-root")
	must(t, os.Mkdir(empty, 0o700))
	if out := e.ok(e.nookGlobal([]string{"--root", empty, "list", "-q"}, nil)).Stdout; out != "" {
		t.Errorf("list -q of an empty root printed %q", out)
	}
}

func TestCLIRunNoSubreaper(t *testing.T) {
	e := newEnv(t)
	for _, a := range [][]string{{"run", "--no-subreaper", "--bundle"}, {"run", "--bundle"}} {
		b := e.bundle(sh("echo up"))
		r := e.nook(append(a, b, e.id(), "--no-subreaper")...)
		if r.Code != 0 || r.Stdout != "up\n" {
			t.Errorf("run with --no-subreaper: %s", r)
		}
	}
}

// psHeader is ps -ef's header line on this host.
func psHeader(t *testing.T) string {
	out, err := exec.Command("ps", "-ef").Output()
	if err != nil {
		t.Skipf("ps -ef on the host: %v", err)
	}
	return strings.SplitN(string(out), "\n", 2)[0] + "\n"
}

// A stopped container has no process: ps prints the header alone, and null
// in json, as runc.
func TestCLIPsStopped(t *testing.T) {
	e := newEnv(t)
	header := psHeader(t)
	exited, _, _ := e.createStarted(args("true"))
	killed, _, _ := e.createStarted(args("sleep", "100"))
	e.ok(e.nook("kill", killed, "KILL"))
	for _, id := range []string{exited, killed} {
		e.waitStatus(id, "stopped")
		if out := e.ok(e.nook("ps", id)).Stdout; out != header {
			t.Errorf("ps of stopped %s printed %q, want the header %q alone", id, out, header)
		}
		if out := e.ok(e.nook("ps", "--format", "json", id)).Stdout; out != "null\n" {
			t.Errorf("ps --format json of stopped %s printed %q, want null", id, out)
		}
		e.ok(e.nook("delete", id))
	}
	e.expectFail(e.nook("ps", exited), "container does not exist")
}

// exec exits 255 when nook fails rather than the process, as runc does;
// the process's own status is passed through.
func TestCLIExecRuntimeFailure(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	e.expectCode(e.nook("exec", "no-such-container", "true"), 255, "container does not exist")
	e.expectCode(e.nook("exec", id, "no-such-binary"), 255, `exec: "no-such-binary": executable file not found in $PATH`)
	e.expectCode(e.nook("exec", id, "/no/such"), 255, `"/no/such"`, "no such file or directory")
	e.expectCode(e.nook("exec", "--user", "nobody", id, "true"), 255, "--user")
	if r := e.nook("exec", id, "sh", "-c", "exit 3"); r.Code != 3 {
		t.Errorf("exec of a process exiting 3: %s", r)
	}
	// Usage errors are not the runtime's: exit 1.
	e.expectFail(e.nook("exec", id), "requires a command")
	e.expectFail(e.nook("exec", id, "--nope", "true"), "flag provided but not defined: -nope")
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.expectCode(e.nook("exec", id, "true"), 255, "stopped")
	e.ok(e.nook("delete", id))
}

// runc's words for a missing executable given by path, which podman and
// conmon match to report exit 127: exec: "X": … no such file or directory.
func TestCLIExecMissingPathWording(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	e.expectCode(e.nook("exec", id, "/no/such"), 255, `exec: "/no/such": stat /no/such: no such file or directory`)
	e.ok(e.nook("delete", "--force", id))
}

// kill 0 checks that the container runs (its init, created or running).
func TestCLIKillSignalZero(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	pid, _ := e.create(e.bundle(args("sleep", "100")), id)
	e.ok(e.nook("kill", id, "0"))
	e.ok(e.nook("start", id))
	e.ok(e.nook("kill", id, "0"))
	if st := e.state(id); st.Status != "running" || st.Pid != pid {
		t.Errorf("after kill 0: %+v, want running with pid %d", st, pid)
	}
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.expectFail(e.nook("kill", id, "0"), "container not running")
	e.ok(e.nook("delete", id))
}

var childPid = regexp.MustCompile(`child=(\d+)`)

// sharedPidChild starts a container without a pid namespace whose shell
// starts a background sleep and prints its (host) pid, then runs script.
// outPath is the container's stdout.
func sharedPidChild(e *env, script string) (id string, child procID, outPath string) {
	e.t.Helper()
	id, _, out := e.createStarted(sh("sleep 100 & echo child=$!; "+script), withoutNamespace(specs.PIDNamespace))
	m := childPid.FindStringSubmatch(e.waitFile(out.OutPath, "child="))
	pid, _ := strconv.Atoi(m[1])
	st, err := harness.ReadStat(pid)
	if err != nil {
		e.t.Fatalf("the container's sleep %d: %v", pid, err)
	}
	return id, procID{Pid: pid, Start: st.Start}, out.OutPath
}

// Without a pid namespace of its own, the init's death takes no process
// with it: SIGKILL goes to the whole cgroup (runc's rule), other signals
// to the init alone.
func TestCLIKillSharedPidNamespace(t *testing.T) {
	e := newEnv(t)
	id, child, out := sharedPidChild(e, "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done")
	e.waitFile(out, "ready")
	e.ok(e.nook("kill", id, "USR1"))
	e.waitFile(out, "got-usr1")
	if !child.Alive() {
		t.Errorf("kill ID USR1 reached the init's child %d", child.Pid)
	}
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	if !child.WaitDead(10 * time.Second) {
		t.Errorf("the container's background sleep %d still alive 10s after kill ID KILL", child.Pid)
	}
	e.ok(e.nook("delete", id))
	noCgroupLeft(t, id)
}

// containerd's shim sends kill --all on every stop, also once the init has
// exited: what the init left in the cgroup dies, and it succeeds even when
// nothing is left.
func TestCLIKillAllAfterInitExit(t *testing.T) {
	e := newEnv(t)
	for _, all := range []bool{true, false} {
		id, child, _ := sharedPidChild(e, "exit 0")
		e.waitStatus(id, "stopped")
		if !child.Alive() {
			t.Fatalf("the init's child %d died with it", child.Pid)
		}
		// ps lists what is left in the cgroup, as runc.
		var pids []int
		must(t, json.Unmarshal([]byte(e.ok(e.nook("ps", "--format", "json", id)).Stdout), &pids))
		if len(pids) != 1 || pids[0] != child.Pid {
			t.Errorf("ps of a stopped container with a leftover: %v, want [%d]", pids, child.Pid)
		}
		e.expectFail(e.nook("kill", id, "0"), "container not running")
		e.expectFail(e.nook("kill", id, "TERM"), "container not running")
		if all {
			e.ok(e.nook("kill", "--all", id, "KILL"))
		} else {
			e.ok(e.nook("kill", id, "KILL")) // no pid namespace: the whole cgroup
		}
		if !child.WaitDead(10 * time.Second) {
			t.Errorf("the leftover sleep %d still alive 10s after kill (all=%v)", child.Pid, all)
		}
		e.ok(e.nook("kill", id, "KILL", "--all"))
		e.expectFail(e.nook("kill", id, "KILL"), "container not running")
		e.ok(e.nook("delete", id))
		noCgroupLeft(t, id)
	}
}

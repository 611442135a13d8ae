package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container left in created whose init cannot wait in the parker (its
// seccomp filter refuses execveat) gives back the init's mappings of nook's
// read-only pages (most of a parked init's RSS; issue 20), and then starts
// and runs as any other.
func TestParkedInitReleasesItsProgramPages(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	pid, _ := e.create(e.bundle(sh("exit 7"), withSeccomp(refuseExecveat), goInit), id)
	program := readOnlyProgramKB(t, pid)
	if program < 1024 {
		t.Fatalf("init %d maps %d KiB of its program read-only, want the nook binary's megabytes", pid, program)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rss := statusKB(t, pid, "RssFile")
		if rss*2 <= program {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked init %d still has %d KiB of file pages mapped after 5s, of %d KiB of program", pid, rss, program)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if exe := parkedExe(pid); exe == parkerExe {
		t.Fatalf("init %d waits in the parker, which its seccomp filter refuses", pid)
	}
	e.ok(e.nook("start", id))
	checkCode(t, e.waitExit(id), 7)
	e.ok(e.nook("delete", id))
}

// refuseExecveat is a filter the parker cannot run under.
var refuseExecveat = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
	Syscalls: []specs.LinuxSyscall{{Names: []string{"execveat"}, Action: specs.ActErrno}}}

// parkerExe is what /proc/<pid>/exe of an init waiting in the parker says.
const parkerExe = "/memfd:nook-parked (deleted)"

func parkedExe(pid int) string {
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return exe
}

// goInit keeps a container's init the Go init (an execCPUAffinity of every
// CPU, which changes nothing: the C init takes no CPU affinity), whose
// long wait is the parker's.
func goInit(s *specs.Spec) {
	s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: fmt.Sprintf("0-%d", runtime.NumCPU()-1)}
}

// cInitComm is the name of a C init (nsenter/cinit.c) waiting for start.
const cInitComm = "nook-init"

func comm(pid int) string {
	return strings.TrimSpace(readString("/proc/" + strconv.Itoa(pid) + "/comm"))
}

// waitParked waits until the init pid has settled into its long wait in
// created: in the parker (the Go init's), or, for a C init, past the
// settle time, its program's read-only pages given back.
func waitParked(t *testing.T, pid int, c bool) {
	t.Helper()
	if c {
		if got := comm(pid); got != cInitComm {
			t.Fatalf("init %d is %q, want the C init (%s)", pid, got, cInitComm)
		}
		time.Sleep(300 * time.Millisecond)
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for parkedExe(pid) != parkerExe {
		if time.Now().After(deadline) {
			t.Fatalf("init %d runs %q after 5s in created, want the parker (%s)", pid, parkedExe(pid), parkerExe)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inits are the two ways a container waits in created: the C init, and the
// Go init handing its wait to the parker.
var inits = []struct {
	name string
	c    bool
	mods []specMod
}{{"C init", true, nil}, {"parker", false, []specMod{goInit}}}

// A container left in created waits in the parker, in a few dozen KiB
// (issue 20: host memory per parked container), and its process is the
// same as one started at once: arguments, environment, user, groups,
// capabilities, no_new_privs, seccomp, rlimits (RLIMIT_NOFILE given by the
// config and, without one, the caller's: nook started with a soft limit
// below its hard one, which the Go runtime raises for itself), cwd, umask
// and its fds.
func TestParkedInitWaitsInTheParker(t *testing.T) {
	report := `echo "args: $0 $*"; echo "env: $FOO"; id; pwd; umask; ulimit -n; ls /proc/self/fd | tr '\n' ' '; echo;` +
		` grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; exit 7`
	for _, tc := range []struct {
		name   string
		mods   []specMod
		nofile string // the soft RLIMIT_NOFILE nook is started with ("": the test's)
	}{
		{"defaults", nil, ""},
		{"docker profile, a user, ambient capabilities", []specMod{withSeccomp(seccompProfile(t, "docker-default.json")), func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}}
			s.Process.Capabilities.Ambient = []string{"CAP_NET_BIND_SERVICE"}
			s.Process.Capabilities.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
			s.Process.Capabilities.Permitted = append(s.Process.Capabilities.Permitted, "CAP_NET_BIND_SERVICE")
		}}, ""},
		{"no rlimits, filter loaded without no_new_privs", []specMod{withSeccomp(seccompProfile(t, "docker-default.json")), func(s *specs.Spec) {
			s.Process.Rlimits = nil
			s.Process.NoNewPrivileges = false
		}}, "517"},
	} {
		for _, in := range inits {
			t.Run(in.name+": "+tc.name, func(t *testing.T) { waitsSmallAndRunsAsAtOnce(t, in.c, report, tc.nofile, append(tc.mods, in.mods...)) })
		}
	}
}

// waitsSmallAndRunsAsAtOnce checks one case of TestParkedInitWaitsInTheParker.
func waitsSmallAndRunsAsAtOnce(t *testing.T, c bool, report, nofile string, more []specMod) {
	e := newEnv(t)
	mods := append([]specMod{args("sh", "-c", report, "arg0", "a b", "c"), func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "FOO=bar baz")
		s.Process.Cwd = "/tmp"
	}}, more...)
	var o nookOpts
	if nofile != "" {
		o.prefix = []string{"prlimit", "--nofile=" + nofile + ":"}
	}
	// `run` starts its container at once: the init execs the
	// program itself.
	ran := e.nookCmd(o, "run", "--bundle", e.bundle(mods...), e.id())
	if ran.Code != 7 {
		t.Fatalf("run: %s", ran)
	}
	id := e.id()
	pidFile := filepath.Join(e.Dir, id+".pid")
	created := e.nookCmd(o, "create", "--bundle", e.bundle(mods...), "--pid-file", pidFile, id)
	if created.Code != 0 {
		t.Fatalf("create: %s", created)
	}
	pid, err := strconv.Atoi(readString(pidFile))
	must(t, err)
	e.register(pid)
	waitParked(t, pid, c)
	// A C init maps nook's data and a few folios of its code
	// (shared with the page cache); of its own it holds its
	// stack and the plan.
	if rss := statusKB(t, pid, "VmRSS"); !c && rss > 256 || c && rss > 512 {
		t.Errorf("parked init %d has %d KiB resident, want at most %d", pid, rss, map[bool]int{false: 256, true: 512}[c])
	}
	if anon := statusKB(t, pid, "RssAnon"); c && anon > 160 {
		t.Errorf("C init %d has %d KiB of anonymous memory, want at most 160", pid, anon)
	}
	e.ok(e.nook("start", id))
	checkCode(t, e.waitExit(id), 7)
	e.ok(e.nook("delete", id))
	outputs := []string{ran.Stdout, readString(created.OutPath)}
	if outputs[0] != outputs[1] {
		t.Errorf("started at once:\n%s\nstarted from the parker:\n%s", outputs[0], outputs[1])
	}
	if !strings.Contains(outputs[1], "args: arg0 a b c") || !strings.Contains(outputs[1], "env: bar baz") {
		t.Errorf("the process's own output is missing:\n%s", outputs[1])
	}
	if nofile != "" && !strings.Contains(outputs[1], "\n"+nofile+"\n") {
		t.Errorf("want the caller's RLIMIT_NOFILE %s (ulimit -n):\n%s", nofile, outputs[1])
	}
}

// The parker takes signals as the Go init it replaces does: TERM ends a
// created container (status 2: the kernel spares a pid namespace's init
// the default action), USR1 is ignored; KILL and delete --force work.
func TestParkedInitTakesSignalsAsBefore(t *testing.T) {
	e := newEnv(t)
	for _, w := range []struct {
		name string
		mods []specMod
	}{
		{"C init", nil},
		{"parker", []specMod{goInit}},
		{"Go wait", []specMod{goInit, withSeccomp(refuseExecveat)}},
	} {
		b := e.bundle(append([]specMod{sh("exit 7")}, w.mods...)...)
		for _, sig := range []string{"TERM", "USR1"} {
			id := e.id()
			pid, _ := e.create(b, id)
			switch w.name {
			case "C init":
				waitParked(t, pid, true)
			case "parker":
				waitParked(t, pid, false)
			default:
				time.Sleep(300 * time.Millisecond) // past settleAfter: waiting in Go
			}
			e.ok(e.nook("kill", id, sig))
			if sig == "TERM" {
				checkCode(t, e.waitExit(id), 2)
			} else {
				time.Sleep(200 * time.Millisecond)
				if st := e.state(id); st.Status != "created" {
					t.Errorf("%s: after USR1 the container is %s, want created", w.name, st.Status)
				}
			}
			e.ok(e.nook("delete", "--force", id))
		}
	}
}

// A TERM sent the moment the init becomes the parker, before the parker's
// handlers are in place, is not lost (the kernel takes no default action
// on a pid namespace's init): the init execs the parker with every signal
// blocked. Before, each of these TERMs was lost, and a `nook kill TERM`
// soon after the init parked was now and then (a red CI run).
func TestParkerTakesTermAtItsExec(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh("exit 7"), goInit)
	for range 10 {
		id := e.id()
		pid, _ := e.create(b, id)
		for deadline := time.Now().Add(5 * time.Second); parkedExe(pid) != parkerExe; {
			if time.Now().After(deadline) {
				t.Fatalf("init %d runs %q after 5s in created, want the parker (%s)", pid, parkedExe(pid), parkerExe)
			}
		}
		must(t, syscall.Kill(pid, syscall.SIGTERM))
		checkCode(t, e.waitExit(id), 2)
		e.ok(e.nook("delete", id))
	}
}

// Poststart hooks of a container started from the parker see its process
// executed, as for any other.
func TestParkedPoststartSeesTheProcessExecuted(t *testing.T) {
	e := newEnv(t)
	for _, in := range inits {
		seen := filepath.Join(e.Dir, "exe-"+strconv.FormatBool(in.c))
		b := e.bundle(append([]specMod{args("sleep", "100"), func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
				`pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); readlink /proc/$pid/exe > ` + seen}}}}
		}}, in.mods...)...)
		id := e.id()
		pid, _ := e.create(b, id)
		waitParked(t, pid, in.c)
		e.ok(e.nook("start", id))
		if exe := strings.TrimSpace(readString(seen)); !strings.HasSuffix(exe, "/bin/busybox") {
			t.Errorf("%s: poststart saw the container's process run %q, want the rootfs's /bin/busybox (sleep)", in.name, exe)
		}
		e.ok(e.nook("delete", "--force", id))
	}
}

// readOnlyProgramKB is the size of the file mappings of pid that are
// neither writable nor anonymous: its program's code and constants.
func readOnlyProgramKB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps")
	must(t, err)
	defer f.Close()
	total, counting := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			// A mapping's header: range, perms, offset, device, inode, path.
			counting = !strings.Contains(fields[1], "w") && fields[4] != "0"
		case counting && len(fields) == 3 && fields[0] == "Size:":
			n, err := strconv.Atoi(fields[1])
			must(t, err)
			total += n
		}
	}
	must(t, sc.Err())
	return total
}

// statusKB is a "kB" field of /proc/<pid>/status.
func statusKB(t *testing.T, pid int, field string) int {
	t.Helper()
	for _, line := range strings.Split(readString("/proc/"+strconv.Itoa(pid)+"/status"), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			must(t, err)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

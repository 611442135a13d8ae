package integration

// The container process as runc users expect it (issue 17, sections 1 and
// 2): its environment, working directory, scheduling, capabilities, CPUs
// and terminal, the hooks around it, and the lifecycle commands that wait
// on it. Each config is what an engine writes (no HOME, no console socket
// for run, default capabilities).

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// nookOpts is how nookCmd starts nook.
type nookOpts struct {
	stdin   *os.File      // nil: /dev/null
	setsid  bool          // a session of its own: no controlling terminal
	setpgid bool          // a process group of its own
	prefix  []string      // a command nook runs under (taskset …)
	limit   time.Duration // 0: 30 s
	pid     *int          // if set, receives nook's pid
}

// nookCmd runs nook with this test's --root as o says. Output goes through
// files, as with nook().
func (e *env) nookCmd(o nookOpts, a ...string) result {
	e.t.Helper()
	limit := o.limit
	if limit == 0 {
		limit = 30 * time.Second
	}
	argv := append(append(append([]string{}, o.prefix...), suite.Nook, "--root", e.Root), a...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = o.stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: o.setsid, Setpgid: o.setpgid && !o.setsid}
	if len(e.Environ) > 0 {
		cmd.Env = append(os.Environ(), e.Environ...)
	}
	c, err := harness.StartCaptured(e.Dir, e.next(), cmd, limit)
	must(e.t, err)
	if o.pid != nil {
		*o.pid = cmd.Process.Pid
	}
	return c.Wait()
}

// openPty allocates a pty pair, both ends closed at the end of the test.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pty on this machine (/dev/ptmx): %v", err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { master.Close() })
	must(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	must(t, err)
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	must(t, err)
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func withUser(uid, gid uint32) specMod {
	return func(s *specs.Spec) { s.Process.User = specs.User{UID: uid, GID: gid} }
}

func withEnv(kv ...string) specMod {
	return func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, kv...) }
}

func withCwd(dir string) specMod { return func(s *specs.Spec) { s.Process.Cwd = dir } }

// writeProcess writes an OCI process JSON for exec --process.
func (e *env) writeProcess(p specs.Process) string {
	e.t.Helper()
	path := filepath.Join(e.Dir, fmt.Sprintf("process%d.json", e.next()))
	b, err := json.Marshal(p)
	must(e.t, err)
	must(e.t, os.WriteFile(path, b, 0o644))
	return path
}

// HOME comes from the user's passwd entry in the container when the
// environment has none (or an empty one), for the init and for exec
// (command line and --process): engines never pass it.
func TestProcessHomeFromPasswd(t *testing.T) {
	e := newEnv(t)
	echoHome := sh(`echo "$HOME"`)
	for _, tc := range []struct {
		name string
		mod  specMod
		want string
	}{
		{"root", func(*specs.Spec) {}, "/root"},
		{"passwd user", withUser(1000, 1000), "/tmp"},
		{"uid without entry", withUser(4242, 4242), "/"},
		{"empty HOME", withEnv("HOME="), "/root"},
		{"HOME given", withEnv("HOME=/srv"), "/srv"},
	} {
		if out := strings.TrimSpace(e.runOK(echoHome, tc.mod)); out != tc.want {
			t.Errorf("run, %s: HOME=%q, want %q", tc.name, out, tc.want)
		}
	}
	id, _, _ := e.createStarted(args("sleep", "100"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", id, "sh", "-c", `echo "$HOME"`}, "/root"},
		{[]string{"exec", "--user", "1000:1000", id, "sh", "-c", `echo "$HOME"`}, "/tmp"},
		{[]string{"exec", "--process", e.writeProcess(specs.Process{
			Args: []string{"sh", "-c", `echo "$HOME"`}, Env: []string{"PATH=/bin"}, Cwd: "/",
			User: specs.User{UID: 1000, GID: 1000},
		}), id}, "/tmp"},
	} {
		if out := strings.TrimSpace(e.ok(e.nook(tc.args...)).Stdout); out != tc.want {
			t.Errorf("%v: HOME=%q, want %q", tc.args, out, tc.want)
		}
	}
	e.ok(e.nook("delete", "--force", id))
}

// process.cwd is entered while still privileged: a directory only root
// may reach is the cwd of a non-root process all the same (runc's
// cwd.bats), for run and exec. A missing one is made (runc's
// prepareRootfs).
func TestProcessCwd(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("pwd"), withUser(1000, 1000), withCwd("/root"))
	must(t, os.Chmod(filepath.Join(b, "rootfs", "root"), 0o700))
	r := e.nook("run", "--bundle", b, e.id())
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "/root" {
		t.Errorf("run as uid 1000 in a root-only cwd: %s", r)
	}

	b = e.bundle(args("sleep", "100"))
	must(t, os.Chmod(filepath.Join(b, "rootfs", "root"), 0o700))
	id := e.id()
	e.create(b, id)
	e.ok(e.nook("start", id))
	r = e.nook("exec", "--user", "1000:1000", "--cwd", "/root", id, "pwd")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "/root" {
		t.Errorf("exec as uid 1000 in a root-only cwd: %s", r)
	}
	// The user still cannot read it: only the cwd was given.
	if r := e.nook("exec", "--user", "1000:1000", "--cwd", "/root", id, "ls", "."); r.Code == 0 {
		t.Errorf("uid 1000 could list a 0700 root directory: %s", r)
	}
	e.ok(e.nook("delete", "--force", id))

	out := e.runOK(sh(`pwd; stat -c %A .`), withCwd("/made/by/the/runtime"))
	if got := nonEmptyLines(out); len(got) != 2 || got[0] != "/made/by/the/runtime" || got[1] != "drwxr-xr-x" {
		t.Errorf("a missing cwd: %q, want it made, 0755", got)
	}
}

// process.scheduler is applied while still privileged: SCHED_DEADLINE
// needs CAP_SYS_NICE, which the default capabilities do not keep (runc's
// scheduler.bats), for the init and for exec --process.
func TestProcessSchedulerDeadline(t *testing.T) {
	e := newEnv(t)
	deadline := &specs.Scheduler{
		Policy: specs.SchedDeadline, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork},
		Runtime: 42000, Deadline: 100000, Period: 1000000,
	}
	// Builtins only: /proc/self is the shell itself, whose children
	// would be reset to SCHED_OTHER.
	policy := `while read l; do case $l in policy*) echo $l;; esac; done < /proc/self/sched`
	r := e.run(sh(policy), func(s *specs.Spec) { s.Process.Scheduler = deadline })
	if r.Code != 0 || strings.Join(strings.Fields(r.Stdout), " ") != "policy : 6" {
		t.Errorf("run with SCHED_DEADLINE: %s; want policy 6", r)
	}
	id, _, _ := e.createStarted(args("sleep", "100"))
	p := e.writeProcess(specs.Process{Args: []string{"sh", "-c", policy}, Env: []string{"PATH=/bin"}, Cwd: "/", Scheduler: deadline})
	r = e.nook("exec", "--process", p, id)
	if r.Code != 0 || strings.Join(strings.Fields(r.Stdout), " ") != "policy : 6" {
		t.Errorf("exec with SCHED_DEADLINE: %s; want policy 6", r)
	}
	e.ok(e.nook("delete", "--force", id))
}

// exec keeps process.capabilities.inheritable (and so ambient) of the
// container's process, and --cap adds to ambient when there is an
// inheritable set, as runc 1.5.
func TestExecKeepsInheritableCaps(t *testing.T) {
	e := newEnv(t)
	bit := func(caps ...int) uint64 {
		var m uint64
		for _, c := range caps {
			m |= 1 << uint(c)
		}
		return m
	}
	id, _, _ := e.createStarted(args("sleep", "100"), withUser(1000, 1000), func(s *specs.Spec) {
		c := s.Process.Capabilities
		for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted} {
			*set = append(*set, "CAP_NET_RAW")
		}
		c.Inheritable = []string{"CAP_NET_RAW", "CAP_KILL"}
		c.Ambient = []string{"CAP_NET_RAW"}
	})
	caps := func(extra ...string) map[string]uint64 {
		t.Helper()
		a := append(append([]string{"exec"}, extra...), id, "cat", "/proc/self/status")
		out := e.ok(e.nook(a...)).Stdout
		m := map[string]uint64{}
		for _, k := range []string{"CapInh", "CapAmb", "CapEff"} {
			m[k] = hexMask(statusField(out, k))
		}
		return m
	}
	got := caps()
	if got["CapInh"] != bit(unix.CAP_NET_RAW, unix.CAP_KILL) || got["CapAmb"] != bit(unix.CAP_NET_RAW) || got["CapEff"] != bit(unix.CAP_NET_RAW) {
		t.Errorf("exec as uid 1000: %x, want the config's inheritable (NET_RAW, KILL) and ambient (NET_RAW) sets", got)
	}
	got = caps("--cap", "CAP_KILL")
	if got["CapAmb"] != bit(unix.CAP_NET_RAW, unix.CAP_KILL) || got["CapEff"] != bit(unix.CAP_NET_RAW, unix.CAP_KILL) {
		t.Errorf("exec --cap CAP_KILL: %x, want KILL ambient too", got)
	}
	e.ok(e.nook("delete", "--force", id))
}

// allowedCPUs is this test's CPU list and the lowest and highest CPU in
// it; the test is skipped with fewer than two or without taskset(1).
func allowedCPUs(t *testing.T) (list string, first, last int) {
	t.Helper()
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("taskset (util-linux) is missing")
	}
	var set unix.CPUSet
	must(t, unix.SchedGetaffinity(0, &set))
	if set.Count() < 2 {
		t.Skip("needs at least two CPUs")
	}
	first = -1
	for cpu := 0; cpu < 1024; cpu++ {
		if set.IsSet(cpu) {
			if first < 0 {
				first = cpu
			}
			last = cpu
		}
	}
	list = statusField(readString("/proc/self/status"), "Cpus_allowed_list")
	if online := strings.TrimSpace(readString("/sys/devices/system/cpu/online")); list != online {
		t.Skipf("the test runs on CPUs %s, not on every online CPU (%s): a container gets all of them", list, online)
	}
	return list, first, last
}

// The init and every exec'd process start with all CPUs of the container's
// cpuset, not the affinity of whoever ran nook; execCPUAffinity applies on
// top, with CPU numbers past 1024.
func TestProcessCPUAffinityNotInherited(t *testing.T) {
	e := newEnv(t)
	all, lowest, last := allowedCPUs(t)
	first := strconv.Itoa(lowest)
	pinned := nookOpts{prefix: []string{"taskset", "-c", first}}
	cpus := `grep Cpus_allowed_list /proc/self/status`
	b := e.bundle(sh(cpus))
	r := e.nookCmd(pinned, "run", "--bundle", b, e.id())
	if r.Code != 0 || statusField(r.Stdout, "Cpus_allowed_list") != all {
		t.Errorf("taskset -c %s nook run: %s; want CPUs %s", first, r, all)
	}
	id, _, _ := e.createStarted(args("sleep", "100"))
	r = e.nookCmd(pinned, "exec", id, "sh", "-c", cpus)
	if r.Code != 0 || statusField(r.Stdout, "Cpus_allowed_list") != all {
		t.Errorf("taskset -c %s nook exec: %s; want CPUs %s", first, r, all)
	}
	p := e.writeProcess(specs.Process{Args: []string{"sh", "-c", cpus}, Env: []string{"PATH=/bin"}, Cwd: "/",
		ExecCPUAffinity: &specs.CPUAffinity{Final: strconv.Itoa(last) + ",1500"}})
	r = e.nookCmd(pinned, "exec", "--process", p, id)
	if r.Code != 0 || statusField(r.Stdout, "Cpus_allowed_list") != strconv.Itoa(last) {
		t.Errorf("exec with execCPUAffinity.final %d,1500: %s; want CPU %d", last, r, last)
	}
	e.ok(e.nook("delete", "--force", id))
}

// run and exec in the foreground with a terminal relay the container's
// output as it was written: "\n" does not become "\r\n" (ONLCR is off on
// the pty nook relays itself, as with runc).
func TestTerminalRelayKeepsNewlines(t *testing.T) {
	e := newEnv(t)
	_, tty := openPty(t) // nook's stdin: a terminal, as a user's would be
	onTTY := nookOpts{stdin: tty}
	b := e.bundle(sh(`printf 'a\nb\n'`), func(s *specs.Spec) { s.Process.Terminal = true })
	if r := e.nookCmd(onTTY, "run", "--bundle", b, e.id()); r.Code != 0 || r.Stdout != "a\nb\n" {
		t.Errorf("run with a terminal: %s; want exactly \"a\\nb\\n\"", r)
	}
	id, _, _ := e.createStarted(args("sleep", "100"))
	if r := e.nookCmd(onTTY, "exec", "-t", id, "printf", `a\nb\n`); r.Code != 0 || r.Stdout != "a\nb\n" {
		t.Errorf("exec -t: %s; want exactly \"a\\nb\\n\"", r)
	}
	e.ok(e.nook("delete", "--force", id))
}

// The container's terminal belongs to the process's user, in the group
// devpts' gid= option gave it (5, tty, in the config engines write).
func TestTerminalOwnedByProcessUser(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(e.Dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	must(t, err)
	defer l.Close()
	b := e.bundle(sh(`stat -c %u:%g "$(tty)"`), withUser(1000, 1000), func(s *specs.Spec) { s.Process.Terminal = true })
	id := e.id()
	got := make(chan *os.File, 1)
	go func() {
		f, _, err := recvFd(l)
		if err != nil {
			t.Errorf("console socket: %v", err)
		}
		got <- f
	}()
	e.create(b, id, "--console-socket", sock)
	master := <-got
	if master == nil {
		t.FailNow()
	}
	defer master.Close()
	e.ok(e.nook("start", id))
	out := readAllTerminal(master)
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
	if got := strings.TrimSpace(strings.ReplaceAll(out, "\r", "")); got != "1000:5" {
		t.Errorf("the terminal is owned by %q, want 1000:5", got)
	}
}

// readAllTerminal reads a pty master until the container's side is gone
// (EIO) or 10 s pass.
func readAllTerminal(master *os.File) string {
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				done <- b.String()
				return
			}
		}
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(10 * time.Second):
		return "(no end of output after 10s)"
	}
}

// recvFd receives one message with one fd (runc's console and pidfd
// sockets), within 10 s.
func recvFd(l *net.UnixListener) (*os.File, string, error) {
	l.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, "", err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, "", fmt.Errorf("control messages: %v (%d)", err, len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, "", fmt.Errorf("SCM_RIGHTS: %v %v", err, fds)
	}
	return os.NewFile(uintptr(fds[0]), "received"), string(buf[:n]), nil
}

// A terminal container run (or exec -t) in the foreground by a caller
// without any terminal fails at once, as with runc, instead of leaving a
// shell waiting for input that can never come.
func TestRunTerminalWithoutTerminalFails(t *testing.T) {
	e := newEnv(t)
	noTTY := nookOpts{setsid: true, limit: 15 * time.Second}
	b := e.bundle(args("sh"), func(s *specs.Spec) { s.Process.Terminal = true })
	id := e.id()
	t.Cleanup(func() { e.nook("delete", "--force", id) }) // after a hang
	e.expectFail(e.nookCmd(noTTY, "run", "--bundle", b, id), "process.terminal", "no terminal", "--console-socket")
	if _, ok := e.tryState(id); ok {
		t.Errorf("a refused run left container %s", id)
	}
	running, _, _ := e.createStarted(args("sleep", "100"))
	r := e.nookCmd(noTTY, "exec", "-t", running, "sh")
	if r.Code != 255 || !strings.Contains(r.Stderr, "no terminal") {
		t.Errorf("exec -t without a terminal: %s; want exit 255 naming the missing terminal", r)
	}
	e.ok(e.nook("delete", "--force", running))
}

// startContainer hooks get the container process's environment (HOME
// included) unless they have their own; createContainer hooks run in the
// rootfs. Both as runc.
func TestHooksEnvAndCwd(t *testing.T) {
	e := newEnv(t)
	ccOut := filepath.Join(e.Dir, "createContainer.out")
	b := e.bundle(args("true"), withEnv("FOO=bar"), func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Hooks = &specs.Hooks{
			CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
				"pwd -P > " + ccOut + "; test -x bin/busybox && echo relative-ok >> " + ccOut}}},
			StartContainer: []specs.Hook{
				{Path: "/bin/sh", Args: []string{"sh", "-c", `echo "$FOO $HOME" > /hook-env`}},
				{Path: "/bin/sh", Args: []string{"sh", "-c", `echo "$X-$FOO" > /hook-own-env`}, Env: []string{"X=1"}},
			},
		}
	})
	e.ok(e.nook("run", "--bundle", b, e.id()))
	rootfs, err := filepath.EvalSymlinks(filepath.Join(b, "rootfs"))
	must(t, err)
	if got := nonEmptyLines(readString(ccOut)); strings.Join(got, "|") != rootfs+"|relative-ok" {
		t.Errorf("createContainer hook ran in %q, want the rootfs %s", got, rootfs)
	}
	if got := readString(filepath.Join(rootfs, "hook-env")); got != "bar /root\n" {
		t.Errorf("startContainer hook without env saw FOO HOME = %q, want the process's (bar /root)", got)
	}
	if got := readString(filepath.Join(rootfs, "hook-own-env")); got != "1-\n" {
		t.Errorf("startContainer hook with its own env saw %q, want only its own (1-)", got)
	}
}

// waitPids waits until the container's cgroup holds n processes.
func (e *env) waitPids(id string, n int) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pids []int
		r := e.nook("ps", "--format", "json", id)
		if r.Code == 0 && json.Unmarshal([]byte(r.Stdout), &pids) == nil && len(pids) == n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: not %d processes after 10s (%s)", id, n, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exec --ignore-paused puts its process in the frozen cgroup, where it
// waits for a resume: it must not hold the container's lock meanwhile, or
// resume, kill and delete would wait for ever.
func TestExecIgnorePausedHoldsNoLock(t *testing.T) {
	e := newEnv(t)
	within := nookOpts{limit: 10 * time.Second}
	id, _, _ := e.createStarted(args("sleep", "100"))
	e.ok(e.nook("pause", id))
	bg := e.nookBackground("exec", "--ignore-paused", id, "echo", "ran")
	e.waitPids(id, 2) // the exec'd process is in the frozen cgroup
	if r := e.nookCmd(within, "resume", id); r.Code != 0 {
		t.Fatalf("resume while an exec waits in the paused container: %s", r)
	}
	bg.wait(t)
	if !strings.Contains(bg.output(), "ran") {
		t.Errorf("the exec'd process did not run once resumed: %q", bg.output())
	}
	e.ok(e.nook("pause", id))
	e.nookBackground("exec", "--ignore-paused", id, "echo", "never")
	e.waitPids(id, 2)
	if r := e.nookCmd(within, "delete", "--force", id); r.Code != 0 {
		t.Errorf("delete --force while an exec waits in the paused container: %s", r)
	}
}

// cgroupName is a cgroup path of its own for this test (removed with
// everything under it in every hierarchy at the end).
func cgroupName(t *testing.T, e *env) string {
	name := "nook-test-" + e.id()
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
		for _, d := range dirs {
			if err := removeCgroupTree(d); err != nil {
				t.Errorf("remove test cgroup: %v", err)
			}
		}
	})
	return name
}

func withCgroupsPath(p string) specMod { return func(s *specs.Spec) { s.Linux.CgroupsPath = p } }

// create into a cgroup that already has processes is refused, as runc 1.5
// does, and the processes there are left alone.
func TestCreateIntoBusyCgroupRefused(t *testing.T) {
	e := newEnv(t)
	name := cgroupName(t, e)
	first, _, _ := e.createStarted(args("sleep", "100"), withCgroupsPath("/"+name))
	b := e.bundle(args("true"), withCgroupsPath("/"+name))
	second := e.id()
	t.Cleanup(func() { e.nook("delete", "--force", second) }) // if created
	e.expectFail(e.nook("create", "--bundle", b, second), "container's cgroup is not empty: 1 process(es) found")
	if _, ok := e.tryState(second); ok {
		t.Errorf("a refused create left container %s", second)
	}
	if st := e.state(first); st.Status != "running" {
		t.Errorf("the container already in the cgroup is %s after the refused create", st.Status)
	}
	e.ok(e.nook("delete", "--force", first))
}

// create into a frozen cgroup (or under a frozen one) is refused at once,
// instead of the init freezing there and create waiting for ever.
func TestCreateIntoFrozenCgroupRefused(t *testing.T) {
	e := newEnv(t)
	const freezer = "/sys/fs/cgroup/freezer"
	if _, err := os.Stat(freezer); err != nil {
		t.Skip("no cgroup v1 freezer hierarchy at " + freezer)
	}
	name := cgroupName(t, e)
	dir := filepath.Join(freezer, name)
	must(t, os.Mkdir(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("FROZEN"), 0))
	var ids []string
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
		for _, id := range ids {
			e.nook("delete", "--force", id) // a create that hung
		}
	})
	for _, path := range []string{"/" + name, "/" + name + "/child"} {
		id := e.id()
		ids = append(ids, id)
		b := e.bundle(args("true"), withCgroupsPath(path))
		e.expectFail(e.nookCmd(nookOpts{limit: 15 * time.Second}, "create", "--bundle", b, id), "container's cgroup unexpectedly frozen")
		if _, ok := e.tryState(id); ok {
			t.Errorf("cgroupsPath %s: a refused create left container %s", path, id)
		}
	}
}

// An init the kernel's OOM killer kills during create (its memory limit is
// too low for it) is named as such, not as a broken pipe. The Go init's
// start needs more than 64 KiB; a C init (cinit.c) lives in less, and its
// process meets the limit once started, as crun's.
func TestCreateOOMNamed(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		if _, err := os.Stat(filepath.Join(cgroup2Mount(), "memory.stat")); err != nil {
			t.Skip("no memory cgroup controller")
		}
	}
	b := e.bundle(args("true"), func(s *specs.Spec) {
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64p(64 << 10)}
	}, goInit)
	id := e.id()
	e.expectFail(e.nook("create", "--bundle", b, id), "container init was OOM-killed (memory limit too low?)")
	if _, ok := e.tryState(id); ok {
		t.Errorf("a failed create left container %s", id)
	}
	noCgroupLeft(t, id)
}

// A detached container without a terminal leads a session (and process
// group) of its own: it survives the end of its caller's process group.
func TestRunDetachedOwnSession(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("sleep", "100"))
	id := e.id()
	pidFile := filepath.Join(e.Dir, "detached.pid")
	var nookPid int
	e.ok(e.nookCmd(nookOpts{setpgid: true, pid: &nookPid}, "run", "-d", "--pid-file", pidFile, "--bundle", b, id))
	pid, err := strconv.Atoi(readString(pidFile))
	must(t, err)
	e.register(pid)
	st := readString(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(st[strings.LastIndexByte(st, ')')+2:])
	if f[2] == strconv.Itoa(nookPid) || f[3] != strconv.Itoa(pid) {
		t.Errorf("detached init %d: process group %s, session %s; want neither nook's group (%d) nor anything but its own session", pid, f[2], f[3], nookPid)
	}
	e.ok(e.nook("delete", "--force", id))
}

// --pidfd-socket on create, run and exec: the socket receives a pidfd of
// the container's process, with runc's message ("standard" for an init,
// "setns" for an exec'd process), which can signal it.
func TestPidfdSocket(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(e.Dir, "pidfd.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	must(t, err)
	defer l.Close()
	type received struct {
		f    *os.File
		kind string
		err  error
	}
	receive := func() <-chan received {
		ch := make(chan received, 1)
		go func() { f, kind, err := recvFd(l); ch <- received{f, kind, err} }()
		return ch
	}
	check := func(what string, ch <-chan received, pid int, kind string) {
		t.Helper()
		got := <-ch
		if got.err != nil {
			t.Fatalf("%s: nothing on --pidfd-socket: %v", what, got.err)
		}
		defer got.f.Close()
		if p := fdinfoField(t, fmt.Sprintf("/proc/self/fdinfo/%d", got.f.Fd()), "Pid"); got.kind != kind || p != strconv.Itoa(pid) {
			t.Errorf("%s: received %q for pid %s, want %q for %d", what, got.kind, p, kind, pid)
		}
		must(t, unix.PidfdSendSignal(int(got.f.Fd()), unix.SIGKILL, nil, 0))
	}

	ch := receive()
	id := e.id()
	pid, _ := e.create(e.bundle(args("sleep", "100")), id, "--pidfd-socket", sock)
	check("create", ch, pid, "standard")
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))

	ch = receive()
	id = e.id()
	pidFile := filepath.Join(e.Dir, "run.pid")
	e.ok(e.nook("run", "-d", "--pidfd-socket", sock, "--pid-file", pidFile, "--bundle", e.bundle(args("sleep", "100")), id))
	pid, err = strconv.Atoi(readString(pidFile))
	must(t, err)
	e.register(pid)
	check("run -d", ch, pid, "standard")
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))

	id, _, _ = e.createStarted(args("sleep", "100"))
	ch = receive()
	pidFile = filepath.Join(e.Dir, "exec.pid")
	e.ok(e.nook("exec", "-d", "--pidfd-socket", sock, "--pid-file", pidFile, id, "sleep", "100"))
	pid, err = strconv.Atoi(readString(pidFile))
	must(t, err)
	check("exec -d", ch, pid, "setns")
	if !procIDOf(pid).WaitDead(10 * time.Second) {
		t.Errorf("the exec'd process %d outlived SIGKILL through its pidfd", pid)
	}
	if st := e.state(id); st.Status != "running" {
		t.Errorf("killing the exec'd process stopped the container: %s", st.Status)
	}
	e.ok(e.nook("delete", "--force", id))
}

// sdNotifyTool builds a tiny static sd_notify client for the container.
func sdNotifyTool(t *testing.T, e *env) string {
	t.Helper()
	return buildStaticGo(t, e, "sdnotify", `package main

import (
	"net"
	"os"
)

// sdnotify MSG sends MSG to $NOTIFY_SOCKET, as sd_notify(3).
func main() {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err == nil {
		_, err = c.Write([]byte(os.Args[1]))
	}
	if err != nil {
		println("sdnotify:", err.Error())
		os.Exit(1)
	}
}
`)
}

// NOTIFY_SOCKET: the container gets a socket of its own (runc's
// /run/notify/notify.sock); start (and run -d) relay its READY=1 to the
// caller's socket with the init as MAINPID, and return only then.
func TestNotifySocketRelay(t *testing.T) {
	e := newEnv(t)
	tool := sdNotifyTool(t, e)
	hostSock := filepath.Join(e.Dir, "host-notify.sock")
	hl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: hostSock, Net: "unixgram"})
	must(t, err)
	defer hl.Close()
	msgs := make(chan string, 32)
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, 1024)
		for {
			n, oobn, _, _, err := hl.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			// A barrier's fd is closed at once: that is the answer.
			if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, cm := range cms {
					fds, _ := unix.ParseUnixRights(&cm)
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
			msgs <- string(buf[:n])
		}
	}()
	e.Environ = []string{"NOTIFY_SOCKET=" + hostSock}
	notifying := func() string {
		b := e.bundle(sh(`echo "socket=$NOTIFY_SOCKET"; sleep 0.2; sdnotify STATUS=starting && sdnotify READY=1 && exec sleep 100`))
		copyFile(t, tool, filepath.Join(b, "rootfs", "bin", "sdnotify"))
		must(t, os.Chmod(filepath.Join(b, "rootfs", "bin", "sdnotify"), 0o755))
		return b
	}
	expect := func(what string, pid int) {
		t.Helper()
		want := []string{"READY=1\n", fmt.Sprintf("MAINPID=%d\n", pid), "BARRIER=1"}
		for i, w := range want {
			select {
			case m := <-msgs:
				if m != w {
					t.Errorf("%s: message %d on NOTIFY_SOCKET is %q, want %q", what, i, m, w)
				}
			case <-time.After(2 * time.Second):
				t.Errorf("%s: no message %d (%q) by the time it returned", what, i, w)
				return
			}
		}
	}

	id := e.id()
	pid, created := e.create(notifying(), id)
	e.ok(e.nook("start", id))
	expect("start", pid)
	if out := readString(created.OutPath); !strings.Contains(out, "socket=/run/notify/notify.sock\n") {
		t.Errorf("the container's NOTIFY_SOCKET: %q, want /run/notify/notify.sock", out)
	}
	e.ok(e.nook("delete", "--force", id))

	id = e.id()
	pidFile := filepath.Join(e.Dir, "run.pid")
	e.ok(e.nook("run", "-d", "--pid-file", pidFile, "--bundle", notifying(), id))
	pid, err = strconv.Atoi(readString(pidFile))
	must(t, err)
	e.register(pid)
	expect("run -d", pid)
	e.ok(e.nook("delete", "--force", id))
}

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// seccompProfile loads a linux.seccomp object from tests/testdata/seccomp.
func seccompProfile(t *testing.T, name string) *specs.LinuxSeccomp {
	t.Helper()
	repo, err := harness.RepoRoot()
	must(t, err)
	b, err := os.ReadFile(filepath.Join(repo, "tests", "testdata", "seccomp", name))
	must(t, err)
	var s specs.LinuxSeccomp
	must(t, json.Unmarshal(b, &s))
	return &s
}

func withSeccomp(p *specs.LinuxSeccomp) specMod {
	return func(s *specs.Spec) { s.Linux.Seccomp = p }
}

func TestSeccompDenyMkdir(t *testing.T) {
	e := newEnv(t)
	r := e.run(sh("mkdir /tmp/x; echo status=$?"), withSeccomp(seccompProfile(t, "deny-mkdir.json")), tmpfsTmp)
	if !strings.Contains(r.Stderr+r.Stdout, "Operation not permitted") || !strings.Contains(r.Stdout, "status=1") {
		t.Errorf("mkdir under a deny-mkdir profile: %s", r)
	}
}

func TestSeccompKill(t *testing.T) {
	e := newEnv(t)
	r := e.run(args("mkdir", "/tmp/x"), withSeccomp(seccompProfile(t, "kill-mkdir.json")), tmpfsTmp)
	if r.Code != 128+31 { // SIGSYS
		t.Errorf("mkdir under SCMP_ACT_KILL: want exit 159 (SIGSYS), got %s", r)
	}
}

func TestSeccompDockerDefault(t *testing.T) {
	e := newEnv(t)
	prof := withSeccomp(seccompProfile(t, "docker-default.json"))
	out := e.runOK(sh("ls / >/dev/null && ps >/dev/null && echo ok"), prof)
	if strings.TrimSpace(out) != "ok" {
		t.Errorf("sh/ls/ps under the docker-like profile: %q", out)
	}
	for _, cmd := range []string{"unshare -m true", "mount -t tmpfs none /mnt", "reboot -f"} {
		r := e.run(sh(cmd+" 2>&1; echo status=$?"), prof, func(s *specs.Spec) {
			// Root with every capability: only seccomp stands in the way.
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN", "CAP_SYS_BOOT")
			s.Process.Capabilities.Effective = append(s.Process.Capabilities.Effective, "CAP_SYS_ADMIN", "CAP_SYS_BOOT")
			s.Process.Capabilities.Permitted = append(s.Process.Capabilities.Permitted, "CAP_SYS_ADMIN", "CAP_SYS_BOOT")
		})
		refused := strings.Contains(r.Stdout, "Operation not permitted") || strings.Contains(r.Stdout, "permission denied")
		if !refused || strings.Contains(r.Stdout, "status=0") {
			t.Errorf("%q under the docker-like profile was not refused with EPERM: %s", cmd, r)
		}
	}
}

func TestSeccompArgumentFilter(t *testing.T) {
	e := newEnv(t)
	// personality(PER_LINUX32) is denied by value; the query passes.
	r := e.run(sh("uname -m; setarch linux32 uname -m 2>&1; echo status=$?"), withSeccomp(seccompProfile(t, "personality.json")))
	if !strings.HasPrefix(r.Stdout, "x86_64") || !strings.Contains(r.Stdout, "status=1") {
		t.Errorf("personality filtered by value: %s", r)
	}
}

// seccompAgent is a running tests/seccompagent.
type seccompAgent struct {
	sock      string // its listenerPath
	stateFile string // the container process state it received
	log       string // its stderr: one line per answered notification
}

// startSeccompAgent builds and starts the test agent; fakeMkdir is the
// directory whose mkdir it answers with success without making it.
func startSeccompAgent(t *testing.T, e *env, fakeMkdir string) seccompAgent {
	t.Helper()
	repo, err := harness.RepoRoot()
	must(t, err)
	bin := filepath.Join(e.Dir, "seccompagent")
	if _, err := os.Stat(bin); err != nil {
		build := exec.Command("go", "build", "-o", bin, "./tests/seccompagent")
		build.Dir = repo
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build agent: %v\n%s", err, out)
		}
	}
	n := e.next()
	a := seccompAgent{
		sock:      filepath.Join(e.Dir, fmt.Sprintf("agent%d.sock", n)),
		stateFile: filepath.Join(e.Dir, fmt.Sprintf("agent%d-state.json", n)),
		log:       filepath.Join(e.Dir, fmt.Sprintf("agent%d.log", n)),
	}
	logFile, err := os.Create(a.log)
	must(t, err)
	defer logFile.Close()
	cmd := exec.Command(bin, "-socket", a.sock, "-state-file", a.stateFile, "-fake-mkdir", fakeMkdir)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = logFile
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("seccomp agent did not become ready")
	}
	return a
}

func TestSeccompNotify(t *testing.T) {
	e := newEnv(t)
	agent := startSeccompAgent(t, e, "/tmp/faked")
	prof := seccompProfile(t, "notify-mkdir.json")
	prof.ListenerPath = agent.sock
	// The agent answers mkdir /tmp/faked with success without making it:
	// the container sees success and no directory.
	out := e.runOK(sh("mkdir /tmp/faked && echo mkdir-ok; test -d /tmp/faked && echo exists || echo absent; mkdir /tmp/real && test -d /tmp/real && echo real-made"),
		withSeccomp(prof), tmpfsTmp)
	if got := strings.Join(nonEmptyLines(out), " "); got != "mkdir-ok absent real-made" {
		t.Errorf("container saw %q, want the agent's fake success, no directory, and a real mkdir continued", got)
	}
	var st specs.ContainerProcessState
	must(t, json.Unmarshal([]byte(readString(agent.stateFile)), &st))
	if st.Metadata != "nook-test-metadata" || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.Pid == 0 || st.State.ID == "" {
		t.Errorf("agent received state %+v", st)
	}
}

// notifyMost notifies what the init's last steps (the listener hand-off,
// the Go runtime around it, the execve) and busybox make most use of; only
// write is refused, as runc refuses it.
func notifyMost() []string {
	return []string{"close", "futex", "mmap", "munmap", "madvise", "mprotect", "brk", "openat", "read",
		"fcntl", "newfstatat", "fstat", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
		"sched_yield", "nanosleep", "getpid", "gettid", "tgkill", "prlimit64", "execve", "exit_group",
		"mkdir", "mkdirat"}
}

// TestSeccompNotifyAnySyscall: NOTIFY on syscalls the init itself makes
// right after loading the filter (futex, mmap, close, …, even execve) works:
// the init hands the listener on from another thread, the container runs,
// and the agent sees the calls. A few rounds, since a deadlock would be a
// race. futex stays notified but is not required in the agent's log:
// whether the Go runtime parks a thread between the filter and execve is
// its scheduler's timing (CI once saw none).
func TestSeccompNotifyAnySyscall(t *testing.T) {
	e := newEnv(t)
	for round := range 3 {
		agent := startSeccompAgent(t, e, "/tmp/faked")
		prof := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			ListenerPath:  agent.sock,
			Syscalls:      []specs.LinuxSyscall{{Names: notifyMost(), Action: specs.ActNotify}},
		}
		out := e.runOK(sh("cat /etc/passwd >/dev/null && mkdir /tmp/faked && echo mkdir-ok; test -d /tmp/faked || echo absent"),
			withSeccomp(prof), tmpfsTmp)
		if got := strings.Join(nonEmptyLines(out), " "); got != "mkdir-ok absent" {
			t.Errorf("round %d: container saw %q, want the agent's fake mkdir", round, got)
		}
		log := readString(agent.log)
		for _, call := range []string{" execve: continue", " openat: continue", " close: continue", " mkdir /tmp/faked: faked success"} {
			if !strings.Contains(log, call) {
				t.Errorf("round %d: the agent did not see %q; its log:\n%s", round, call, log)
			}
		}
	}
}

func TestSeccompNotifyWriteRefused(t *testing.T) {
	e := newEnv(t)
	prof := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  filepath.Join(e.Dir, "never.sock"),
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"close", "write"}, Action: specs.ActNotify}},
	}
	b := e.bundle(withSeccomp(prof))
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "linux.seccomp.syscalls[0].names[1]", "SCMP_ACT_NOTIFY cannot be used for", "write")
}

// enosysProbe builds a static program that makes each syscall number of its
// arguments with zero arguments and prints "<arg>=<errno>".
func enosysProbe(t *testing.T, e *env) string {
	t.Helper()
	return buildStaticGo(t, e, "probe", `package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	for _, a := range os.Args[1:] {
		nr, _ := strconv.ParseUint(a, 0, 64)
		_, _, errno := syscall.RawSyscall(uintptr(nr), 0, 0, 0)
		fmt.Printf("%s=%d\n", a, int(errno))
	}
}
`)
}

// TestSeccompENOSYS: under a profile that denies by default (EPERM, or a
// kill) and allows what the container needs, a syscall newer than every one
// the profile names gets ENOSYS, for x86_64 and x32 numbers alike, so that
// libc can fall back; a named denied syscall keeps its EPERM.
func TestSeccompENOSYS(t *testing.T) {
	e := newEnv(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("the probe's syscall numbers are x86_64's")
	}
	probe := enosysProbe(t, e)
	const (
		newSyscall    = "1000"
		newX32Syscall = "0x400003e8" // __X32_SYSCALL_BIT | 1000
		mkdir         = "83"
		x32Mkdir      = "0x40000053"
	)
	for _, def := range []specs.LinuxSeccompAction{specs.ActErrno, specs.ActKillProcess} {
		prof := seccompProfile(t, "docker-default.json")
		prof.DefaultAction = def
		if def != specs.ActErrno {
			prof.DefaultErrnoRet = nil
		}
		// mkdir and mkdirat: named, denied with EPERM.
		for i := range prof.Syscalls {
			prof.Syscalls[i].Names = slices.DeleteFunc(prof.Syscalls[i].Names, func(n string) bool { return n == "mkdir" || n == "mkdirat" })
		}
		one := uint(1)
		prof.Syscalls = append(prof.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &one})
		b := e.bundle(args("/probe", newSyscall, newX32Syscall, mkdir, x32Mkdir), withSeccomp(prof))
		data, err := os.ReadFile(probe)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(b, "rootfs", "probe"), data, 0o755))
		r := e.nook("run", "--bundle", b, e.id())
		if r.Code != 0 {
			t.Errorf("%s: the probe failed: %s", def, r)
			continue
		}
		want := []string{newSyscall + "=38", newX32Syscall + "=38", mkdir + "=1", x32Mkdir + "=1"}
		if got := nonEmptyLines(r.Stdout); !slices.Equal(got, want) {
			t.Errorf("%s default: the probe saw %q, want %q (ENOSYS for new syscalls, EPERM for named ones)", def, got, want)
		}
	}
}

// TestSeccompStartContainerHook: startContainer hooks run under the
// container's seccomp filter, as with runc: a hook's mkdir fails under a
// profile that denies it, and the init reports the hook's failure as it
// reports any startContainer hook's (on the container's stderr, the process
// never runs); without the profile the same hook succeeds.
func TestSeccompStartContainerHook(t *testing.T) {
	e := newEnv(t)
	hook := func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{
			Path: "/bin/sh",
			Args: []string{"sh", "-c", "mkdir /tmp/hook-dir && echo made > /tmp/hook-dir/x"},
		}}}
	}
	out := e.runOK(args("cat", "/tmp/hook-dir/x"), hook, tmpfsTmp)
	if strings.TrimSpace(out) != "made" {
		t.Errorf("without a profile the hook's mkdir did not work: container saw %q", out)
	}
	r := e.run(args("cat", "/tmp/hook-dir/x"), hook, tmpfsTmp, withSeccomp(seccompProfile(t, "deny-mkdir.json")))
	e.expectFail(r, "startContainer hook #0 (/bin/sh): exit status 1", "mkdir: can't create directory '/tmp/hook-dir': Operation not permitted")
	if r.Stdout != "" {
		t.Errorf("the process ran after the failed hook: %s", r)
	}
}

// TestSeccompNotifyStartContainerHook: with a NOTIFY profile, a
// startContainer hook runs under the filter without a listener of its own
// (the agent gets one listener, the container process's), so its notified
// syscalls answer ENOSYS; the process then runs with the agent answering.
// runc would hand the hook's notifications to the agent: its init loads the
// filter before the hooks, on the thread that forks them.
func TestSeccompNotifyStartContainerHook(t *testing.T) {
	e := newEnv(t)
	agent := startSeccompAgent(t, e, "/tmp/faked")
	prof := seccompProfile(t, "notify-mkdir.json")
	prof.ListenerPath = agent.sock
	out := e.runOK(sh("cat /tmp/hook-err; mkdir /tmp/faked && echo mkdir-ok"), withSeccomp(prof), tmpfsTmp, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{
			Path: "/bin/sh",
			Args: []string{"sh", "-c", "mkdir /tmp/hook-dir 2>/tmp/hook-err; true"},
		}}}
	})
	if got := strings.Join(nonEmptyLines(out), " | "); got != "mkdir: can't create directory '/tmp/hook-dir': Function not implemented | mkdir-ok" {
		t.Errorf("container saw %q, want the hook's ENOSYS and the agent's fake mkdir", got)
	}
	// The agent logs a call after answering it, so the container (and
	// nook run) may be done before the line is written: wait for it.
	if log := e.waitFile(agent.log, "mkdir /tmp/faked: faked success"); strings.Contains(log, "hook-dir") {
		t.Errorf("the agent saw the hook's mkdir; its log:\n%s", log)
	}
}

func TestBadSeccomp(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		mod  func(*specs.LinuxSeccomp)
		want string
	}{
		{func(p *specs.LinuxSeccomp) { p.DefaultAction = "SCMP_ACT_NOPE" }, "defaultAction"},
		{func(p *specs.LinuxSeccomp) { p.Syscalls[0].Action = "SCMP_ACT_BOGUS" }, "syscalls[0].action"},
		{func(p *specs.LinuxSeccomp) {
			p.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_WHAT"}}
		}, "SCMP_CMP_WHAT"},
		{func(p *specs.LinuxSeccomp) { p.Architectures = []specs.Arch{"SCMP_ARCH_VAX"} }, "SCMP_ARCH_VAX"},
		{func(p *specs.LinuxSeccomp) {
			one := uint(1)
			p.Syscalls[0].Action = "SCMP_ACT_ALLOW"
			p.DefaultAction = "SCMP_ACT_ERRNO"
			p.Syscalls[0].ErrnoRet = &one
		}, "errnoRet"},
		{func(p *specs.LinuxSeccomp) { p.Syscalls[0].Action = "SCMP_ACT_NOTIFY" }, "listenerPath"},
		{func(p *specs.LinuxSeccomp) {
			p.Syscalls[0].Action = "SCMP_ACT_NOTIFY"
			p.ListenerPath = "/nonexistent/agent.sock"
		}, "listenerPath"},
	}
	// A socket file whose listener is gone: connect is refused.
	dead := filepath.Join(e.Dir, "dead.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: dead, Net: "unix"})
	must(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
	cases = append(cases, struct {
		mod  func(*specs.LinuxSeccomp)
		want string
	}{func(p *specs.LinuxSeccomp) { p.Syscalls[0].Action = "SCMP_ACT_NOTIFY"; p.ListenerPath = dead }, "listenerPath"})
	for _, c := range cases {
		p := seccompProfile(t, "deny-mkdir.json")
		c.mod(p)
		b := e.bundle(withSeccomp(p))
		e.expectFail(e.nook("create", "--bundle", b, e.id()), c.want)
	}
}

func tmpfsTmp(s *specs.Spec) {
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
}

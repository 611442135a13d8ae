package seccomp

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// testAgent accepts one connection on sock, receives the listener and
// answers notifications until every filtered process is gone: mkdir gets a
// faked success, anything else (mkdirat here) continues in the kernel.
type testAgent struct {
	state   chan specs.ContainerProcessState
	handled chan string // every answered syscall; never blocks the agent
	errs    chan error
}

func startTestAgent(t *testing.T, sock string) *testAgent {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	a := &testAgent{state: make(chan specs.ContainerProcessState, 1), handled: make(chan string, 1<<14), errs: make(chan error, 1)}
	go func() {
		defer ln.Close()
		conn, err := ln.AcceptUnix()
		if err != nil {
			a.errs <- err
			return
		}
		st, fd, err := ReceiveListener(conn)
		conn.Close()
		if err != nil {
			a.errs <- err
			return
		}
		defer unix.Close(fd)
		a.state <- st
		a.errs <- a.serve(fd)
	}()
	return a
}

func (a *testAgent) serve(fd int) error {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 10_000); err != nil {
			if err == unix.EINTR {
				continue
			}
			return err
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return nil // POLLHUP: no process uses the filter any more
		}
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if err != nil {
			continue // the target went away between poll and receive
		}
		name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch)
		resp := &libseccomp.ScmpNotifResp{ID: req.ID}
		if name == "mkdir" {
			resp.Val = 0 // success, nothing created
		} else {
			resp.Flags = libseccomp.NotifRespFlagContinue
		}
		if err := libseccomp.NotifRespond(libseccomp.ScmpFd(fd), resp); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // the target was interrupted or died meanwhile
			}
			return err
		}
		select {
		case a.handled <- name:
		default:
		}
	}
}

// notifyChild runs a child that Installs p (which notifies) and runs
// probes, with an agent at sock answering; extraEnv goes to the child.
func notifyChild(t *testing.T, p *Program, sock string, probes []string, extraEnv ...string) (childResult, *testAgent) {
	t.Helper()
	agent := startTestAgent(t, sock)
	// As `nook create`: dial the agent before the init loads anything.
	conn, err := DialListener(p.ListenerPath)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parentEnd, childEnd := os.NewFile(uintptr(pair[0]), "parent"), os.NewFile(uintptr(pair[1]), "child")
	defer parentEnd.Close()

	cmd := childCmd(t, p, probes, nil)
	cmd.Env = append(append(cmd.Env, envHandOff+"=1"), extraEnv...)
	cmd.ExtraFiles = []*os.File{childEnd}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childEnd.Close()

	// The child's sending thread passes the listener to the parent, which
	// forwards it (in nook the init sends it to the agent itself).
	listenerFd := receiveFd(t, pair[0])
	st := p.ProcessState(cmd.Process.Pid, specs.State{
		Version: specs.Version, ID: "nook-seccomp-test", Status: specs.StateCreating,
		Pid: cmd.Process.Pid, Bundle: filepath.Dir(sock), Annotations: map[string]string{"k": "v"},
	})
	if err := SendListener(conn, listenerFd, st); err != nil {
		t.Fatal(err)
	}
	unix.Close(listenerFd)

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("filtered child did not finish: notifications unanswered\nstderr:\n%s", stderr.String())
	}
	return parseChild(t, cmd.ProcessState, stdout.String(), stderr.String()), agent
}

func TestNotifyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	p := mustCompile(t, "notify-mkdir.json", sock)
	if !p.NeedsListener() || p.ListenerPath != sock {
		t.Fatalf("program flags %#x path %q: want a listener at %s", p.Flags, p.ListenerPath, sock)
	}
	faked, real := filepath.Join(dir, "faked"), filepath.Join(dir, "real")
	r, agent := notifyChild(t, p, sock, []string{"mkdir:" + faked, "mkdirat:" + real})
	r.mustExit(t)

	got := <-agent.state
	if got.Version != specs.Version || !equalStrings(got.Fds, []string{"seccompFd"}) || got.Pid != r.state.Pid() ||
		got.Metadata != "nook-test-metadata" || got.State.ID != "nook-seccomp-test" || got.State.Annotations["k"] != "v" {
		t.Errorf("agent received state %+v", got)
	}
	if r.probes["mkdir"] != 0 {
		t.Errorf("mkdir=%v, want the agent's faked success", r.probes["mkdir"])
	}
	if _, err := os.Stat(faked); !os.IsNotExist(err) {
		t.Errorf("faked mkdir created %s (stat: %v)", faked, err)
	}
	if r.probes["mkdirat"] != 0 {
		t.Errorf("mkdirat=%v, want success (continued)", r.probes["mkdirat"])
	}
	if _, err := os.Stat(real); err != nil {
		t.Errorf("continued mkdirat did not create %s: %v", real, err)
	}
	if err := <-agent.errs; err != nil {
		t.Errorf("agent: %v", err)
	}
	close(agent.handled)
	var names []string
	for n := range agent.handled {
		names = append(names, n)
	}
	if !equalStrings(names, []string{"mkdir", "mkdirat"}) {
		t.Errorf("agent handled %v, want [mkdir mkdirat]", names)
	}
}

// everythingButWrite is what the Go runtime, the hand-off and the probes
// may call, all of it notified: only write is left, as runc refuses NOTIFY
// on it.
func everythingButWrite() []string {
	return []string{"close", "futex", "mmap", "munmap", "madvise", "mprotect", "openat", "read",
		"sendmsg", "sendto", "recvmsg", "nanosleep", "clock_nanosleep", "sched_yield", "rt_sigprocmask",
		"rt_sigaction", "rt_sigreturn", "sigaltstack", "getpid", "gettid", "tgkill", "fcntl", "epoll_pwait",
		"epoll_ctl", "clone", "clone3", "exit", "exit_group", "getppid", "mkdir", "mkdirat", "prctl",
		"fstat", "newfstatat", "pipe2", "dup3"}
}

// TestInstallWithEverythingNotified: the loading thread hands the listener
// on and the child finishes although every syscall it, the runtime or the
// sender could make is notified (write aside), with the one P the init runs
// with (GOMAXPROCS=1). Repeated, since a deadlock would be a race.
func TestInstallWithEverythingNotified(t *testing.T) {
	for i := range 15 {
		dir := t.TempDir()
		sock := filepath.Join(dir, "agent.sock")
		p, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock,
			Syscalls: []specs.LinuxSyscall{{Names: everythingButWrite(), Action: specs.ActNotify}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		faked := filepath.Join(dir, "faked")
		r, agent := notifyChild(t, p, sock, []string{"mkdir:" + faked, "getppid", "mkdir-other-thread:" + filepath.Join(dir, "other")}, "GOMAXPROCS=1")
		r.mustExit(t)
		if err := <-agent.errs; err != nil {
			t.Fatalf("agent: %v", err)
		}
		close(agent.handled)
		seen := map[string]int{}
		for n := range agent.handled {
			seen[n]++
		}
		if r.probes["mkdir"] != 0 || seen["mkdir"] == 0 || seen["getppid"] == 0 {
			t.Fatalf("run %d: mkdir=%v, agent saw %v: the calls after Install were not notified", i, r.probes["mkdir"], seen)
		}
		if _, err := os.Stat(faked); !os.IsNotExist(err) {
			t.Fatalf("run %d: the faked mkdir made %s", i, faked)
		}
		// The other threads carry no filter: mkdir there is real.
		if r.probes["mkdir-other-thread"] != 0 {
			t.Fatalf("run %d: mkdir from another thread = %v", i, r.probes["mkdir-other-thread"])
		}
		if i == 0 {
			t.Logf("hand-off took %d us; the agent answered %v", r.probes["handoff_us"], seen)
		}
	}
}

// TestInstallWakeWriteDenied: a profile that denies the loading thread's
// wake-up write (write to any fd above 2 fails with EPERM) delays the
// hand-off by at most listenerPoll; it neither fails nor hangs.
func TestInstallWakeWriteDenied(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	p, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"futex", "getppid"}, Action: specs.ActNotify},
		{Names: []string{"write"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpGreaterEqual, Value: 3}}},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, agent := notifyChild(t, p, sock, []string{"getppid"}, "GOMAXPROCS=1")
	r.mustExit(t)
	if err := <-agent.errs; err != nil {
		t.Fatalf("agent: %v", err)
	}
	close(agent.handled)
	seen := map[string]int{}
	for n := range agent.handled {
		seen[n]++
	}
	if seen["getppid"] != 1 {
		t.Errorf("agent saw %v, want getppid once", seen)
	}
}

// TestInstallSendFailure: when the listener cannot be sent, Install returns
// send's error, neither waiting forever nor crashing the runtime (whose
// notified futex and mmap calls would fail with ENOSYS were the listener
// simply closed).
func TestInstallSendFailure(t *testing.T) {
	dir := t.TempDir()
	p, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: filepath.Join(dir, "x.sock"),
		Syscalls: []specs.LinuxSyscall{{Names: everythingButWrite(), Action: specs.ActNotify}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// fd 3 is /dev/null: sendmsg fails with ENOTSOCK.
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd := childCmd(t, p, []string{"getppid"}, nil)
	cmd.Env = append(cmd.Env, envHandOff+"=1", "GOMAXPROCS=1")
	cmd.ExtraFiles = []*os.File{null}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("Install hung after a failed send")
	}
	if cmd.ProcessState.ExitCode() != 5 || !strings.Contains(stderr.String(), "install: socket operation on non-socket") {
		t.Errorf("child: %v, stderr %q; want exit 5 and send's error", cmd.ProcessState, stderr.String())
	}
}

func receiveFd(t *testing.T, sock int) int {
	t.Helper()
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil {
		t.Fatal(err)
	}
	return fds[0]
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestDialListenerErrors(t *testing.T) {
	dir := t.TempDir()
	// A socket that is bound but not listening: connect is refused.
	silent := filepath.Join(dir, "silent.sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: silent}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]syscall.Errno{silent: syscall.ECONNREFUSED, filepath.Join(dir, "missing.sock"): syscall.ENOENT} {
		_, err := DialListener(path)
		if err == nil {
			t.Fatalf("%s: dial succeeded", path)
		}
		if !strings.HasPrefix(err.Error(), "linux.seccomp.listenerPath: ") || !errors.Is(err, want) {
			t.Errorf("%s: error %q, want linux.seccomp.listenerPath and %v", path, err, want)
		}
	}
}

func TestSendListenerWireFormat(t *testing.T) {
	// The agent side reads raw: one message whose payload is the JSON state
	// and whose SCM_RIGHTS carries the fd, then EOF.
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := DialListener(sock)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	p := &Program{ListenerMetadata: "meta"}
	if err := SendListener(conn, int(w.Fd()), p.ProcessState(42, specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"})); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := server.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf[:n], &doc); err != nil {
		t.Fatalf("payload %q: %v", buf[:n], err)
	}
	for _, k := range []string{"ociVersion", "fds", "pid", "metadata", "state"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("payload lacks %q: %s", k, buf[:n])
		}
	}
	if fds, _ := doc["fds"].([]any); len(fds) != 1 || fds[0] != "seccompFd" {
		t.Errorf("fds = %v", doc["fds"])
	}
	got, err := parseRights(oob[:oobn])
	if err != nil || len(got) != 1 {
		t.Fatalf("rights %v, %v", got, err)
	}
	// The fd received is the pipe's write end.
	if _, err := unix.Write(got[0], []byte("x")); err != nil {
		t.Fatal(err)
	}
	unix.Close(got[0])
	one := make([]byte, 1)
	if _, err := r.Read(one); err != nil || one[0] != 'x' {
		t.Errorf("read %q, %v through the passed fd", one, err)
	}
	// SendListener closed its end: the agent sees EOF.
	if n, err := server.Read(buf); n != 0 || err == nil {
		t.Errorf("after the state: %d bytes, %v; want EOF", n, err)
	}
}

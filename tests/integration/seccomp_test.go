package integration

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// seccompProfile loads a linux.seccomp object from tests/testdata/seccomp.
func seccompProfile(t *testing.T, name string) *specs.LinuxSeccomp {
	t.Helper()
	repo, err := repoRoot()
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
	if !strings.Contains(r.stderr+r.stdout, "Operation not permitted") || !strings.Contains(r.stdout, "status=1") {
		t.Errorf("mkdir under a deny-mkdir profile: %s", r)
	}
}

func TestSeccompKill(t *testing.T) {
	e := newEnv(t)
	r := e.run(args("mkdir", "/tmp/x"), withSeccomp(seccompProfile(t, "kill-mkdir.json")), tmpfsTmp)
	if r.code != 128+31 { // SIGSYS
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
		refused := strings.Contains(r.stdout, "Operation not permitted") || strings.Contains(r.stdout, "permission denied")
		if !refused || strings.Contains(r.stdout, "status=0") {
			t.Errorf("%q under the docker-like profile was not refused with EPERM: %s", cmd, r)
		}
	}
}

func TestSeccompArgumentFilter(t *testing.T) {
	e := newEnv(t)
	// personality(PER_LINUX32) is denied by value; the query passes.
	r := e.run(sh("uname -m; setarch linux32 uname -m 2>&1; echo status=$?"), withSeccomp(seccompProfile(t, "personality.json")))
	if !strings.HasPrefix(r.stdout, "x86_64") || !strings.Contains(r.stdout, "status=1") {
		t.Errorf("personality filtered by value: %s", r)
	}
}

func TestSeccompNotify(t *testing.T) {
	e := newEnv(t)
	repo, err := repoRoot()
	must(t, err)
	agent := filepath.Join(e.dir, "seccompagent")
	build := exec.Command("go", "build", "-o", agent, "./tests/seccompagent")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build agent: %v\n%s", err, out)
	}
	sock := filepath.Join(e.dir, "agent.sock")
	stateFile := filepath.Join(e.dir, "agent-state.json")
	cmd := exec.Command(agent, "-socket", sock, "-state-file", stateFile, "-fake-mkdir", "/tmp/faked")
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
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
	prof := seccompProfile(t, "notify-mkdir.json")
	prof.ListenerPath = sock
	// The agent answers mkdir /tmp/faked with success without making it:
	// the container sees success and no directory.
	out := e.runOK(sh("mkdir /tmp/faked && echo mkdir-ok; test -d /tmp/faked && echo exists || echo absent; mkdir /tmp/real && test -d /tmp/real && echo real-made"),
		withSeccomp(prof), tmpfsTmp)
	if got := strings.Join(nonEmptyLines(out), " "); got != "mkdir-ok absent real-made" {
		t.Errorf("container saw %q, want the agent's fake success, no directory, and a real mkdir continued", got)
	}
	var st specs.ContainerProcessState
	must(t, json.Unmarshal([]byte(readString(stateFile)), &st))
	if st.Metadata != "nook-test-metadata" || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.Pid == 0 || st.State.ID == "" {
		t.Errorf("agent received state %+v", st)
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
	dead := filepath.Join(e.dir, "dead.sock")
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

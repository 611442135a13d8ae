package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nookrt/nook/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The test builds the agent with `go build`, starts it, and runs a child
// (this test binary re-executed) that loads a NOTIFY filter, hands the
// listener to the agent with nook's own seccomp.SendListener and makes
// mkdir calls the agent must fake or let through.

const (
	envChild = "NOOK_AGENT_TEST_PROGRAM" // program JSON file
	envDir   = "NOOK_AGENT_TEST_DIR"     // directory the probes work in
	envExec  = "NOOK_AGENT_TEST_EXEC"    // JSON argv exec'd after the probes
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChild); path != "" {
		os.Exit(child(path, os.Getenv(envDir)))
	}
	os.Exit(m.Run())
}

func child(programPath, dir string) int {
	runtime.LockOSThread()
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		return 3
	}
	data, err := os.ReadFile(programPath)
	if err != nil {
		return fail("read program", err)
	}
	var p seccomp.Program
	if err := json.Unmarshal(data, &p); err != nil {
		return fail("decode program", err)
	}
	var argv []string
	_ = json.Unmarshal([]byte(os.Getenv(envExec)), &argv)
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open dir", err)
	}
	conn, err := seccomp.DialListener(p.ListenerPath)
	if err != nil {
		return fail("dial", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("no_new_privs", err)
	}
	fd, err := p.Load()
	if err != nil {
		return fail("load", err)
	}
	st := p.ProcessState(os.Getpid(), specs.State{Version: specs.Version, ID: "agent-test", Status: specs.StateCreating, Pid: os.Getpid(), Bundle: dir})
	if err := seccomp.SendListener(conn, fd, st); err != nil {
		return fail("send listener", err)
	}
	unix.Close(fd)

	str := func(s string) uintptr {
		b, _ := unix.BytePtrFromString(s)
		return uintptr(unsafe.Pointer(b))
	}
	fdcwd := unix.AT_FDCWD
	var out strings.Builder
	probe := func(name string, trap uintptr, a ...uintptr) {
		a = append(a, 0, 0, 0)
		_, _, e := syscall.RawSyscall(trap, a[0], a[1], a[2])
		fmt.Fprintf(&out, "%s=%d\n", name, int(e))
	}
	probe("mkdir-fake-abs", unix.SYS_MKDIR, str(filepath.Join(dir, "fake")), 0o755)
	probe("mkdirat-real-cwd", unix.SYS_MKDIRAT, uintptr(fdcwd), str("real"), 0o755)
	probe("mkdirat-fake-dirfd", unix.SYS_MKDIRAT, uintptr(dirfd), str("fake"), 0o755)
	probe("mkdir-bad-pointer", unix.SYS_MKDIR, 1, 0o755)
	unix.Write(1, []byte(out.String()))
	if len(argv) > 0 {
		err := syscall.Exec(argv[0], argv, os.Environ())
		return fail("exec", err)
	}
	return 0
}

func buildAgent(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not in PATH (needed to build the agent)")
	}
	bin := filepath.Join(t.TempDir(), "seccompagent")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestAgentFakesMkdirAndContinuesTheRest(t *testing.T) {
	bin := buildAgent(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	stateFile := filepath.Join(dir, "state.json")
	fake := filepath.Join(dir, "fake")

	agent := exec.Command(bin, "-socket", sock, "-state-file", stateFile, "-fake-mkdir", fake)
	agentOut, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var agentLog strings.Builder
	agent.Stderr = &agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	defer func() {
		select {
		case <-agentDone:
		default:
			agent.Process.Kill()
			<-agentDone
		}
	}()
	ready := bufio.NewScanner(agentOut)
	if !ready.Scan() || ready.Text() != "ready" {
		t.Fatalf("agent did not report ready: %q\n%s", ready.Text(), agentLog.String())
	}
	go func() { agentDone <- agent.Wait() }()

	profile, err := os.ReadFile("../testdata/seccomp/notify-mkdir.json")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(profile), "@LISTENER_PATH@", sock)), &s); err != nil {
		t.Fatal(err)
	}
	p, err := seccomp.Compile(&s, nil)
	if err != nil {
		t.Fatal(err)
	}
	progFile := filepath.Join(t.TempDir(), "program.json")
	data, _ := json.Marshal(p)
	if err := os.WriteFile(progFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envChild+"="+progFile, envDir+"="+dir)
	bb := "/bin/busybox"
	if _, err := os.Stat(bb); err == nil {
		// Also through real programs: the notifications then come from
		// processes forked by busybox sh, whose memory holds the paths.
		script := fmt.Sprintf("%s mkdir %s; echo rc=$?; %s mkdir %s && echo made", bb, fake, bb, filepath.Join(dir, "bb-real"))
		argv, _ := json.Marshal([]string{bb, "sh", "-c", script})
		cmd.Env = append(cmd.Env, envExec+"="+string(argv))
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := runWithTimeout(cmd, 30*time.Second); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s\nagent:\n%s", err, stdout.String(), stderr.String(), agentLog.String())
	}

	probes := map[string]syscall.Errno{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			if n, err := strconv.Atoi(v); err == nil && !strings.HasPrefix(k, "rc") {
				probes[k] = syscall.Errno(n)
			}
		}
	}
	want := map[string]syscall.Errno{
		"mkdir-fake-abs":     0,
		"mkdirat-real-cwd":   0,
		"mkdirat-fake-dirfd": 0,
		"mkdir-bad-pointer":  syscall.EFAULT,
	}
	for k, v := range want {
		if got, ok := probes[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, err := os.Stat(fake); !os.IsNotExist(err) {
		t.Errorf("the faked mkdir created %s (stat: %v)", fake, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "real")); err != nil {
		t.Errorf("the continued mkdirat did not create real/: %v", err)
	}
	if strings.Contains(cmd.Env[len(cmd.Env)-1], envExec) {
		if !strings.Contains(stdout.String(), "rc=0") || !strings.Contains(stdout.String(), "made") {
			t.Errorf("busybox under the agent: %q", stdout.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "bb-real")); err != nil {
			t.Errorf("busybox mkdir did not create bb-real: %v", err)
		}
	}

	// The agent exits by itself once no process uses the filter.
	select {
	case err := <-agentDone:
		agentDone <- err
		if err != nil {
			t.Errorf("agent: %v\n%s", err, agentLog.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("agent still running after the filtered processes exited\n%s", agentLog.String())
	}

	var st map[string]any
	data, err = os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("state file: %v\n%s", err, data)
	}
	fds, _ := st["fds"].([]any)
	state, _ := st["state"].(map[string]any)
	if st["ociVersion"] != specs.Version || len(fds) != 1 || fds[0] != "seccompFd" || st["metadata"] != "nook-test-metadata" ||
		st["pid"] != float64(cmd.Process.Pid) || state == nil || state["id"] != "agent-test" {
		t.Errorf("state file:\n%s", data)
	}
	for _, line := range []string{"faked success", "continue", "bad address"} {
		if !strings.Contains(agentLog.String(), line) {
			t.Errorf("agent log lacks %q:\n%s", line, agentLog.String())
		}
	}
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("timed out after %v", d)
	}
}

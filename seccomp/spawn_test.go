package seccomp

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// spawnOut spawns argv under p with stdin /dev/null and stdout, stderr
// captured, waits for it and returns the pid, the exit status and the
// output.
func spawnOut(t *testing.T, p *Program, attr SpawnAttr) (pid int, ws syscall.WaitStatus, stdout, stderr string) {
	t.Helper()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	attr.Stdio = []*os.File{null, outW, errW}
	proc, err := p.Spawn(attr)
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatalf("spawn %v: %v", attr.Args, err)
	}
	o, _ := io.ReadAll(outR)
	e, _ := io.ReadAll(errR)
	st, err := proc.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return proc.Pid, st.Sys().(syscall.WaitStatus), string(o), string(e)
}

func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestSpawnFiltersOnlyTheChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads a seccomp filter without no_new_privs (CAP_SYS_ADMIN)")
	}
	bb := busybox(t)
	p := mustCompile(t, "deny-mkdir.json", "")
	dir := t.TempDir()
	_, ws, _, stderr := spawnOut(t, p, SpawnAttr{Path: bb, Args: []string{"mkdir", filepath.Join(dir, "child")}})
	if ws.ExitStatus() != 1 || !strings.Contains(stderr, "Operation not permitted") {
		t.Errorf("mkdir in the spawned program: status %v, stderr %q; want EPERM", ws, stderr)
	}
	// The calling thread carries no filter.
	if err := os.Mkdir(filepath.Join(dir, "parent"), 0o755); err != nil {
		t.Errorf("mkdir in the test after Spawn: %v", err)
	}
	pid, ws, stdout, _ := spawnOut(t, p, SpawnAttr{Path: bb, Args: []string{"cat", "/proc/self/status", "/proc/self/stat"}, Setpgid: true})
	if ws.ExitStatus() != 0 || statusField(stdout, "Seccomp") != "2" || statusField(stdout, "NoNewPrivs") != "0" {
		t.Errorf("spawned cat: status %v, Seccomp %q NoNewPrivs %q; want a filter and no no_new_privs", ws,
			statusField(stdout, "Seccomp"), statusField(stdout, "NoNewPrivs"))
	}
	// /proc/self/stat: "pid (comm) state ppid pgrp ..."
	stat := stdout[strings.LastIndex(stdout, ")")+2:]
	if f := strings.Fields(stat); len(f) < 3 || f[2] != strconv.Itoa(pid) {
		t.Errorf("spawned with Setpgid: stat %q, want process group %d", stat, pid)
	}
	own, err := os.ReadFile("/proc/thread-self/status")
	if err != nil || statusField(string(own), "Seccomp") != "0" {
		t.Errorf("the calling thread has Seccomp %q (%v), want 0", statusField(string(own), "Seccomp"), err)
	}
}

func TestSpawnNoNewPrivsAndCallerThread(t *testing.T) {
	bb := busybox(t)
	p := mustCompile(t, "deny-mkdir.json", "")
	// The child is a copy of the calling thread: a per-thread attribute
	// (the timer slack) of the locked caller is what it gets.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 70003, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
	_, ws, stdout, _ := spawnOut(t, p, SpawnAttr{Path: bb, Args: []string{"cat", "/proc/self/status", "/proc/self/timerslack_ns"}, NoNewPrivs: true})
	if ws.ExitStatus() != 0 || statusField(stdout, "NoNewPrivs") != "1" || statusField(stdout, "Seccomp") != "2" {
		t.Errorf("spawned cat: status %v, NoNewPrivs %q Seccomp %q; want 1 and 2", ws, statusField(stdout, "NoNewPrivs"), statusField(stdout, "Seccomp"))
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); lines[len(lines)-1] != "70003" {
		t.Errorf("spawned program's timer slack %q, want the calling thread's 70003", lines[len(lines)-1])
	}
}

func TestSpawnNotifyAnswersENOSYS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads a seccomp filter without no_new_privs (CAP_SYS_ADMIN)")
	}
	bb := busybox(t)
	dir := t.TempDir()
	p := mustCompile(t, "notify-mkdir.json", filepath.Join(dir, "agent.sock"))
	_, ws, _, stderr := spawnOut(t, p, SpawnAttr{Path: bb, Args: []string{"mkdir", filepath.Join(dir, "d")}})
	if ws.ExitStatus() != 1 || !strings.Contains(stderr, "Function not implemented") {
		t.Errorf("notified mkdir without a listener: status %v, stderr %q; want ENOSYS", ws, stderr)
	}
}

func TestSpawnErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads a seccomp filter without no_new_privs (CAP_SYS_ADMIN)")
	}
	p := mustCompile(t, "deny-mkdir.json", "")
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stdio := []*os.File{null, null, null}
	_, err = p.Spawn(SpawnAttr{Path: "/nonexistent/prog", Args: []string{"prog"}, Stdio: stdio})
	if !errors.Is(err, unix.ENOENT) {
		t.Errorf("spawn of a missing program: %v, want ENOENT", err)
	}
	// The failed child was reaped.
	if _, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); !errors.Is(err, unix.ECHILD) {
		t.Errorf("a child is left after the failed spawn: wait4: %v", err)
	}
	bad := &Program{Filter: []byte{1, 2, 3}}
	if _, err := bad.Spawn(SpawnAttr{Path: "/bin/true", Args: []string{"true"}, Stdio: stdio}); err == nil {
		t.Error("a damaged program was spawned")
	}
	if _, err := p.Spawn(SpawnAttr{Path: "/bin/true", Args: []string{"true"}, Stdio: stdio[:2]}); err == nil {
		t.Error("spawned with two stdio files")
	}
	// Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses
	// the filter: the child says so.
	noAdmin := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: allowMkdir()}
	q, err := Compile(noAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread() // the capabilities dropped below are this thread's; it is not reused
	var data [2]unix.CapUserData
	if err := unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &data[0]); err != nil {
		t.Fatal(err)
	}
	_, err = q.Spawn(SpawnAttr{Path: "/bin/true", Args: []string{"true"}, Stdio: stdio})
	if err == nil || !strings.Contains(err.Error(), "no_new_privs or CAP_SYS_ADMIN") {
		t.Errorf("spawn without privilege: %v, want the load error", err)
	}
}

package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// reportHookName is the name under which the test binary, reached through a
// symlink, acts as a hook that records its argv and environment (see
// TestMain). It lets a test see exactly what execve received, which a shell
// script cannot show: the kernel rewrites a script's argv.
const reportHookName = "nook-report-hook"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == reportHookName {
		os.Exit(reportHook())
	}
	os.Exit(m.Run())
}

// reportHook writes {"args":…, "env":…} next to its own argv[0], which only
// works if argv[0] is the absolute path the hook was configured with.
func reportHook() int {
	// /proc/self shows what execve received; os.Args would do, but Go's
	// os.Environ drops duplicate names, which must be seen here.
	split := func(file string) ([]string, error) {
		b, err := os.ReadFile(file)
		if err != nil || len(b) == 0 {
			return []string{}, err
		}
		return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
	}
	args, err := split("/proc/self/cmdline")
	var env []string
	if err == nil {
		env, err = split("/proc/self/environ")
	}
	var b []byte
	if err == nil {
		b, err = json.Marshal(map[string][]string{"args": args, "env": env})
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(filepath.Dir(os.Args[0]), "report.json"), b, 0o600)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	return 0
}

func testState() specs.State {
	return specs.State{
		Version:     specs.Version,
		ID:          "hooks-test",
		Status:      specs.StateCreating,
		Pid:         4242,
		Bundle:      "/run/bundles/hooks-test",
		Annotations: map[string]string{"com.example.key": "value"},
	}
}

// shHook runs script with /bin/sh -c; the script gets no environment.
func shHook(script string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
}

func seconds(n int) *int { return &n }

func TestStateOnStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "state.json")
	st := testState()
	if err := Run(CreateRuntime, []specs.Hook{shHook("cat > " + out)}, st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got specs.State
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("stdin is not state JSON: %v: %q", err, b)
	}
	if !reflect.DeepEqual(got, st) {
		t.Errorf("state on stdin = %+v, want %+v", got, st)
	}
	// The field names are the spec's, not Go's.
	for _, key := range []string{`"ociVersion"`, `"id"`, `"status":"creating"`, `"pid":4242`, `"bundle"`, `"annotations"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("state JSON %s lacks %s", b, key)
		}
	}
}

// readReport runs the report hook (the test binary under reportHookName) and
// returns the argv and environment it saw.
func readReport(t *testing.T, h func(path string) specs.Hook) (args, env []string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, reportHookName)
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	if err := Run(Poststart, []specs.Hook{h(link)}, testState()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatalf("hook did not report (argv[0] not its path?): %v", err)
	}
	var r map[string][]string
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r["args"], r["env"]
}

func TestArgsAndEnvPassedExactly(t *testing.T) {
	t.Setenv("NOOK_HOOKS_TEST_LEAK", "must not reach the hook")
	// argv[0] is args[0] even when it is not the path (execve semantics); a
	// duplicate env name is passed as given, not deduplicated.
	wantArgs := []string{"/custom/argv0", "two words", "", "--flag=x"}
	wantEnv := []string{"A=1", "B=with space", "A=2", "EMPTY="}
	var link string
	args, env := readReport(t, func(path string) specs.Hook {
		link = path
		return specs.Hook{Path: path, Args: append([]string{filepath.Join(filepath.Dir(path), reportHookName)}, wantArgs[1:]...), Env: wantEnv}
	})
	wantArgs[0] = link
	if !slices.Equal(args, wantArgs) {
		t.Errorf("argv = %q, want %q", args, wantArgs)
	}
	if !slices.Equal(env, wantEnv) {
		t.Errorf("environ = %q, want exactly %q", env, wantEnv)
	}
}

func TestArgv0DefaultsToPathAndEnvToEmpty(t *testing.T) {
	t.Setenv("NOOK_HOOKS_TEST_LEAK", "must not reach the hook")
	var link string
	args, env := readReport(t, func(path string) specs.Hook {
		link = path
		return specs.Hook{Path: path}
	})
	if !slices.Equal(args, []string{link}) {
		t.Errorf("argv = %q, want [%q]", args, link)
	}
	if len(env) != 0 {
		t.Errorf("environ = %q, want empty (the runtime's own must not leak)", env)
	}
}

func TestArgv0IsArgsZero(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cmdline")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"not-sh", "-c", "cat /proc/$$/cmdline > " + out, "x"}}
	if err := Run(CreateRuntime, []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if !slices.Equal(got, h.Args) {
		t.Errorf("cmdline = %q, want %q", got, h.Args)
	}
}

func TestFailingHookErrorNamesKindIndexPathAndStderr(t *testing.T) {
	hooks := []specs.Hook{
		shHook("exit 0"),
		shHook("echo 'some progress' ; echo 'cannot attach eth0:' >&2; echo 'device busy' >&2; exit 3"),
	}
	err := Run(CreateRuntime, hooks, testState())
	want := "createRuntime hook #1 (/bin/sh): exit status 3: cannot attach eth0:; device busy (stdout: some progress)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func TestKilledHookErrorNamesSignal(t *testing.T) {
	err := Run(Poststart, []specs.Hook{shHook("kill -SEGV $$")}, testState())
	want := "poststart hook #0 (/bin/sh): killed by signal SIGSEGV"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestNonExistentPath(t *testing.T) {
	err := Run(StartContainer, []specs.Hook{{Path: "/nonexistent/nook-hook"}}, testState())
	want := "startContainer hook #0 (/nonexistent/nook-hook): cannot execute: no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestHooksRunInOrderAndStopAtFirstFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	appendHook := func(s string) specs.Hook { return shHook("echo " + s + " >> " + log) }

	if err := Run(CreateContainer, []specs.Hook{appendHook("a"), appendHook("b"), appendHook("c")}, testState()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(log); string(b) != "a\nb\nc\n" {
		t.Fatalf("order: log = %q, want a b c", b)
	}

	os.Remove(log)
	err := Run(CreateContainer, []specs.Hook{appendHook("a"), shHook("exit 1"), appendHook("c")}, testState())
	if err == nil || !strings.HasPrefix(err.Error(), "createContainer hook #1 ") {
		t.Fatalf("error = %v, want hook #1 to fail", err)
	}
	if b, _ := os.ReadFile(log); string(b) != "a\n" {
		t.Errorf("log = %q: hooks after the failing one must not run", b)
	}
}

func TestRunAllRunsEveryHook(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	err := RunAll(Poststop, []specs.Hook{
		shHook("echo first >&2; exit 1"),
		shHook("echo second >> " + log),
		shHook("exit 2"),
	}, testState())
	if b, _ := os.ReadFile(log); string(b) != "second\n" {
		t.Errorf("log = %q: the hook after a failing poststop hook must run", b)
	}
	if err == nil {
		t.Fatal("no error for failing poststop hooks")
	}
	for _, want := range []string{"poststop hook #0 (/bin/sh): exit status 1: first", "poststop hook #2 (/bin/sh): exit status 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the ")" that closes the command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestTimeoutKillsHookAndItsChildren(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	// The shell forks sleep and waits for it: both must be killed.
	h := shHook("sleep 10 & echo $! > " + pids + "; echo $$ >> " + pids + "; echo started >&2; wait")
	h.Timeout = seconds(1)

	begin := time.Now()
	err := Run(CreateRuntime, []specs.Hook{h}, testState())
	elapsed := time.Since(begin)

	if err == nil || !errors.Is(err, ErrTimeout) {
		t.Fatalf("error = %v, want a timeout", err)
	}
	want := "createRuntime hook #0 (/bin/sh): timed out after 1s (killed with its process group): started"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if elapsed < time.Second || elapsed > 2*time.Second {
		t.Errorf("Run returned after %v, want about 1s", elapsed)
	}

	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		t.Fatalf("pids file = %q", b)
	}
	sleepPid, _ := strconv.Atoi(fields[0])
	shPid, _ := strconv.Atoi(fields[1])
	// The hook itself was reaped by Run: not even a zombie remains.
	if _, err := os.Stat("/proc/" + fields[1]); err == nil {
		t.Errorf("hook process %d still exists after Run returned", shPid)
	}
	// Its child is killed; its zombie is reaped by whoever inherited it.
	deadline := time.Now().Add(2 * time.Second)
	for alive(sleepPid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(sleepPid) {
		unix.Kill(sleepPid, unix.SIGKILL)
		t.Errorf("the hook's child %d survived the timeout", sleepPid)
	}
}

// A stopped context (`nook run` got SIGTERM) kills the running hook with
// its children at once, runs no further hook, and says why.
func TestRunContextStopKillsHookAndItsChildren(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	never := filepath.Join(dir, "never")
	first := shHook("sleep 100 & echo $! > " + pids + "; wait")
	second := shHook("touch " + never)
	stop := errors.New("interrupted by SIGTERM")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		for {
			if b, err := os.ReadFile(pids); err == nil && len(b) > 0 {
				cancel(stop)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	begin := time.Now()
	err := RunContext(ctx, CreateRuntime, []specs.Hook{first, second}, testState())
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("RunContext returned %v after it was started", elapsed)
	}
	want := "createRuntime hook #0 (/bin/sh): killed with its process group: interrupted by SIGTERM"
	if err == nil || err.Error() != want || !errors.Is(err, stop) {
		t.Fatalf("error = %v, want %q wrapping the cause", err, want)
	}
	if _, err := os.Stat(never); err == nil {
		t.Errorf("the second hook ran after the stop")
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	sleepPid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(sleepPid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(sleepPid) {
		unix.Kill(sleepPid, unix.SIGKILL)
		t.Errorf("the hook's child %d survived the stop", sleepPid)
	}
}

func TestNoTimeoutWhenHookIsQuick(t *testing.T) {
	h := shHook("exit 0")
	h.Timeout = seconds(5)
	begin := time.Now()
	if err := Run(Poststart, []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("a quick hook with a timeout took %v", d)
	}
}

func TestInvalidTimeoutIsAnError(t *testing.T) {
	h := shHook("exit 0")
	h.Timeout = seconds(0)
	err := Run(Poststart, []specs.Hook{h}, testState())
	if err == nil || err.Error() != "poststart hook #0 (/bin/sh): timeout 0 must be greater than zero" {
		t.Fatalf("error = %v", err)
	}
}

func TestNoFdLeaksIntoHook(t *testing.T) {
	// An inherited fd without FD_CLOEXEC, as --preserve-fds or LISTEN_FDS
	// leave in nook: it must not reach the hook, and must be restored after.
	fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	// ls runs in a child and lists the fds of $$, the hook shell. No
	// redirection: dash would keep a saved copy of fd 1 open meanwhile. The
	// hook fails on purpose so that its stdout shows in the error.
	err = Run(CreateRuntime, []specs.Hook{shHook("ls /proc/$$/fd; exit 1")}, testState())
	want := "createRuntime hook #0 (/bin/sh): exit status 1: (stdout: 0; 1; 2)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s (fd %d must not reach the hook)", err, want, fd)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC != 0 {
		t.Errorf("inherited fd %d: flags %#x, %v: FD_CLOEXEC was not restored", fd, flags, err)
	}
}

func TestHookThatIgnoresLargeStdin(t *testing.T) {
	st := testState()
	// Far beyond a pipe's buffer: the writer must not block the runtime.
	st.Annotations["big"] = strings.Repeat("x", 1<<20)
	if err := Run(Poststart, []specs.Hook{shHook("exit 0")}, st); err != nil {
		t.Fatal(err)
	}
}

func TestBackgroundedChildDoesNotHangRun(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The background sleep keeps the hook's stdout and stderr open.
	h := shHook("sleep 5 & echo $! > " + pidFile)
	begin := time.Now()
	err := Run(Poststart, []specs.Hook{h}, testState())
	elapsed := time.Since(begin)
	if b, rerr := os.ReadFile(pidFile); rerr == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > time.Second {
		t.Errorf("Run waited %v for a background child's pipes", elapsed)
	}
}

func TestNoHooksIsNoOp(t *testing.T) {
	if err := Run(Prestart, nil, testState()); err != nil {
		t.Error(err)
	}
	if err := RunAll(Poststop, nil, testState()); err != nil {
		t.Error(err)
	}
}

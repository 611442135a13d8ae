package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// The machinery (bundles, running nook, the leftover checks) is the shared
// one of tests/harness; what is here are this package's short names for it
// and the helpers only these tests use.

// env is one test's world (harness.Env: its own temp dir holding its
// --root, bundles and command outputs).
type env struct {
	*harness.Env
	// t is the test as the *testing.T the helpers take (Env.T is a
	// testing.TB).
	t *testing.T
}

type (
	result  = harness.Result  // one finished command
	specMod = harness.SpecMod // edits a bundle's config before it is written
	// stateOut is `nook state` output.
	stateOut = harness.State
	// procID names a process for good: a pid plus its start time.
	procID = harness.ProcID
)

// newEnv skips without root or busybox, marks the test parallel and
// registers the leftover check.
func newEnv(t *testing.T) *env {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	t.Parallel()
	return &env{Env: suite.NewEnv(t), t: t}
}

func (e *env) next() int64 { return e.Next() }

// id returns a container id unique on the machine.
func (e *env) id() string { return e.ID() }

func args(a ...string) specMod { return harness.Args(a...) }

// sh runs a shell script as the container process.
func sh(script string) specMod { return harness.Sh(script) }

// withoutNamespace drops a namespace type from linux.namespaces.
func withoutNamespace(t specs.LinuxNamespaceType) specMod { return harness.WithoutNamespace(t) }

// newSpec returns a fresh copy of the base config (`nook spec`, terminal
// false).
func newSpec() *specs.Spec { return suite.NewSpec() }

// bundle makes a bundle dir with its own busybox rootfs (hard links to the
// master's files) and a config.json built from `nook spec` plus mods.
func (e *env) bundle(mods ...specMod) string { e.t.Helper(); return e.Bundle(mods...) }

func (e *env) writeConfig(bundle string, s *specs.Spec) { e.t.Helper(); e.WriteConfig(bundle, s) }

// ---------------------------------------------------------------------------
// Running nook

// nook runs nook with this test's --root.
func (e *env) nook(a ...string) result { return e.Nook(a...) }

// nookExtra passes extra fds (3, 4, …) to nook.
func (e *env) nookExtra(extra []*os.File, a ...string) result {
	return e.NookOpts(harness.Opts{Extra: extra}, a...)
}

// nookGlobal runs nook with exactly the arguments full (no --root added).
func (e *env) nookGlobal(full []string, extra []*os.File) result {
	return e.NookOpts(harness.Opts{Extra: extra, NoRoot: true}, full...)
}

func readString(path string) string { return harness.ReadString(path) }

// ok fails the test unless r exited 0.
func (e *env) ok(r result) result { e.t.Helper(); return e.OK(r) }

// run runs a container in the foreground and returns the finished command.
func (e *env) run(mods ...specMod) result {
	e.t.Helper()
	b := e.bundle(mods...)
	return e.nook("run", "--bundle", b, e.id())
}

// runOK runs a container that must exit 0 and returns its stdout.
func (e *env) runOK(mods ...specMod) string {
	e.t.Helper()
	return e.ok(e.run(mods...)).Stdout
}

// create creates a container from bundle and registers its init.
func (e *env) create(bundle, id string, extra ...string) (int, result) {
	e.t.Helper()
	return e.Create(bundle, id, extra...)
}

// createStarted creates and starts a container running mods' process.
func (e *env) createStarted(mods ...specMod) (id string, pid int, out result) {
	e.t.Helper()
	id = e.id()
	pid, out = e.create(e.bundle(mods...), id)
	e.ok(e.nook("start", id))
	return id, pid, out
}

// register remembers a container init so the leftover check can verify it
// is gone and reap it.
func (e *env) register(pid int) { e.Register(pid) }

func (e *env) state(id string) stateOut { e.t.Helper(); return e.State(id) }

// waitStatus polls `nook state` until the container reports want.
func (e *env) waitStatus(id, want string) stateOut { e.t.Helper(); return e.WaitStatus(id, want) }

// waitFile waits until path contains want (a container's output).
func (e *env) waitFile(path, want string) string { e.t.Helper(); return e.WaitFile(path, want) }

// expectFail checks the bad-input contract: exit 1, exactly one non-empty
// line on stderr, containing every one of wants.
func (e *env) expectFail(r result, wants ...string) {
	e.t.Helper()
	if r.Code != 1 {
		e.t.Errorf("want exit 1, got: %s", r)
		return
	}
	lines := nonEmptyLines(r.Stderr)
	if len(lines) != 1 {
		e.t.Errorf("want one error line on stderr, got %d: %s", len(lines), r)
	}
	for _, w := range wants {
		if !strings.Contains(r.Stderr, w) {
			e.t.Errorf("stderr does not mention %q: %s", w, r)
		}
	}
}

func nonEmptyLines(s string) []string { return harness.NonEmptyLines(s) }

// ---------------------------------------------------------------------------
// Small parsers

// statusField returns a field of /proc/<pid>/status text.
func statusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

var capNumbers = map[string]int{
	"CAP_CHOWN":            unix.CAP_CHOWN,
	"CAP_KILL":             unix.CAP_KILL,
	"CAP_SETGID":           unix.CAP_SETGID,
	"CAP_SETUID":           unix.CAP_SETUID,
	"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE,
	"CAP_SYS_RESOURCE":     unix.CAP_SYS_RESOURCE,
	"CAP_AUDIT_WRITE":      unix.CAP_AUDIT_WRITE,
}

func capMask(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		c, ok := capNumbers[n]
		if !ok {
			panic("unknown capability " + n)
		}
		m |= 1 << uint(c)
	}
	return m
}

func hexMask(s string) uint64 {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return ^uint64(0)
	}
	return v
}

// The orphan reaper must never take a child an exec.Cmd waits for (CI once
// lost a test's `go build` to it).
func TestReaperLeavesWaitedChildren(t *testing.T) {
	cmd := exec.Command("true")
	must(t, cmd.Start())
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := harness.ReadStat(cmd.Process.Pid)
		must(t, err)
		if st.State == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d never exited", cmd.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	harness.ReapOrphans()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait for a child the reaper saw as a zombie: %v", err)
	}
}

// buildStaticGo builds the one-file Go program src (package main, standard
// library only) as a static binary named name in the env's directory, for a
// container to run.
func buildStaticGo(t *testing.T, e *env, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	bin := filepath.Join(e.Dir, name)
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// nookOnCgroup2 runs nook with this env's --root inside a private mount
// namespace whose /sys/fs/cgroup is the cgroup2 hierarchy, as on a pure v2
// host; it skips the test where that cannot be made. Nothing is made on
// the host's cgroup tmpfs: the namespace only unmounts and mounts.
func (e *env) nookOnCgroup2(args ...string) result {
	e.t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		e.t.Skip("unshare (util-linux) is missing")
	}
	script := `mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"`
	cmd := exec.Command(unshare, append([]string{"-m", "sh", "-c", script, "sh", suite.Nook, "--root", e.Root}, args...)...)
	return harness.RunCaptured(e.Dir, e.Next(), cmd, 30*time.Second)
}

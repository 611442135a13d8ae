package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/security/harness"
)

// env is one test's world: its own temp dir holding its --root, bundles and
// command outputs. Everything a test makes lives under dir, so leftovers can
// be recognised by that path.
type env struct {
	t    *testing.T
	dir  string
	root string // --root
	seq  atomic.Int64
	// env is added to nook's environment (the test's own is inherited).
	env []string

	mu   sync.Mutex
	pids []procID // container inits this test saw
}

// procID names a process for good: a pid plus its start time.
type procID struct {
	pid   int
	start uint64
}

var (
	idSeq atomic.Int64

	// known holds every container init any test registered, so that the
	// zombie check can tell a container's init (the caller's to reap, as
	// a subreaper) from a process nook left behind.
	known sync.Map // procID -> struct{}

	testDirsMu sync.Mutex
	testDirs   []string // every env.dir, for the final global check
)

// newEnv skips without root or busybox, marks the test parallel and
// registers the leftover check.
func newEnv(t *testing.T) *env {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	t.Parallel()
	e := &env{t: t, dir: t.TempDir()}
	e.root = filepath.Join(e.dir, "state")
	testDirsMu.Lock()
	testDirs = append(testDirs, e.dir)
	testDirsMu.Unlock()
	// Registered after TempDir's own cleanup, so it runs before it.
	t.Cleanup(e.checkLeftovers)
	return e
}

func (e *env) next() int64 { return e.seq.Add(1) }

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.+-]+`)

// id returns a container id unique in the whole run.
func (e *env) id() string {
	name := idUnsafe.ReplaceAllString(strings.TrimPrefix(e.t.Name(), "Test"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s-%d", strings.ToLower(name), idSeq.Add(1))
}

// ---------------------------------------------------------------------------
// Bundles

// specMod edits a bundle's config before it is written.
type specMod func(*specs.Spec)

func args(a ...string) specMod { return func(s *specs.Spec) { s.Process.Args = a } }

// sh runs a shell script as the container process.
func sh(script string) specMod { return args("sh", "-c", script) }

func newSpec() *specs.Spec {
	b, err := json.Marshal(&baseSpec)
	if err != nil {
		panic(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		panic(err)
	}
	return &s
}

// bundle makes a bundle dir with its own busybox rootfs and a config.json
// built from `nook spec` plus mods.
func (e *env) bundle(mods ...specMod) string {
	e.t.Helper()
	b := filepath.Join(e.dir, fmt.Sprintf("bundle%d", e.next()))
	if err := os.Mkdir(b, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := cloneTree(masterRootfs, filepath.Join(b, "rootfs")); err != nil {
		e.t.Fatalf("clone rootfs: %v", err)
	}
	s := newSpec()
	for _, m := range mods {
		m(s)
	}
	e.writeConfig(b, s)
	return b
}

func (e *env) writeConfig(bundle string, s *specs.Spec) {
	e.t.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// cloneTree copies a directory tree: directories made, symlinks re-created,
// regular files hard-linked (copied if linking fails).
func cloneTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm()|info.Mode()&fs.ModeSticky)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			if os.Link(p, target) == nil {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
	})
}

// ---------------------------------------------------------------------------
// Running nook

// result is one finished nook command. Output goes through files, never
// pipes: a container created by the command inherits its stdout and stderr,
// and a pipe would keep Wait waiting for the container.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	outPath        string // the container's stdout for create/run
}

func (r result) String() string {
	return fmt.Sprintf("nook %s: exit %d\nstdout: %q\nstderr: %q", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// nook runs nook with this test's --root.
func (e *env) nook(a ...string) result { return e.nookExtra(nil, a...) }

// nookExtra passes extra fds (3, 4, …) to nook.
func (e *env) nookExtra(extra []*os.File, a ...string) result {
	return e.nookGlobal(append([]string{"--root", e.root}, a...), extra)
}

func (e *env) nookGlobal(full []string, extra []*os.File) result {
	cmd := exec.Command(nookBin, full...)
	cmd.ExtraFiles = extra
	if len(e.env) > 0 {
		cmd.Env = append(os.Environ(), e.env...)
	}
	return runCaptured(e.dir, e.next(), cmd, 30*time.Second)
}

// captured is a command whose stdout and stderr go to files (see result),
// killed if it outlives its limit.
type captured struct {
	cmd      *exec.Cmd
	res      result
	errPath  string
	limit    time.Duration
	timer    *time.Timer
	timedOut atomic.Bool
}

// startCaptured starts cmd with its output in files under dir, numbered n.
func startCaptured(dir string, n int64, cmd *exec.Cmd, limit time.Duration) (*captured, error) {
	c := &captured{cmd: cmd, limit: limit, errPath: filepath.Join(dir, fmt.Sprintf("err%d", n)),
		res: result{args: cmd.Args[1:], outPath: filepath.Join(dir, fmt.Sprintf("out%d", n))}}
	out, err := os.Create(c.res.outPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	errf, err := os.Create(c.errPath)
	if err != nil {
		return nil, err
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.timer = time.AfterFunc(limit, func() {
		c.timedOut.Store(true)
		cmd.Process.Kill()
	})
	return c, nil
}

// wait waits for the command. Its code is the exit status, 128+signal for a
// signal, or -1 when the limit killed it or it could not be waited for.
func (c *captured) wait() result {
	err := c.cmd.Wait()
	c.timer.Stop()
	r := c.res
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(unix.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
			r.stderr = fmt.Sprintf("(test harness: killed by %v)\n", ws.Signal())
		}
	default:
		r.code = -1
		r.stderr = "(test harness: " + err.Error() + ")\n"
	}
	if c.timedOut.Load() {
		r.code = -1
		r.stderr = fmt.Sprintf("(test harness: killed after %v)\n", c.limit)
	}
	r.stdout = readString(r.outPath)
	r.stderr += readString(c.errPath)
	return r
}

// runCaptured starts cmd as startCaptured does and waits for it.
func runCaptured(dir string, n int64, cmd *exec.Cmd, limit time.Duration) result {
	c, err := startCaptured(dir, n, cmd, limit)
	if err != nil {
		return result{args: cmd.Args[1:], code: -1, stderr: "(test harness: " + err.Error() + ")"}
	}
	return c.wait()
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// ok fails the test unless r exited 0.
func (e *env) ok(r result) result {
	e.t.Helper()
	if r.code != 0 {
		e.t.Fatalf("unexpected failure: %s", r)
	}
	return r
}

// run runs a container in the foreground and returns the finished command.
func (e *env) run(mods ...specMod) result {
	e.t.Helper()
	b := e.bundle(mods...)
	return e.nook("run", "--bundle", b, e.id())
}

// runOK runs a container that must exit 0 and returns its stdout.
func (e *env) runOK(mods ...specMod) string {
	e.t.Helper()
	return e.ok(e.run(mods...)).stdout
}

// create creates a container from bundle and registers its init.
func (e *env) create(bundle, id string, extra ...string) (int, result) {
	e.t.Helper()
	pidFile := filepath.Join(e.dir, fmt.Sprintf("pid%d", e.next()))
	a := append([]string{"create", "--bundle", bundle, "--pid-file", pidFile}, extra...)
	r := e.nook(append(a, id)...)
	if r.code != 0 {
		e.t.Fatalf("create: %s", r)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		e.t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		e.t.Fatalf("pid file holds %q: %v", b, err)
	}
	e.register(pid)
	return pid, r
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
func (e *env) register(pid int) {
	st, err := readStat(pid)
	if err != nil {
		return
	}
	p := procID{pid, st.start}
	e.mu.Lock()
	e.pids = append(e.pids, p)
	e.mu.Unlock()
	known.Store(p, struct{}{})
}

// stateOut is `nook state` output.
type stateOut struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations"`
	Owner       string            `json:"owner"`
}

func (e *env) state(id string) stateOut {
	e.t.Helper()
	r := e.ok(e.nook("state", id))
	var s stateOut
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("state output is not JSON: %v\n%s", err, r)
	}
	return s
}

// waitStatus polls `nook state` until the container reports want.
func (e *env) waitStatus(id, want string) stateOut {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.state(id)
		if s.Status == want {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: status %q, still not %q after 10s", id, s.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFile waits until path contains want (a container's output).
func (e *env) waitFile(path, want string) string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := readString(path)
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: no %q after 10s; it holds %q", path, want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectFail checks the bad-input contract: exit 1, exactly one non-empty
// line on stderr, containing every one of wants.
func (e *env) expectFail(r result, wants ...string) {
	e.t.Helper()
	if r.code != 1 {
		e.t.Errorf("want exit 1, got: %s", r)
		return
	}
	lines := nonEmptyLines(r.stderr)
	if len(lines) != 1 {
		e.t.Errorf("want one error line on stderr, got %d: %s", len(lines), r)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			e.t.Errorf("stderr does not mention %q: %s", w, r)
		}
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// /proc helpers

type procStat struct {
	state byte
	ppid  int
	start uint64
	comm  string
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return procStat{}, fmt.Errorf("bad stat %q", b)
	}
	f := strings.Fields(string(b[close+1:]))
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("bad stat %q", b)
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return procStat{state: f[0][0], ppid: ppid, start: start, comm: string(b[open+1 : close])}, nil
}

// alive: the process exists, is not a zombie and is the one recorded.
func (p procID) alive() bool {
	st, err := readStat(p.pid)
	return err == nil && st.start == p.start && st.state != 'Z' && st.state != 'X'
}

// reap collects p if it is a zombie child of ours.
func (p procID) reap() {
	st, err := readStat(p.pid)
	if err == nil && st.start == p.start && st.state == 'Z' && st.ppid == os.Getpid() {
		var ws unix.WaitStatus
		unix.Wait4(p.pid, &ws, unix.WNOHANG, nil)
	}
}

func allPids() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range entries {
		if pid, err := strconv.Atoi(d.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procRefs lists how a process refers to paths for which match is true:
// its command line, exe, root, cwd or open fds.
func procRefs(pid int, match func(string) bool) []string {
	base := "/proc/" + strconv.Itoa(pid)
	var refs []string
	if b, err := os.ReadFile(base + "/cmdline"); err == nil {
		if c := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " "); match(c) {
			refs = append(refs, "cmdline "+c)
		}
	}
	for _, l := range []string{"exe", "root", "cwd"} {
		if t, err := os.Readlink(base + "/" + l); err == nil && match(t) {
			refs = append(refs, l+" -> "+t)
		}
	}
	if fds, err := os.ReadDir(base + "/fd"); err == nil {
		for _, fd := range fds {
			if t, err := os.Readlink(base + "/fd/" + fd.Name()); err == nil && match(t) {
				refs = append(refs, "fd "+fd.Name()+" -> "+t)
			}
		}
	}
	return refs
}

// processesReferring lists the processes (other than this one) that refer
// to a matching path, and the zombies whose parent does.
func processesReferring(match func(string) bool) map[int]string {
	found := map[int]string{}
	self := os.Getpid()
	for _, pid := range allPids() {
		if pid == self {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		if st.state == 'Z' {
			if st.ppid == self {
				continue // ours to reap, see reapOrphans
			}
			parent, _ := readStat(st.ppid)
			if refs := procRefs(st.ppid, match); len(refs) > 0 {
				found[pid] = fmt.Sprintf("zombie pid %d (%s) not reaped by its parent %d (%s): %s",
					pid, st.comm, st.ppid, parent.comm, strings.Join(refs, "; "))
			}
			continue
		}
		if refs := procRefs(pid, match); len(refs) > 0 {
			found[pid] = fmt.Sprintf("pid %d (%s, state %c): %s", pid, st.comm, st.state, strings.Join(refs, "; "))
		}
	}
	return found
}

// reapOrphans reaps our zombie children that no exec.Cmd waits for. As a
// subreaper this process inherits the container inits (and anything a
// killed nook orphans); reaping them is the caller's job, as it is a
// shim's. It returns what it reaped that no test registered.
func reapOrphans() []string {
	self := os.Getpid()
	type zombie struct {
		pid int
		st  procStat
	}
	var zombies []zombie
	for _, pid := range allPids() {
		st, err := readStat(pid)
		if err != nil || st.state != 'Z' || st.ppid != self {
			continue
		}
		zombies = append(zombies, zombie{pid, st})
	}
	// A child some exec.Cmd (in this package or a library) will wait for
	// has a pidfd held by os.Process from the moment it is cloned until it
	// is reaped. Read them after the zombie scan, so none can be missed.
	waited := harness.HeldPidfds()
	var out []string
	for _, z := range zombies {
		pid, st := z.pid, z.st
		if waited[pid] {
			continue
		}
		if _, ok := known.Load(procID{pid, st.start}); !ok {
			out = append(out, fmt.Sprintf("pid %d (%s)", pid, st.comm))
		}
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
	return out
}

func mountsReferring(match func(string) bool) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"read mountinfo: " + err.Error()}
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && match(l) {
			out = append(out, l)
		}
	}
	return out
}

func under(dir string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, dir+"/") || strings.HasSuffix(s, dir) }
}

// checkLeftovers asserts the test left nothing behind, then cleans up what
// it found so one failure does not cascade.
func (e *env) checkLeftovers() {
	t := e.t
	// State directories.
	if entries, err := os.ReadDir(e.root); err == nil {
		for _, d := range entries {
			if d.Name() == ".seccomp-cache" {
				continue // compiled filters, kept on purpose
			}
			t.Errorf("left behind: state dir %s", filepath.Join(e.root, d.Name()))
			e.nook("delete", "--force", d.Name())
			os.RemoveAll(filepath.Join(e.root, d.Name()))
		}
	}
	// Container inits this test saw: gone (and reaped if ours).
	e.mu.Lock()
	pids := append([]procID(nil), e.pids...)
	e.mu.Unlock()
	for _, p := range pids {
		if waitDead(p, 2*time.Second) {
			p.reap()
			continue
		}
		t.Errorf("left behind: container init pid %d still running", p.pid)
		unix.Kill(p.pid, unix.SIGKILL)
		waitDead(p, 2*time.Second)
		p.reap()
	}
	// Any process referring to this test's files.
	match := under(e.dir)
	var procs map[int]string
	for i := 0; i < 20; i++ {
		if procs = processesReferring(match); len(procs) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for pid, desc := range procs {
		t.Errorf("left behind: process %s", desc)
		unix.Kill(pid, unix.SIGKILL)
	}
	if orphans := reapOrphans(); len(orphans) > 0 {
		t.Logf("reaped orphaned children (inherited as subreaper): %s", strings.Join(orphans, ", "))
	}
	if mounts := mountsReferring(match); len(mounts) > 0 {
		var points []string
		for _, m := range mounts {
			if f := strings.Fields(m); len(f) > 4 {
				points = append(points, f[4])
			}
		}
		t.Errorf("left behind: %d mounts in the test's mount namespace:\n  %s", len(mounts), strings.Join(points, "\n  "))
		for _, p := range points {
			unix.Unmount(p, unix.MNT_DETACH)
		}
	}
}

func waitDead(p procID, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// globalLeftovers is the final sweep after every test: no process of our
// nook binary or touching any test's files, no zombie, no mount.
func globalLeftovers() []string {
	testDirsMu.Lock()
	dirs := append([]string{workDir}, testDirs...)
	testDirsMu.Unlock()
	match := func(s string) bool {
		for _, d := range dirs {
			if under(d)(s) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, desc := range processesReferring(match) {
		out = append(out, "process "+desc)
	}
	// Processes named nook that are ours: children of this process.
	self := os.Getpid()
	for _, pid := range allPids() {
		if st, err := readStat(pid); err == nil && st.comm == "nook" && st.ppid == self {
			out = append(out, fmt.Sprintf("process pid %d named nook, child of the test process", pid))
		}
	}
	reapOrphans()
	for _, m := range mountsReferring(match) {
		out = append(out, "mount "+m)
	}
	return out
}

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
		st, err := readStat(cmd.Process.Pid)
		must(t, err)
		if st.state == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d never exited", cmd.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	reapOrphans()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait for a child the reaper saw as a zombie: %v", err)
	}
}

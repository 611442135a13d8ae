package integration

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// Checkpoint and restore with CRIU. The CRIU is the one `make deps`
// provides (.build/criu/criu), NOOK_CRIU, or the system's, whichever first
// passes `criu check`; without one these tests skip saying why.
//
// A checkpointed container's stdio must be pipes (or /dev/null): CRIU
// cannot dump a process holding a regular file of a mount outside the
// container (see TestCheckpointFailureNamesCriuError). The counters here
// print to a pipe the test reads, and a restore hands its own stdout pipe in
// place of the old one.

// counterScript prints 0, 1, 2, ... every 0.1 s.
const counterScript = `i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done`

var criuOnce = sync.OnceValues(findCriu)

// findCriu returns the first CRIU that passes `criu check`, or why there
// is none.
func findCriu() (path, why string) {
	var candidates []string
	if p := os.Getenv("NOOK_CRIU"); p != "" {
		candidates = append(candidates, p)
	}
	if repo, err := harness.RepoRoot(); err == nil {
		candidates = append(candidates, filepath.Join(repo, ".build", "criu", "criu"))
	}
	if p, err := exec.LookPath("criu"); err == nil {
		candidates = append(candidates, p)
	}
	var failed []string
	for _, c := range candidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		out, err := exec.Command(c, "check").CombinedOutput()
		if err == nil {
			return c, ""
		}
		lines := nonEmptyLines(string(out))
		last := ""
		if len(lines) > 0 {
			last = lines[len(lines)-1]
		}
		failed = append(failed, fmt.Sprintf("%s check: %v (%s)", c, err, last))
	}
	if len(failed) == 0 {
		return "", "no CRIU found (NOOK_CRIU unset, no .build/criu/criu: run `make deps`, no criu in PATH)"
	}
	return "", "no working CRIU: " + strings.Join(failed, "; ")
}

// needCriu returns the CRIU to use, or skips the test naming what is missing.
func (e *env) needCriu() string {
	e.t.Helper()
	path, why := criuOnce()
	if path == "" {
		e.t.Skip(why)
	}
	return path
}

// criuNook runs nook with --criu.
func (e *env) criuNook(criu string, a ...string) result {
	return e.nook(append([]string{"--criu", criu}, a...)...)
}

// outPipe is a pipe given to a container as stdout and stderr; the test
// reads the numbers it prints.
type outPipe struct {
	t    *testing.T
	r, w *os.File
	mu   sync.Mutex
	nums []int
	text strings.Builder
}

func newOutPipe(t *testing.T) *outPipe {
	t.Helper()
	r, w, err := os.Pipe()
	must(t, err)
	p := &outPipe{t: t, r: r, w: w}
	go p.read()
	t.Cleanup(func() { r.Close(); w.Close() })
	return p
}

func (p *outPipe) read() {
	sc := bufio.NewScanner(p.r)
	for sc.Scan() {
		p.mu.Lock()
		p.text.WriteString(sc.Text() + "\n")
		if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
			p.nums = append(p.nums, n)
		}
		p.mu.Unlock()
	}
}

// numbers is what was read so far.
func (p *outPipe) numbers() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.nums...)
}

func (p *outPipe) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.text.String()
}

// waitCount waits until at least n numbers were read and returns them.
func (p *outPipe) waitCount(n int) []int {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if nums := p.numbers(); len(nums) >= n {
			return nums
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the container printed %d numbers, not %d, in 10s; its output: %q", len(p.numbers()), n, p.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nookPiped runs nook with stdin /dev/null and stdout and stderr the pipe
// (what a container it creates or restores keeps). nook's own messages
// land in the pipe too; they are part of the failure report.
func (e *env) nookPiped(p *outPipe, a ...string) result {
	e.t.Helper()
	full := append([]string{"--root", e.Root}, a...)
	cmd := exec.Command(suite.Nook, full...)
	cmd.Stdout, cmd.Stderr = p.w, p.w
	err := cmd.Run()
	r := result{Args: full}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		r.Code = -1
	}
	if r.Code != 0 {
		time.Sleep(100 * time.Millisecond) // let the reader catch up
		r.Stderr = p.String()
	}
	return r
}

// runCounter runs a detached counter container (with mods) on a pipe and
// waits for its first numbers.
func (e *env) runCounter(id string, mods ...specMod) (bundle string, pid int, out *outPipe) {
	e.t.Helper()
	bundle = e.bundle(append([]specMod{sh(counterScript)}, mods...)...)
	out = newOutPipe(e.t)
	e.ok(e.nookPiped(out, "run", "-d", "--bundle", bundle, id))
	// Whatever a failing test leaves (the tests delete what they make).
	e.t.Cleanup(func() { e.nook("delete", "--force", id) })
	pid = e.state(id).Pid
	e.register(pid)
	out.waitCount(3)
	return bundle, pid, out
}

// restoreDetached restores id from img on a new pipe and returns its pid
// (checked against --pid-file) and output.
func (e *env) restoreDetached(criu, img, bundle, id string, extra ...string) (int, *outPipe) {
	e.t.Helper()
	out := newOutPipe(e.t)
	pidFile := filepath.Join(e.Dir, fmt.Sprintf("restore-pid%d", e.next()))
	a := append([]string{"--criu", criu, "restore", "-d", "--image-path", img, "--bundle", bundle, "--pid-file", pidFile}, extra...)
	e.ok(e.nookPiped(out, append(a, id)...))
	st := e.state(id)
	if st.Status != "running" {
		e.t.Fatalf("restored container %s is %s, want running", id, st.Status)
	}
	e.register(st.Pid)
	if got := strings.TrimSpace(readString(pidFile)); got != strconv.Itoa(st.Pid) {
		e.t.Errorf("--pid-file holds %q, state says pid %d", got, st.Pid)
	}
	return st.Pid, out
}

// waitGoneProc waits until pid (with its start time when it was seen) has
// exited.
func (e *env) waitGoneProc(pid int, start uint64) {
	e.t.Helper()
	if !(procID{Pid: pid, Start: start}).WaitDead(5 * time.Second) {
		e.t.Fatalf("pid %d still running 5s after its container was checkpointed", pid)
	}
}

func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	st, err := harness.ReadStat(pid)
	must(t, err)
	return st.Start
}

// inCgroupOf says whether /proc/<pid>/cgroup names a cgroup ending in id.
func inCgroupOf(pid int, id string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	for _, l := range nonEmptyLines(string(b)) {
		if !strings.HasSuffix(l, "/"+id) {
			return false
		}
	}
	return true
}

// TestCheckpointRestoreCounter: a running counter is checkpointed (it is
// then gone, record and all), restored under the same id, and goes on from
// the number after the last it printed, on the restore's stdout, in the
// container's cgroup, with exec working in it and with the timer slack of
// the restore's caller.
func TestCheckpointRestoreCounter(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id := e.id()
	bundle, pid, out := e.runCounter(id)
	start := startTime(t, pid)
	img, work := filepath.Join(e.Dir, "img"), filepath.Join(e.Dir, "work")
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", img, "--work-path", work, id))
	e.waitGoneProc(pid, start)
	if r := e.nook("state", id); r.Code == 0 || !strings.Contains(r.Stderr, "does not exist") {
		t.Errorf("after checkpoint the container still exists: %s", r)
	}
	if _, err := os.Stat(filepath.Join(work, "dump.log")); err != nil {
		t.Errorf("--work-path holds no dump.log: %v", err)
	}
	before := out.numbers()
	last := before[len(before)-1]

	var newPid int
	var out2 *outPipe
	withCallerSlack(t, func() { newPid, out2 = e.restoreDetached(criu, img, bundle, id, "--work-path", work) })
	// CRIU does not restore the timer slack: the processes it restores
	// have its own, which must be nook's caller's, not nook's raised one.
	if got := strings.TrimSpace(readString(fmt.Sprintf("/proc/%d/timerslack_ns", newPid))); got != callerSlack {
		t.Errorf("restored init's timer slack is %s, want the caller's %s", got, callerSlack)
	}
	after := out2.waitCount(3)
	if after[0] != last+1 {
		t.Errorf("restored counter printed %v first; before the checkpoint it had printed up to %d", after[:3], last)
	}
	for i := 1; i < len(after); i++ {
		if after[i] != after[i-1]+1 {
			t.Errorf("restored counter does not count: %v", after)
			break
		}
	}
	if !inCgroupOf(newPid, id) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", newPid))
		t.Errorf("restored init is not in the container's cgroup:\n%s", b)
	}
	if r := e.nook("exec", id, "sh", "-c", "echo exec-ok"); r.Code != 0 || !strings.Contains(r.Stdout, "exec-ok") {
		t.Errorf("exec in the restored container: %s", r)
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestCheckpointLeaveRunningRestoreNewID: with --leave-running the container
// goes on; its checkpoint restored under a new id runs beside it, in a
// cgroup of its own, going on from where the checkpoint was taken.
func TestCheckpointLeaveRunningRestoreNewID(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id := e.id()
	bundle, pid, out := e.runCounter(id)
	img := filepath.Join(e.Dir, "img")
	e.ok(e.criuNook(criu, "checkpoint", "--leave-running", "--image-path", img, id))
	atDump := len(out.numbers())
	if st := e.state(id); st.Status != "running" || st.Pid != pid {
		t.Fatalf("after checkpoint --leave-running: status %s pid %d, want running pid %d", st.Status, st.Pid, pid)
	}
	out.waitCount(atDump + 3) // it still counts

	id2 := e.id()
	pid2, out2 := e.restoreDetached(criu, img, bundle, id2)
	if pid2 == pid {
		t.Fatalf("the restored container has the original's pid %d", pid)
	}
	got := out2.waitCount(3)
	if got[0] < atDump-1 || got[0] > atDump+1 {
		t.Errorf("restored counter started at %d; the original had printed %d numbers at the checkpoint", got[0], atDump)
	}
	if !inCgroupOf(pid2, id2) || !inCgroupOf(pid, id) {
		t.Errorf("the original (%d) and the restored (%d) container are not each in their own cgroup", pid, pid2)
	}
	for _, i := range []string{id, id2} {
		if st := e.state(i); st.Status != "running" {
			t.Errorf("container %s is %s, want running", i, st.Status)
		}
	}
	e.ok(e.nook("delete", "--force", id))
	e.ok(e.nook("delete", "--force", id2))
}

// TestRestoreForeground: without -d restore waits for the container, and
// ends with its exit status once it is killed, having removed it.
func TestRestoreForeground(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id := e.id()
	bundle, _, _ := e.runCounter(id)
	img := filepath.Join(e.Dir, "img")
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", img, id))
	run := e.nookAsync("--criu", criu, "restore", "--image-path", img, "--bundle", bundle, id)
	st := e.waitExists(id)
	e.register(st.Pid)
	e.waitFile(run.res.OutPath, "\n")
	e.ok(e.nook("kill", id, "KILL"))
	r := run.wait(t, 10*time.Second)
	if r.Code != 128+int(unix.SIGKILL) {
		t.Errorf("foreground restore of a container killed by SIGKILL: %s; want exit %d", r, 128+int(unix.SIGKILL))
	}
	if r := e.nook("state", id); r.Code == 0 {
		t.Errorf("the container outlived its foreground restore: %s", r)
	}
}

// waitExists waits (10 s) until id exists and runs.
func (e *env) waitExists(id string) stateOut {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.nook("state", id).Code != 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s does not exist 10s after its restore began", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e.waitStatus(id, "running")
}

// TestCheckpointPreDump: a pre-dump, then a final dump on top of it
// (--parent-path), restores to a running counter. Pre-dumps need the
// kernel's soft-dirty memory tracking; without it the error says so.
func TestCheckpointPreDump(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id := e.id()
	bundle, _, out := e.runCounter(id)
	pre, final := filepath.Join(e.Dir, "img", "pre"), filepath.Join(e.Dir, "img", "final")
	r := e.criuNook(criu, "checkpoint", "--pre-dump", "--image-path", pre, id)
	if r.Code != 0 {
		e.expectFail(r, "memory tracking", "--pre-dump")
		e.ok(e.nook("delete", "--force", id))
		t.Skip("pre-dump needs soft-dirty memory tracking, which this kernel lacks (criu check --feature mem_dirty_track); the error names it: " + strings.TrimSpace(r.Stderr))
	}
	if st := e.state(id); st.Status != "running" {
		t.Fatalf("after a pre-dump the container is %s, want running", st.Status)
	}
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", final, "--parent-path", "../pre", id))
	last := out.numbers()[len(out.numbers())-1]
	_, out2 := e.restoreDetached(criu, final, bundle, id)
	if got := out2.waitCount(2); got[0] != last+1 {
		t.Errorf("restored from pre-dump + dump: printed %v first, last before was %d", got[:2], last)
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestCheckpointBindMount: a bind mount is external to the checkpoint: the
// restore binds the source its bundle names, here another host directory,
// and the restored counter goes on writing there.
func TestCheckpointBindMount(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	src1, src2 := filepath.Join(e.Dir, "data1"), filepath.Join(e.Dir, "data2")
	must(t, os.Mkdir(src1, 0o755))
	must(t, os.Mkdir(src2, 0o755))
	bind := func(src string) specMod {
		return func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "rw"}})
		}
	}
	script := `i=0; while :; do echo $i > /data/count; echo $i; i=$((i+1)); sleep 0.1; done`
	id := e.id()
	bundle := e.bundle(sh(script), bind(src1))
	out := newOutPipe(t)
	e.ok(e.nookPiped(out, "run", "-d", "--bundle", bundle, id))
	e.register(e.state(id).Pid)
	out.waitCount(3)
	img := filepath.Join(e.Dir, "img")
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", img, id))
	// Empty if the checkpoint caught the counter between the shell's
	// truncation of the file and its write: any count after the restore
	// is later then.
	n1 := -1
	atCheckpoint := readString(filepath.Join(src1, "count"))
	if got := strings.TrimSpace(atCheckpoint); got != "" {
		var err error
		n1, err = strconv.Atoi(got)
		must(t, err)
	}

	// The same rootfs, the bind now from data2. Both directories hold a
	// count file (the counter may have had it open at the checkpoint:
	// CRIU reopens it by name, and refuses one whose size changed), marked
	// with as many bytes as it had, so the one written to shows.
	stale := strings.Repeat("x", len(atCheckpoint))
	for _, d := range []string{src1, src2} {
		must(t, os.WriteFile(filepath.Join(d, "count"), []byte(stale), 0o644))
	}
	s := newSpec()
	sh(script)(s)
	bind(src2)(s)
	s.Root.Path = filepath.Join(bundle, "rootfs")
	bundle2 := filepath.Join(e.Dir, "bundle-restore")
	must(t, os.Mkdir(bundle2, 0o755))
	e.writeConfig(bundle2, s)
	_, out2 := e.restoreDetached(criu, img, bundle2, id)
	out2.waitCount(3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := strings.TrimSpace(readString(filepath.Join(src2, "count")))
		if n2, err := strconv.Atoi(got); err == nil && n2 > n1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restore %s/count holds %q; the counter was at %d in %s at the checkpoint", src2, got, n1, src1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := readString(filepath.Join(src1, "count")); got != stale {
		t.Errorf("the restored container wrote to the old bind source %s: %q", src1, got)
	}
	if r := e.nook("exec", id, "sh", "-c", "grep ' /data ' /proc/self/mountinfo"); r.Code != 0 {
		t.Errorf("/data is not a mount in the restored container: %s", r)
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestCheckpointUserNamespace: a container in a user namespace (root is
// host uid 100000, its devices bound from the host) is checkpointed and
// restored with its mapping.
func TestCheckpointUserNamespace(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	id := e.id()
	bundle, _, out := e.runCounter(id, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
	})
	img := filepath.Join(e.Dir, "img")
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", img, id))
	last := out.numbers()[len(out.numbers())-1]
	pid, out2 := e.restoreDetached(criu, img, bundle, id)
	if got := out2.waitCount(2); got[0] != last+1 {
		t.Errorf("restored counter printed %v first, last before was %d", got[:2], last)
	}
	status := readString(fmt.Sprintf("/proc/%d/status", pid))
	if !strings.Contains(status, "Uid:\t100000\t100000\t100000\t100000\n") {
		t.Errorf("the restored process does not run as host uid 100000:\n%s", status)
	}
	if uidMap := readString(fmt.Sprintf("/proc/%d/uid_map", pid)); strings.Join(strings.Fields(uidMap), " ") != "0 100000 65536" {
		t.Errorf("restored uid_map %q, want 0 100000 65536", uidMap)
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestCheckpointOptions: --manage-cgroups-mode, --file-locks, --shell-job,
// --ext-unix-sk and --tcp-established reach CRIU: an established TCP
// connection inside the container cannot be dumped without
// --tcp-established (CRIU says so), and is carried over with it. The
// container joins a network namespace by path, which CRIU treats as
// external: the restore hands the same one back, connections and all.
func TestCheckpointOptions(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	netns := e.netnsHolder()
	// A server counting into a connection over loopback, the client
	// printing what it gets.
	script := `nc -l -p 5555 -e /counter.sh & sleep 0.5; nc 127.0.0.1 5555`
	id := e.id()
	bundle := e.bundle(sh(script), func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = netns
			}
		}
	})
	must(t, os.WriteFile(filepath.Join(bundle, "rootfs", "counter.sh"), []byte("#!/bin/sh\n"+counterScript+"\n"), 0o755))
	out := newOutPipe(t)
	e.ok(e.nookPiped(out, "run", "-d", "--bundle", bundle, id))
	t.Cleanup(func() { e.nook("delete", "--force", id) })
	e.register(e.state(id).Pid)
	out.waitCount(3)
	img := filepath.Join(e.Dir, "img")
	r := e.criuNook(criu, "checkpoint", "--image-path", img, id)
	e.expectFail(r, "criu failed", "tcp-established", "dump.log")
	if st := e.state(id); st.Status != "running" {
		t.Fatalf("after a failed checkpoint the container is %s, want running", st.Status)
	}
	flags := []string{"--tcp-established", "--file-locks", "--shell-job", "--ext-unix-sk", "--manage-cgroups-mode", "full"}
	e.ok(e.criuNook(criu, append(append([]string{"checkpoint", "--image-path", img}, flags...), id)...))
	last := out.numbers()[len(out.numbers())-1]
	pid, out2 := e.restoreDetached(criu, img, bundle, id, flags...)
	if got := out2.waitCount(2); got[0] != last+1 {
		t.Errorf("restored TCP counter printed %v first, last before was %d", got[:2], last)
	}
	if !inCgroupOf(pid, id) {
		t.Errorf("with --manage-cgroups-mode full the restored init is not in the container's cgroup")
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestRestoreHooksAndTerminal: a terminal container's pty goes to the
// restore's --console-socket, and the prestart and createRuntime hooks run
// at restore with the restored init's pid, as at create.
func TestRestoreHooksAndTerminal(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	sock := filepath.Join(e.Dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	must(t, err)
	defer l.Close()
	log := filepath.Join(e.Dir, "hooks.log")
	hostMnt, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)
	env := []string{"HOST_MNT=" + hostMnt, "PATH=/usr/bin:/bin"}
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: hookScript(t, e.Dir, name, log), Args: []string{name, "x"}, Env: env}
	}
	bundle := e.bundle(sh(`while read l; do echo "got $l"; done`), func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{hook("prestart")}, CreateRuntime: []specs.Hook{hook("createRuntime")}}
	})
	id := e.id()
	masters := make(chan *os.File, 2)
	go func() {
		for i := 0; i < 2; i++ {
			f, _ := receiveMaster(t, l)
			masters <- f
		}
	}()
	e.create(bundle, id, "--console-socket", sock)
	m1 := <-masters
	defer m1.Close()
	e.ok(e.nook("start", id))
	talk(t, m1, "one")
	img := filepath.Join(e.Dir, "img")
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", img, id))
	must(t, os.Remove(log))
	r := e.criuNook(criu, "restore", "-d", "--image-path", img, "--bundle", bundle, "--console-socket", sock, id)
	e.ok(r)
	st := e.state(id)
	e.register(st.Pid)
	m2 := <-masters
	defer m2.Close()
	talk(t, m2, "two")
	want := []string{
		fmt.Sprintf("prestart created %d host x", st.Pid),
		fmt.Sprintf("createRuntime creating %d host x", st.Pid),
	}
	// The hooks saw the pid in the runtime's pid namespace: CRIU's
	// setup-namespaces pid is the one the restored init keeps.
	if got := nonEmptyLines(readString(log)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hooks at restore:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.ok(e.nook("delete", "--force", id))
}

// netnsHolder starts a process in a new network namespace with its
// loopback up, for containers to join by path; it is killed at cleanup.
func (e *env) netnsHolder() string {
	e.t.Helper()
	cmd := exec.Command(harness.BusyboxHost, "sh", "-c", "ip link set lo up && echo up && exec sleep 1000")
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWNET}
	stdout, err := cmd.StdoutPipe()
	must(e.t, err)
	must(e.t, cmd.Start())
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "up\n" {
		e.t.Fatalf("network namespace holder: %q %v", line, err)
	}
	return fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
}

// TestRestoreKilledLeavesNoMount: a restore killed half-way (here while a
// prestart hook runs) leaves no mount on the host and no CRIU running, and
// delete --force then removes all that is left of the container.
func TestRestoreKilledLeavesNoMount(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id := e.id()
	bundle, _, _ := e.runCounter(id)
	img := filepath.Join(e.Dir, "img")
	e.ok(e.criuNook(criu, "checkpoint", "--image-path", img, id))
	hook, ready := e.sleepyHook("prestart")
	s := newSpec()
	sh(counterScript)(s)
	s.Hooks = &specs.Hooks{Prestart: []specs.Hook{hook}}
	e.writeConfig(bundle, s)
	run := e.nookAsync("--criu", criu, "restore", "-d", "--image-path", img, "--bundle", bundle, id)
	e.waitReady(ready, run)
	hookProcs := e.hookProcesses()
	must(t, run.cmd.Process.Kill())
	<-run.done
	for _, p := range hookProcs {
		unix.Kill(p.Pid, unix.SIGKILL)
	}
	if m := harness.MountsUnder(e.Dir); len(m) > 0 {
		t.Errorf("a killed restore left mounts on the host:\n%s", strings.Join(m, "\n"))
	}
	e.ok(e.nook("delete", "--force", id))
	if r := e.nook("state", id); r.Code == 0 {
		t.Errorf("the container outlived delete --force: %s", r)
	}
}

// talk writes a line to a terminal and waits for the container's answer.
func talk(t *testing.T, master *os.File, word string) {
	t.Helper()
	if _, err := master.Write([]byte(word + "\n")); err != nil {
		t.Fatalf("write to the terminal: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 256)
		for !strings.Contains(b.String(), "got "+word) {
			n, err := master.Read(buf)
			if err != nil {
				break
			}
			b.Write(buf[:n])
		}
		got <- b.String()
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, "got "+word) {
			t.Errorf("the terminal answered %q to %q", s, word)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer on the terminal to %q in 10s", word)
	}
}

// TestCheckpointFailureNamesCriuError: when CRIU fails, the error quotes
// its log's error line and names the log; the container keeps running.
// Here its stdout is a regular file on the host, which CRIU cannot dump.
func TestCheckpointFailureNamesCriuError(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id, _, _ := e.createStarted(sh(counterScript))
	work := filepath.Join(e.Dir, "work")
	r := e.criuNook(criu, "checkpoint", "--image-path", filepath.Join(e.Dir, "img"), "--work-path", work, id)
	e.expectFail(r, "checkpoint of container "+id, "criu failed", "Error (", "lookup mount", filepath.Join(work, "dump.log"))
	if st := e.state(id); st.Status != "running" {
		t.Errorf("after a failed checkpoint the container is %s, want running", st.Status)
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestCheckpointRestoreErrors: bad input and a missing or failing CRIU give
// one clear line, and a failed restore leaves no state, cgroup or process.
func TestCheckpointRestoreErrors(t *testing.T) {
	e := newEnv(t)
	criu := e.needCriu()
	id := e.id()
	bundle, pid, _ := e.runCounter(id)
	img := filepath.Join(e.Dir, "img")
	missing := filepath.Join(e.Dir, "no-such-criu")

	e.expectFail(e.criuNook(missing, "checkpoint", "--image-path", img, id), "criu binary", missing, "not found", "--criu")
	e.expectFail(e.criuNook(criu, "checkpoint", "--manage-cgroups-mode", "bogus", id), "--manage-cgroups-mode", "bogus")
	e.expectFail(e.criuNook(criu, "checkpoint", "--empty-ns", "pid", id), "--empty-ns", "network")
	e.expectFail(e.criuNook(criu, "checkpoint", "--page-server", "nohost", id), "--page-server", "ADDRESS:PORT")
	e.expectFail(e.criuNook(criu, "checkpoint", "--parent-path", "/abs", id), "--parent-path", "relative")
	e.expectFail(e.criuNook(criu, "checkpoint", "no-such-id"), "does not exist")
	if st := e.state(id); st.Status != "running" || st.Pid != pid {
		t.Fatalf("after the failed checkpoints the container is %s (pid %d), want running pid %d", st.Status, st.Pid, pid)
	}
	e.ok(e.criuNook(criu, "checkpoint", "--leave-running", "--image-path", img, id))

	// Restores that fail must leave nothing of the new container.
	id2 := e.id()
	noImg := filepath.Join(e.Dir, "no-such-img")
	e.expectFail(e.criuNook(criu, "restore", "-d", "--image-path", noImg, "--bundle", bundle, id2), "--image-path", noImg)
	e.expectFail(e.criuNook(missing, "restore", "-d", "--image-path", img, "--bundle", bundle, id2), "criu binary", "not found")
	e.expectFail(e.criuNook(criu, "restore", "-d", "--image-path", img, "--bundle", bundle, id), "exists", id)
	pre := filepath.Join(e.Dir, "pre")
	must(t, os.Mkdir(pre, 0o700))
	e.expectFail(e.criuNook(criu, "restore", "-d", "--image-path", pre, "--bundle", bundle, id2), "holds no checkpoint")
	// A damaged image: CRIU fails half-way, after the cgroup exists.
	broken := filepath.Join(e.Dir, "broken")
	must(t, os.Mkdir(broken, 0o700))
	copyFile(t, filepath.Join(img, "descriptors.json"), filepath.Join(broken, "descriptors.json"))
	must(t, os.WriteFile(filepath.Join(broken, "inventory.img"), []byte("garbage"), 0o600))
	r := e.criuNook(criu, "restore", "-d", "--image-path", broken, "--bundle", bundle, id2)
	e.expectFail(r, "restore of container "+id2, "criu failed", "Error (", filepath.Join(broken, "restore.log"))
	if r := e.nook("state", id2); r.Code == 0 {
		t.Errorf("a failed restore left a container: %s", r)
	}
	for _, ctrl := range []string{"memory", "pids", "unified"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl, "nook", id2)); err == nil {
			t.Errorf("a failed restore left its cgroup in %s", ctrl)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Root, id2)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed restore left its state directory: %v", err)
	}
	// A prestart hook that fails stops the restore with its own error.
	hs := newSpec()
	sh(counterScript)(hs)
	hs.Root.Path = filepath.Join(bundle, "rootfs")
	hs.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/false", Args: []string{"false"}}}}
	hookBundle := filepath.Join(e.Dir, "bundle-hook")
	must(t, os.Mkdir(hookBundle, 0o755))
	e.writeConfig(hookBundle, hs)
	r = e.criuNook(criu, "restore", "-d", "--image-path", img, "--bundle", hookBundle, id2)
	e.expectFail(r, "restore of container "+id2, "prestart")
	if strings.Contains(r.Stderr, "criu failed") {
		t.Errorf("a failing hook is reported as CRIU's failure: %s", r.Stderr)
	}
	if r := e.nook("state", id2); r.Code == 0 {
		t.Errorf("a restore whose hook failed left a container: %s", r)
	}
	// Without a mount namespace of its own CRIU would restore it into a
	// copy of the host's: refused.
	id4 := e.id()
	e.create(e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		var nss []specs.LinuxNamespace
		for _, ns := range s.Linux.Namespaces {
			if ns.Type != specs.MountNamespace {
				nss = append(nss, ns)
			}
		}
		s.Linux.Namespaces = nss
	}), id4)
	e.ok(e.nook("start", id4))
	e.expectFail(e.criuNook(criu, "checkpoint", "--image-path", img, id4), id4, "mount namespace")
	e.ok(e.nook("delete", "--force", id4))
	// Created, not running: nothing to checkpoint.
	id3 := e.id()
	e.create(e.bundle(sh(counterScript)), id3)
	e.expectFail(e.criuNook(criu, "checkpoint", "--image-path", img, id3), id3, "created")
	e.ok(e.nook("delete", "--force", id3))
	e.ok(e.nook("delete", "--force", id))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.Create(to)
	must(t, err)
	defer out.Close()
	_, err = io.Copy(out, in)
	must(t, err)
}

// TestInitSessionAndDevNull: what CRIU needs of every container, whatever
// its engine: the init and exec'd processes lead sessions of their own (a
// session led from outside the pid namespace cannot be dumped), and a
// /dev/null the caller gave as stdio is the container's own /dev/null (a
// file of a mount outside the container cannot be dumped), as with runc.
func TestInitSessionAndDevNull(t *testing.T) {
	e := newEnv(t)
	id, pid, _ := e.createStarted(args("sleep", "100"))
	st := readString(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(st[strings.LastIndexByte(st, ')')+2:])
	if f[3] != strconv.Itoa(pid) {
		t.Errorf("the init (pid %d) is in session %s, not one of its own", pid, f[3])
	}
	hostNull, err := os.Open("/dev/null")
	must(t, err)
	defer hostNull.Close()
	hostMnt := fdinfoField(t, fmt.Sprintf("/proc/self/fdinfo/%d", hostNull.Fd()), "mnt_id")
	if got := fdinfoField(t, fmt.Sprintf("/proc/%d/fdinfo/0", pid), "mnt_id"); got == hostMnt {
		t.Errorf("the init's stdin is the host's /dev/null (mount %s), not the container's", got)
	}
	r := e.ok(e.nook("exec", id, "sh", "-c", "read -r pid comm state ppid pgrp sess rest < /proc/self/stat; echo $pid $sess"))
	if f := strings.Fields(r.Stdout); len(f) != 2 || f[0] != f[1] {
		t.Errorf("exec'd process: pid and session %q, want a session of its own", r.Stdout)
	}
	e.ok(e.nook("delete", "--force", id))
}

func fdinfoField(t *testing.T, path, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	v := statusField(string(b), key)
	if v == "" {
		t.Fatalf("%s has no %s:\n%s", path, key, b)
	}
	return v
}

package security

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// The script every cwd test runs: from wherever it starts, climb far above
// any root and look for the marker the test put in the container's root. A
// cwd inside the container climbs to the container's root (its root stops
// ".."); a cwd on a host directory climbs to the host's root, which has no
// such marker.
const escapeProbe = `cd ../../../../../../../../../../../../../../../..; if [ -e ./%[1]s ]; then echo INSIDE; else echo ESCAPED; ls; fi`

// withMarker puts the marker file in the bundle's rootfs.
func withMarker(t *testing.T, bundle, marker string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(bundle, "rootfs", marker), nil, 0o644))
}

// fdsOf parses `ls -l` of a /proc/<pid>/fd directory into fd number ->
// target (empty when ls could not read the link).
func fdsOf(out string) map[int]string {
	fds := map[int]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || !strings.HasPrefix(f[0], "l") {
			continue
		}
		// ls -l: mode links owner group size month day time name [-> target]
		n, err := strconv.Atoi(f[8])
		if err != nil {
			continue
		}
		fds[n] = strings.Join(f[min(len(f), 10):], " ")
	}
	return fds
}

func fdNumbers(fds map[int]string) []int {
	var n []int
	for k := range fds {
		n = append(n, k)
	}
	sort.Ints(n)
	return n
}

// CVE-2024-21626, first half: no runtime fd reaches the container. The user
// process (create + start, and `nook exec`) sees stdio and the --preserve-fds
// only. The protection (invariant 3) is every fd of nook opened O_CLOEXEC and
// the init's close_range(3+preserve-fds, ~0, CLOSE_RANGE_CLOEXEC) right before
// execve (libcontainer/containerinit/init.go finishAndExec). The test fails if any other fd
// is listed.
func TestCVE2024_21626NoFdReachesTheContainer(t *testing.T) {
	e := newEnv(t)
	// ls lists the fds of the shell, which is the container process as
	// nook started it ($$), rather than its own (it holds the directory).
	lsFds := harness.Sh("ls -l /proc/$$/fd/; sleep 100")

	id := e.ID()
	_, cr := e.Create(e.Bundle(lsFds), id)
	e.OK(e.Nook("start", id))
	out := e.WaitFile(cr.OutPath, "->")
	if got := fdNumbers(fdsOf(out)); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("create+start: fds in the container %v, want [0 1 2]:\n%s", got, out)
	}
	ex := e.OK(e.NookOpts(harness.Opts{Extra: leakDirFd(t, e.Dir, 12)}, "exec", id, "sh", "-c", "ls -l /proc/$$/fd/; exit 0"))
	if got := fdNumbers(fdsOf(ex.Stdout)); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("exec: fds in the process %v, want [0 1 2]:\n%s", got, ex.Stdout)
	}
	e.ForceDelete(id)

	// Two preserved fds (3 and 4), and more the caller passes without
	// saying so, up to a directory at fd 12.
	id2 := e.ID()
	_, cr = e.TryCreate(harness.Opts{Extra: leakDirFd(t, e.Dir, 12)}, e.Bundle(lsFds), id2, "--preserve-fds", "2")
	if cr.Code != 0 {
		t.Fatalf("create --preserve-fds 2: %s", cr)
	}
	e.OK(e.Nook("start", id2))
	out = e.WaitFile(cr.OutPath, "->")
	if got := fdNumbers(fdsOf(out)); fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("create --preserve-fds 2: fds in the container %v, want [0 1 2 3 4]:\n%s", got, out)
	}
	e.ForceDelete(id2)
}

// CVE-2024-21626, second half: process.cwd "/proc/self/fd/N" must never
// leave the container's root. runc leaked an fd of a host directory into its
// init, and an image whose WORKDIR named that fd started the container
// process in the host's filesystem.
//
// For every N from 3 to 20, the init's own fds at chdir time (its socket, the
// start barrier, the Go runtime's epoll and eventfd) must not be host
// directories: create fails (chdir: not a directory / no such file) or the
// process lands inside. Protection: nook opens nothing but those fds in the
// init, all O_CLOEXEC (libcontainer/containerinit/init.go), and the container's /proc is
// its own. The same for `nook exec --cwd`. With the close-on-exec and the
// cwd check removed this still passes (tried): nook's init simply holds no
// host directory to reach. TestCVE2024_21626InheritedFdCwd hands it one, and
// that test fails without those guards.
func TestCVE2024_21626CwdProcSelfFd(t *testing.T) {
	e := newEnv(t)
	running := e.ID()
	rb := e.Bundle(harness.Args("sleep", "100"))
	e.Create(rb, running)
	defer e.ForceDelete(running)
	e.OK(e.Nook("start", running))
	marker := "nook-root-marker-" + running
	withMarker(t, rb, marker)

	for n := 3; n <= 20; n++ {
		cwd := fmt.Sprintf("/proc/self/fd/%d", n)
		id := e.ID()
		b := e.Bundle(harness.Sh(fmt.Sprintf(escapeProbe, marker)), func(s *specs.Spec) { s.Process.Cwd = cwd })
		withMarker(t, b, marker)
		_, cr := e.TryCreate(harness.Opts{}, b, id)
		if cr.Code == 0 {
			e.OK(e.Nook("start", id))
			e.WaitStatus(id, "stopped")
			if out := harness.ReadString(cr.OutPath); !strings.HasPrefix(out, "INSIDE") {
				t.Errorf("process.cwd %s: the container process started outside its root:\n%s", cwd, out)
			}
			e.OK(e.Nook("delete", id))
		} else if cr.Code != 1 || !strings.Contains(cr.Stderr, "cwd") {
			t.Errorf("process.cwd %s: create neither succeeded nor failed cleanly naming the cwd: %s", cwd, cr)
		}

		r := e.Nook("exec", "--cwd", cwd, running, "sh", "-c", fmt.Sprintf(escapeProbe, marker))
		if r.Code == 0 && !strings.HasPrefix(r.Stdout, "INSIDE") {
			t.Errorf("exec --cwd %s: the process started outside the container's root:\n%s", cwd, r.Stdout)
		}
		if r.Crashed() {
			t.Errorf("exec --cwd %s crashed: %s", cwd, r)
		}
	}
}

// leakDirFd passes a host directory to nook as an inherited fd that is not
// one of --preserve-fds, at number want (fds 3..want-1 are /dev/null): an
// engine that leaks a directory fd into the runtime it calls. It returns the
// files to pass as Opts.Extra.
func leakDirFd(t *testing.T, dir string, want int) []*os.File {
	t.Helper()
	var files []*os.File
	for fd := 3; fd < want; fd++ {
		f, err := os.Open(os.DevNull)
		must(t, err)
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	d, err := os.Open(dir)
	must(t, err)
	t.Cleanup(func() { d.Close() })
	return append(files, d)
}

// CVE-2024-21626 with the fd leaked by nook's caller instead of by nook: a
// host directory fd nook inherits (not in --preserve-fds) must not be usable
// as process.cwd or exec --cwd through /proc/self/fd/N. runc (since 1.1.12)
// marks every inherited fd close-on-exec at the start of its init, before
// anything else, and checks after chdir that the cwd is inside the root
// (getcwd fails with ENOENT when it is not).
func TestCVE2024_21626InheritedFdCwd(t *testing.T) {
	e := newEnv(t)
	hostDir := filepath.Join(e.Dir, "hostdir")
	must(t, os.Mkdir(hostDir, 0o755))
	const leaked = 15
	cwd := fmt.Sprintf("/proc/self/fd/%d", leaked)

	id := e.ID()
	marker := "nook-root-marker-" + id
	b := e.Bundle(harness.Sh(fmt.Sprintf(escapeProbe, marker)), func(s *specs.Spec) { s.Process.Cwd = cwd })
	withMarker(t, b, marker)
	_, cr := e.TryCreate(harness.Opts{Extra: leakDirFd(t, hostDir, leaked)}, b, id)
	if cr.Code == 0 {
		e.OK(e.Nook("start", id))
		e.WaitStatus(id, "stopped")
		if out := harness.ReadString(cr.OutPath); !strings.HasPrefix(out, "INSIDE") {
			t.Errorf("process.cwd %s with a host directory inherited at fd %d: the container process started outside its root:\n%s", cwd, leaked, out)
		}
		e.OK(e.Nook("delete", id))
	} else if cr.Code != 1 || !strings.Contains(cr.Stderr, "cwd") {
		t.Errorf("process.cwd %s: create neither succeeded nor failed cleanly naming the cwd: %s", cwd, cr)
	}

	running := e.ID()
	rb := e.Bundle(harness.Args("sleep", "100"))
	withMarker(t, rb, marker)
	e.Create(rb, running)
	defer e.ForceDelete(running)
	e.OK(e.Nook("start", running))
	r := e.NookOpts(harness.Opts{Extra: leakDirFd(t, hostDir, leaked)}, "exec", "--cwd", cwd, running, "sh", "-c", fmt.Sprintf(escapeProbe, marker))
	if r.Code == 0 && !strings.HasPrefix(r.Stdout, "INSIDE") {
		t.Errorf("exec --cwd %s with a host directory inherited at fd %d: the process started outside the container's root:\n%s", cwd, leaked, r.Stdout)
	}
}

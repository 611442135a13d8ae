package security

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// fakeProc makes a directory that looks like a procfs to a path-based
// writer: the files nook and LSM libraries write, each holding "FAKE". The
// init writes its OOM score as /proc/<its pid>/oom_score_adj, which is
// /proc/1/... in its own pid namespace: without that decoy a write through
// the fake /proc would fail with ENOENT, which the tests accept as a clean
// refusal, so they would pass with the procfs checks removed.
func fakeProc(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"sys/net/ipv4/ip_forward", "self/oom_score_adj", "1/oom_score_adj", "self/attr/exec",
		"self/attr/apparmor/exec", "thread-self/attr/exec", "self/setgroups"} {
		p := filepath.Join(dir, f)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte("FAKE\n"), 0o644))
	}
}

// stillFake fails the test for every decoy file that no longer says FAKE.
func stillFake(t *testing.T, dir, when string) {
	t.Helper()
	for _, f := range []string{"sys/net/ipv4/ip_forward", "self/oom_score_adj", "1/oom_score_adj", "self/attr/exec",
		"self/attr/apparmor/exec", "thread-self/attr/exec"} {
		if got := harness.ReadString(filepath.Join(dir, f)); got != "FAKE\n" {
			t.Errorf("%s: a write meant for procfs went to the decoy %s: it now holds %q", when, f, got)
		}
	}
}

func ownNetSysctl(s *specs.Spec) {
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
}

// procAlias is a symlink the image ships, pointing at its /proc: a mount
// destination through it names no "/proc" but resolves there.
const procAlias = "/p"

// withProcAlias puts procAlias -> /proc in the bundle's image.
func withProcAlias(t *testing.T, bundle string) {
	t.Helper()
	must(t, os.Symlink("proc", filepath.Join(bundle, "rootfs", procAlias)))
}

// refusedForProc: exit 1, one clean error naming the sysctl write or the
// mount on /proc that would have redirected it.
func refusedForProc(r harness.Result) bool {
	return r.Code == 1 && !r.Crashed() &&
		(strings.Contains(r.Stderr, "sysctl") || strings.Contains(r.Stderr, "/proc"))
}

// CVE-2019-16884 / CVE-2023-28642: a config or image puts something that is
// not procfs where nook writes procfs files (a bind mount or a tmpfs over
// /proc or part of /proc/sys, after the real proc mount), hoping the writes
// of the init (sysctls, LSM labels) land in files the attacker controls and
// so are silently not applied. Each destination is given as is and through
// a symlink of the image (/p -> proc), which names no "/proc". With
// linux.sysctl set, create must fail and the decoy must be untouched.
//
// Protections (invariant 4): libcontainer/rootfs/mount.go
// checkProcDestination refuses mounts whose destination is /proc or under
// it (but for lxcfs-style file binds), and libcontainer/sysctl/procfs.go
// openProcDir/requireProcfs check fstatfs == PROC_SUPER_MAGIC and
// openProcFileForWrite refuses to cross a mount (RESOLVE_NO_XDEV): the
// symlinked destinations pass the first and are stopped by the second. A
// /proc that is itself a symlink is TestCVE2023_27561ProcSysDestinationSymlink's.
// AppArmor and SELinux writes cannot be exercised here (neither is enabled
// on this machine); libcontainer/apparmor's decoy_test.go covers AppArmor.
func TestCVE2019_16884ProcfsDecoyMounts(t *testing.T) {
	e := newEnv(t)
	decoy := filepath.Join(e.Dir, "fakeproc")
	fakeProc(t, decoy)
	cases := []struct {
		name  string
		mount specs.Mount
	}{
		{"bind-over-proc", specs.Mount{Destination: "/proc", Type: "bind", Source: decoy, Options: []string{"rbind"}}},
		{"tmpfs-over-proc", specs.Mount{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"}},
		{"tmpfs-over-proc-sys", specs.Mount{Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs"}},
		{"bind-over-proc-sys-net", specs.Mount{Destination: "/proc/sys/net", Type: "bind", Source: filepath.Join(decoy, "sys/net"), Options: []string{"rbind"}}},
		{"bind-over-proc-via-symlink", specs.Mount{Destination: procAlias, Type: "bind", Source: decoy, Options: []string{"rbind"}}},
		{"tmpfs-over-proc-sys-via-symlink", specs.Mount{Destination: procAlias + "/sys", Type: "tmpfs", Source: "tmpfs"}},
		{"bind-over-proc-sys-net-via-symlink", specs.Mount{Destination: procAlias + "/sys/net", Type: "bind", Source: filepath.Join(decoy, "sys/net"), Options: []string{"rbind"}}},
	}
	for _, c := range cases {
		id := e.ID()
		b := e.Bundle(harness.AddMount(c.mount), ownNetSysctl)
		withProcAlias(t, b)
		_, r := e.TryCreate(harness.Opts{}, b, id)
		if r.Code == 0 {
			t.Errorf("%s: create with linux.sysctl succeeded although /proc is not (only) procfs", c.name)
			e.ForceDelete(id)
		} else if !refusedForProc(r) {
			t.Errorf("%s: want exit 1 naming linux.sysctl or /proc: %s", c.name, r)
		} else {
			t.Logf("%s: refused: %s", c.name, strings.TrimSpace(r.Stderr))
		}
		stillFake(t, decoy, c.name)
	}
}

// CVE-2019-16884, image form: the image's /proc is a real directory full of
// fake files. nook must mount the real procfs over it and write the sysctl
// there: the container reads the value it asked for through a procfs, and
// the image's files are untouched. Protection: the procfs is mounted through
// an fd of that directory (libcontainer/rootfs/mount.go) before anything is
// written under /proc. This is a check of behaviour more than of one guard:
// it still passes with every procfs check of the tests above removed
// (tried), since the real procfs then covers the fake files all the same.
func TestCVE2019_16884ImageProcDirWithFakeFiles(t *testing.T) {
	e := newEnv(t)
	b := e.Bundle(ownNetSysctl, harness.Sh("stat -f -c %T /proc /proc/sys/net/ipv4; cat /proc/sys/net/ipv4/ip_forward"))
	image := filepath.Join(b, "rootfs", "proc")
	fakeProc(t, image)
	out := e.OK(e.Nook("run", "--bundle", b, e.ID())).Stdout
	if want := "proc\nproc\n1\n"; out != want {
		t.Errorf("inside the container: %q, want %q (a real procfs, the sysctl applied)", out, want)
	}
	stillFake(t, image, "after run")
}

// Invariant 4 beyond sysctls: process.oomScoreAdj is written by the init
// under /proc too. With a bind mount of a host directory over /proc (given
// as /proc, or through the image's /p -> proc symlink), the write must not
// land in that directory while the container goes without its OOM score:
// create fails, or the process has the score and the decoy is untouched.
// Protection: libcontainer/containerinit/init.go setOOMScoreAdj writes through
// sysctl.WriteProc (a verified procfs handle, no mount crossing), and
// checkProcDestination refuses the plain /proc mount.
func TestProcfsDecoyOOMScoreAdj(t *testing.T) {
	e := newEnv(t)
	decoy := filepath.Join(e.Dir, "fakeproc")
	fakeProc(t, decoy)
	for _, dest := range []string{"/proc", procAlias} {
		id := e.ID()
		b := e.Bundle(harness.AddMount(specs.Mount{Destination: dest, Type: "bind", Source: decoy, Options: []string{"rbind"}}),
			harness.Args("sleep", "100"),
			func(s *specs.Spec) { adj := 500; s.Process.OOMScoreAdj = &adj })
		withProcAlias(t, b)
		pid, r := e.TryCreate(harness.Opts{}, b, id)
		if r.Code == 0 {
			e.OK(e.Nook("start", id))
			e.WaitStatus(id, "running")
			got := strings.TrimSpace(harness.ReadString("/proc/" + strconv.Itoa(pid) + "/oom_score_adj"))
			if got != "500" {
				t.Errorf("decoy on %s: the container process has oom_score_adj %s, want 500 (the write went elsewhere)", dest, got)
			}
			e.ForceDelete(id)
		} else if r.Code != 1 || r.Crashed() {
			t.Errorf("decoy on %s: want a clean refusal or a working container: %s", dest, r)
		} else {
			t.Logf("decoy on %s: refused: %s", dest, strings.TrimSpace(r.Stderr))
		}
		stillFake(t, decoy, fmt.Sprintf("decoy on %s, create exit %d", dest, r.Code))
	}
}

// A mount whose destination resolves into /proc through a symlink of the
// image must be judged as what it resolves to: refused like the same mount
// written as /proc/... (runc checks the resolved destination in
// checkProcMount). Otherwise the container runs with a fake /proc, and every
// later path-based reader or writer of /proc in it is deceived.
func TestProcMountCheckSeesThroughSymlinks(t *testing.T) {
	e := newEnv(t)
	decoy := filepath.Join(e.Dir, "fakeproc")
	fakeProc(t, decoy)
	for _, m := range []specs.Mount{
		{Destination: procAlias, Type: "bind", Source: decoy, Options: []string{"rbind"}},
		{Destination: procAlias, Type: "tmpfs", Source: "tmpfs"},
		{Destination: procAlias + "/sys", Type: "tmpfs", Source: "tmpfs"},
	} {
		b := e.Bundle(harness.AddMount(m), harness.Sh("stat -f -c %T /proc /proc/sys"))
		withProcAlias(t, b)
		r := e.Nook("run", "--bundle", b, e.ID())
		switch {
		case r.Code == 0:
			t.Errorf("%s on %s (-> /proc): accepted; the container sees /proc, /proc/sys as: %q", m.Type, m.Destination, r.Stdout)
		case !refusedForProc(r):
			t.Errorf("%s on %s: want exit 1 naming /proc: %s", m.Type, m.Destination, r)
		}
		stillFake(t, decoy, m.Destination)
	}
}

// CVE-2025-52881 class, the swapped procfs: whoever can mount in the
// container's mount namespace during create (here a createRuntime hook, run
// as the advisory's racing co-tenant would act) puts the procfs of another
// pid namespace on the container's /proc. A runtime that then writes
// process.oomScoreAdj as "/proc/<its pid>/oom_score_adj" through the
// container's /proc sets the score of that namespace's pid 1 (the victim),
// and the container goes without. nook writes it from stage 0 through the
// host's /proc before any namespace exists (nsenter/nsenter.c
// set_oom_score_adj), so the victim keeps its score. Fails on e192b04
// (victim 777, container 0).
func TestProcfsSwappedForAnotherPidNamespaceOOMScoreAdj(t *testing.T) {
	e := newEnv(t)
	for _, tool := range []string{"nsenter", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s on the host (util-linux): %v", tool, err)
		}
	}
	// The victim: pid 1 of a pid namespace of its own.
	victim := exec.Command("sleep", "1000")
	victim.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	must(t, victim.Start())
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	victimAdj := "/proc/" + strconv.Itoa(victim.Process.Pid) + "/oom_score_adj"
	before := strings.TrimSpace(harness.ReadString(victimAdj))

	b := e.Bundle()
	rootfsProc := filepath.Join(b, "rootfs", "proc")
	// In the init's mount namespace (before pivot_root the rootfs sits at
	// its host path there), a procfs of the victim's pid namespace over the
	// container's /proc. nsenter forks into the pid namespace, so mount(8)
	// runs with the victim's as its active one.
	swap := fmt.Sprintf(`pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); exec nsenter --target "$pid" --mount --pid=/proc/%d/ns/pid -- mount -t proc proc %s`,
		victim.Process.Pid, rootfsProc)
	s := e.Suite.NewSpec()
	s.Process.Args = []string{"sleep", "100"}
	adj := 777
	s.Process.OOMScoreAdj = &adj
	s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", swap}}}}
	e.WriteConfig(b, s)

	id := e.ID()
	pid, r := e.TryCreate(harness.Opts{}, b, id)
	if r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	defer e.ForceDelete(id)
	if got := strings.TrimSpace(harness.ReadString(victimAdj)); got != before {
		t.Errorf("the victim (pid 1 of another pid namespace) had oom_score_adj %s, now %s: the write went through the swapped procfs", before, got)
	}
	if got := strings.TrimSpace(harness.ReadString("/proc/" + strconv.Itoa(pid) + "/oom_score_adj")); got != "777" {
		t.Errorf("the container's init has oom_score_adj %s, want 777", got)
	}
	// The hook really swapped it: the container's /proc is the victim's.
	e.OK(e.Nook("start", id))
	e.WaitStatus(id, "running")
	out := e.Nook("exec", id, "cat", "/proc/1/cmdline")
	if !strings.Contains(out.Stdout, "sleep\x001000") {
		t.Errorf("the container's /proc/1/cmdline is %q, want the victim's (sleep 1000): the hook did not swap /proc, so the test proves nothing: %s", out.Stdout, out)
	}
}

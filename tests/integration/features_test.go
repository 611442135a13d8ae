package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestHostname(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(args("hostname"), func(s *specs.Spec) { s.Hostname = "nook-test-host" })
	if got := strings.TrimSpace(out); got != "nook-test-host" {
		t.Errorf("hostname in container = %q, want nook-test-host", got)
	}
}

func TestUser(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh("id; id -u; id -g; id -G"), func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}}
		s.Process.Cwd = "/tmp"
	})
	lines := nonEmptyLines(out)
	if len(lines) != 4 {
		t.Fatalf("unexpected output %q", out)
	}
	if !strings.HasPrefix(lines[0], "uid=1000(nobody) gid=1000(nobody)") {
		t.Errorf("id = %q, want uid=1000(nobody) gid=1000(nobody) …", lines[0])
	}
	if lines[1] != "1000" || lines[2] != "1000" {
		t.Errorf("id -u / id -g = %q / %q, want 1000 / 1000", lines[1], lines[2])
	}
	groups := strings.Fields(lines[3])
	sort.Strings(groups)
	if strings.Join(groups, " ") != "10 1000 20" {
		t.Errorf("id -G = %q, want the groups 1000, 10 and 20", lines[3])
	}
}

func TestUmask(t *testing.T) {
	e := newEnv(t)
	mask := uint32(0o027)
	out := e.runOK(sh("umask"), func(s *specs.Spec) { s.Process.User.Umask = &mask })
	if got := strings.TrimSpace(out); got != "0027" {
		t.Errorf("umask = %q, want 0027", got)
	}
}

func TestCwd(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(args("pwd"), func(s *specs.Spec) { s.Process.Cwd = "/tmp" })
	if got := strings.TrimSpace(out); got != "/tmp" {
		t.Errorf("pwd = %q, want /tmp", got)
	}
}

func TestEnv(t *testing.T) {
	e := newEnv(t)
	want := []string{"PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "HOME=/root"}
	out := e.runOK(args("env"), func(s *specs.Spec) { s.Process.Env = want })
	got := nonEmptyLines(out)
	sort.Strings(got)
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	if strings.Join(got, "\n") != strings.Join(sorted, "\n") {
		t.Errorf("environment = %q, want exactly %q", got, sorted)
	}
}

// checkCaps compares the Cap* lines of /proc/self/status with masks.
func checkCaps(t *testing.T, status string, want map[string]uint64) {
	t.Helper()
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		got := hexMask(statusField(status, k))
		if got != want[k] {
			t.Errorf("%s = %#x, want %#x", k, got, want[k])
		}
	}
}

func TestCapabilitiesRoot(t *testing.T) {
	e := newEnv(t)
	set := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	out := e.runOK(args("cat", "/proc/self/status"), func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: set, Effective: set, Permitted: set,
			Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"},
		}
	})
	all := capMask(set...)
	checkCaps(t, out, map[string]uint64{
		"CapBnd": all, "CapPrm": all, "CapEff": all,
		"CapInh": capMask("CAP_KILL"), "CapAmb": capMask("CAP_KILL"),
	})
}

// A non-root process keeps across execve only what the ambient set carries
// into permitted and effective (capabilities(7)).
func TestCapabilitiesNonRootAmbient(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(args("cat", "/proc/self/status"), func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"},
			Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Inheritable: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			Ambient:     []string{"CAP_NET_BIND_SERVICE"},
		}
	})
	amb := capMask("CAP_NET_BIND_SERVICE")
	checkCaps(t, out, map[string]uint64{
		"CapBnd": capMask("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"),
		"CapInh": capMask("CAP_KILL", "CAP_NET_BIND_SERVICE"),
		"CapPrm": amb, "CapEff": amb, "CapAmb": amb,
	})
}

func TestCapabilityNotInHostBounding(t *testing.T) {
	e := newEnv(t)
	host, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if hexMask(statusField(string(host), "CapBnd"))&capMask("CAP_SYS_RESOURCE") != 0 {
		t.Skip("CAP_SYS_RESOURCE is in this host's bounding set; nothing to test")
	}
	base := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	withRes := append(append([]string(nil), base...), "CAP_SYS_RESOURCE")
	r := e.run(args("cat", "/proc/self/status"), func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: withRes, Effective: withRes, Permitted: withRes}
	})
	if r.Code != 0 {
		t.Fatalf("a capability missing from the host's bounding set must only warn: %s", r)
	}
	if !strings.Contains(r.Stderr, "CAP_SYS_RESOURCE") || !strings.Contains(strings.ToLower(r.Stderr), "warn") {
		t.Errorf("no warning naming CAP_SYS_RESOURCE on stderr: %s", r)
	}
	want := capMask(base...)
	checkCaps(t, r.Stdout, map[string]uint64{"CapBnd": want, "CapPrm": want, "CapEff": want})
}

var limitsLine = regexp.MustCompile(`(?m)^(Max open files|Max processes|Max core file size)\s+(\S+)\s+(\S+)`)

func TestRlimits(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(args("cat", "/proc/self/limits"), func(s *specs.Spec) {
		// At or below this host's limits: it cannot raise hard limits.
		s.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024},
			{Type: "RLIMIT_NPROC", Soft: 500, Hard: 1000},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
		}
	})
	got := map[string]string{}
	for _, m := range limitsLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = m[2] + "/" + m[3]
	}
	for k, v := range map[string]string{"Max open files": "1024/1024", "Max processes": "500/1000", "Max core file size": "0/0"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %s (limits: %q)", k, got[k], v, out)
		}
	}
}

func TestNoNewPrivileges(t *testing.T) {
	e := newEnv(t)
	for _, nnp := range []bool{true, false} {
		out := e.runOK(args("cat", "/proc/self/status"), func(s *specs.Spec) { s.Process.NoNewPrivileges = nnp })
		want := "0"
		if nnp {
			want = "1"
		}
		if got := statusField(out, "NoNewPrivs"); got != want {
			t.Errorf("noNewPrivileges %v: NoNewPrivs = %q, want %s", nnp, got, want)
		}
	}
}

func TestOOMScoreAdjPositive(t *testing.T) {
	e := newEnv(t)
	v := 123
	out := e.runOK(args("cat", "/proc/self/oom_score_adj"), func(s *specs.Spec) { s.Process.OOMScoreAdj = &v })
	if got := strings.TrimSpace(out); got != "123" {
		t.Errorf("oom_score_adj = %q, want 123", got)
	}
}

func TestOOMScoreAdjNegative(t *testing.T) {
	e := newEnv(t)
	// Does this host refuse negative values? Ask a throwaway shell.
	probe := exec.Command("/bin/sh", "-c", "echo -1 > /proc/self/oom_score_adj")
	if err := probe.Start(); err != nil {
		t.Fatal(err)
	}
	if err := probe.Wait(); err == nil {
		t.Skip("this host accepts negative oom_score_adj; the refusal path cannot be tested")
	}
	v := -100
	b := e.bundle(args("true"), func(s *specs.Spec) { s.Process.OOMScoreAdj = &v })
	r := e.nook("create", "--bundle", b, e.id())
	e.expectFail(r, "oomScoreAdj", "-100", "negative")
}

func TestPid1(t *testing.T) {
	e := newEnv(t)
	// "; true" keeps the shell from exec'ing ps as its last command.
	out := e.runOK(sh("echo $$; ps; true"))
	lines := nonEmptyLines(out)
	if len(lines) == 0 || lines[0] != "1" {
		t.Fatalf("echo $$ printed %q, want 1", out)
	}
	// ps: a header, the shell as pid 1 and ps itself; nothing else.
	procs := lines[2:]
	if len(procs) != 2 {
		t.Errorf("ps shows %d processes, want 2 (sh and ps): %q", len(procs), out)
	}
	if len(procs) > 0 && (strings.Fields(procs[0])[0] != "1" || !strings.Contains(procs[0], "sh")) {
		t.Errorf("first process is not sh as pid 1: %q", procs[0])
	}
}

// mountTable parses mountinfo into mount point -> fstype (the last wins).
func mountTable(mountinfo string) map[string]string {
	m := map[string]string{}
	for _, l := range nonEmptyLines(mountinfo) {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && len(g) >= 1 {
			m[f[4]] = g[0]
		}
	}
	return m
}

func TestDefaultMounts(t *testing.T) {
	e := newEnv(t)
	mt := mountTable(e.runOK(args("cat", "/proc/self/mountinfo")))
	want := map[string][]string{
		"/proc": {"proc"}, "/dev": {"tmpfs"}, "/dev/pts": {"devpts"}, "/dev/shm": {"tmpfs"},
		"/dev/mqueue": {"mqueue"}, "/sys": {"sysfs"}, "/sys/fs/cgroup": {"tmpfs", "cgroup2"},
	}
	for mp, types := range want {
		got, ok := mt[mp]
		if !ok {
			t.Errorf("%s is not mounted in the container", mp)
			continue
		}
		found := false
		for _, ty := range types {
			found = found || got == ty
		}
		if !found {
			t.Errorf("%s is %s, want one of %v", mp, got, types)
		}
	}
}

func TestBindMounts(t *testing.T) {
	e := newEnv(t)
	hostRO := filepath.Join(e.Dir, "host-ro")
	hostFlags := filepath.Join(e.Dir, "host-flags")
	hostFile := filepath.Join(e.Dir, "host-file.txt")
	for _, d := range []string{hostRO, hostFlags} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(hostRO, "data"), []byte("ro-data\n"), 0o644))
	must(t, os.WriteFile(hostFile, []byte("file-data\n"), 0o644))
	script := `cat /mnt/ro/data
if touch /mnt/ro/new 2>/dev/null; then echo RO-WRITE-SUCCEEDED; else echo RO-WRITE-FAILED; fi
grep ' /mnt/flags ' /proc/mounts
cat /etc/host-file.txt
cat /mnt/rel/marker
touch /mnt/rel/from-container && echo REL-WRITE-OK`
	b := e.bundle(sh(script), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: hostRO, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/mnt/flags", Type: "bind", Source: hostFlags, Options: []string{"bind", "nosuid", "nodev", "noexec"}},
			specs.Mount{Destination: "/etc/host-file.txt", Type: "bind", Source: hostFile, Options: []string{"bind", "ro"}},
			// Relative to the bundle, not to nook's working directory.
			specs.Mount{Destination: "/mnt/rel", Type: "bind", Source: "reldir", Options: []string{"bind"}},
		)
	})
	rel := filepath.Join(b, "reldir")
	must(t, os.Mkdir(rel, 0o755))
	must(t, os.WriteFile(filepath.Join(rel, "marker"), []byte("rel-data\n"), 0o644))
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	lines := nonEmptyLines(out)
	if len(lines) != 6 {
		t.Fatalf("unexpected output %q", out)
	}
	if lines[0] != "ro-data" {
		t.Errorf("ro bind: read %q, want ro-data", lines[0])
	}
	if lines[1] != "RO-WRITE-FAILED" {
		t.Errorf("ro bind: writing did not fail (%s)", lines[1])
	}
	if _, err := os.Stat(filepath.Join(hostRO, "new")); err == nil {
		t.Errorf("ro bind: the container created a file in the host directory")
	}
	var opts []string
	if f := strings.Fields(lines[2]); len(f) >= 4 && f[1] == "/mnt/flags" {
		opts = strings.Split(f[3], ",")
	}
	for _, o := range []string{"nosuid", "nodev", "noexec"} {
		if !containsStr(opts, o) {
			t.Errorf("/mnt/flags lacks %s: %q", o, lines[2])
		}
	}
	if lines[3] != "file-data" {
		t.Errorf("file bind: read %q, want file-data", lines[3])
	}
	if lines[4] != "rel-data" || lines[5] != "REL-WRITE-OK" {
		t.Errorf("bundle-relative bind: %q", lines[4:])
	}
	if _, err := os.Stat(filepath.Join(rel, "from-container")); err != nil {
		t.Errorf("bundle-relative bind: the container's write did not reach %s: %v", rel, err)
	}
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(args("ls", "-l", "/dev"))
	chars := map[string]string{}
	links := map[string]string{}
	for _, l := range nonEmptyLines(out) {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "c") && len(f) >= 10:
			chars[f[len(f)-1]] = strings.TrimSuffix(f[4], ",") + ":" + f[5]
		case strings.HasPrefix(l, "l") && len(f) >= 3 && f[len(f)-2] == "->":
			links[f[len(f)-3]] = f[len(f)-1]
		}
	}
	for name, want := range map[string]string{"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8", "urandom": "1:9", "tty": "5:0"} {
		if chars[name] != want {
			t.Errorf("/dev/%s: device %q, want character device %s", name, chars[name], want)
		}
	}
	for name, want := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if links[name] != want {
			t.Errorf("/dev/%s -> %q, want a symlink to %s", name, links[name], want)
		}
	}
	if t.Failed() {
		t.Logf("ls -l /dev:\n%s", out)
	}
}

func TestMaskedPaths(t *testing.T) {
	e := newEnv(t)
	// /proc/kcore is the classic; kernels without it still have /proc/keys
	// in the default list.
	procFile := "/proc/kcore"
	if _, err := os.Stat(procFile); err != nil {
		procFile = "/proc/keys"
	}
	script := fmt.Sprintf(`cat %s | wc -c; ls -A /secret-dir | wc -l; cat /secret-file | wc -c`, procFile)
	b := e.bundle(sh(script), func(s *specs.Spec) {
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/secret-dir", "/secret-file")
	})
	rootfs := filepath.Join(b, "rootfs")
	must(t, os.Mkdir(filepath.Join(rootfs, "secret-dir"), 0o755))
	must(t, os.WriteFile(filepath.Join(rootfs, "secret-dir", "a"), []byte("secret"), 0o644))
	must(t, os.WriteFile(filepath.Join(rootfs, "secret-file"), []byte("secret"), 0o644))
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	lines := nonEmptyLines(out)
	if len(lines) != 3 {
		t.Fatalf("unexpected output %q", out)
	}
	for i, what := range []string{procFile + " (bytes)", "/secret-dir (entries)", "/secret-file (bytes)"} {
		if strings.TrimSpace(lines[i]) != "0" {
			t.Errorf("masked %s: %s, want 0", what, strings.TrimSpace(lines[i]))
		}
	}
}

func TestReadonlyPaths(t *testing.T) {
	e := newEnv(t)
	script := `if echo changed > /proc/sys/kernel/hostname 2>/dev/null; then echo PROC-SYS-WRITABLE; else echo PROC-SYS-RO; fi
if touch /rodir/x 2>/dev/null; then echo RODIR-WRITABLE; else echo RODIR-RO; fi
if touch /rwfile 2>/dev/null; then echo ROOT-WRITABLE; else echo ROOT-RO; fi`
	b := e.bundle(sh(script), func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/rodir")
	})
	must(t, os.Mkdir(filepath.Join(b, "rootfs", "rodir"), 0o755))
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	if want := "PROC-SYS-RO\nRODIR-RO\nROOT-WRITABLE\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestRootReadonly(t *testing.T) {
	e := newEnv(t)
	script := `if touch /newfile 2>/dev/null; then echo WROTE; else echo FAILED; fi`
	for _, ro := range []bool{true, false} {
		b := e.bundle(sh(script), func(s *specs.Spec) { s.Root.Readonly = ro })
		out := strings.TrimSpace(e.ok(e.nook("run", "--bundle", b, e.id())).Stdout)
		_, statErr := os.Stat(filepath.Join(b, "rootfs", "newfile"))
		switch {
		case ro && (out != "FAILED" || statErr == nil):
			t.Errorf("root.readonly true: touch / gave %s", out)
		case !ro && (out != "WROTE" || statErr != nil):
			t.Errorf("root.readonly false: touch / gave %s (host file: %v)", out, statErr)
		}
	}
}

// Without a mount namespace of its own the container's mounts live in the
// caller's namespace until delete.
func TestNoMountNamespace(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh("echo $$; cat /proc/self/status"), withoutNamespace(specs.MountNamespace))
	if lines := nonEmptyLines(out); len(lines) == 0 || lines[0] != "1" {
		t.Errorf("unexpected output %q", out)
	}
	id, _, _ := e.createStarted(args("sleep", "100"), withoutNamespace(specs.MountNamespace))
	e.ok(e.nook("delete", "--force", id))
}

func TestNoPivot(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(sh("echo $$; cat /proc/self/mountinfo"))
	r := e.ok(e.nook("run", "--no-pivot", "--bundle", b, e.id()))
	lines := nonEmptyLines(r.Stdout)
	if len(lines) == 0 || lines[0] != "1" {
		t.Fatalf("unexpected output %q", r.Stdout)
	}
	mt := mountTable(r.Stdout)
	if _, ok := mt["/proc"]; !ok {
		t.Errorf("--no-pivot: no /proc in the container: %q", r.Stdout)
	}
}

func fdList(out string) []string {
	fds := strings.Fields(out)
	sort.Strings(fds)
	return fds
}

func TestNoFdLeak(t *testing.T) {
	e := newEnv(t)
	// run, and create + start (the init waits at the barrier in between).
	got := fdList(e.runOK(args("ls", "/proc/self/fd")))
	if strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("run: fds in the container %v, want 0 1 2 (and 3, ls's directory)", got)
	}
	// An fd the caller passes without --preserve-fds must not get in.
	f, err := os.Open("/proc/self/status")
	must(t, err)
	defer f.Close()
	b := e.bundle(args("ls", "/proc/self/fd"))
	got = fdList(e.ok(e.nookExtra([]*os.File{f}, "run", "--bundle", b, e.id())).Stdout)
	if strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("run with an extra fd from the caller: fds in the container %v, want 0 1 2 (and 3, ls's directory)", got)
	}
	id, _, cr := e.createStarted(args("ls", "/proc/self/fd"))
	e.waitStatus(id, "stopped")
	got = fdList(readString(cr.OutPath))
	if strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("create+start: fds in the container %v, want 0 1 2 (and 3, ls's directory)", got)
	}
	e.ok(e.nook("delete", id))
}

func TestPreserveFds(t *testing.T) {
	e := newEnv(t)
	p := filepath.Join(e.Dir, "preserved")
	must(t, os.WriteFile(p, []byte("preserved-data\n"), 0o644))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := e.bundle(sh("cat <&3; echo ---; ls /proc/self/fd"))
	r := e.ok(e.nookExtra([]*os.File{f}, "run", "--preserve-fds", "1", "--bundle", b, e.id()))
	data, fds, _ := strings.Cut(r.Stdout, "---\n")
	if data != "preserved-data\n" {
		t.Errorf("fd 3 read %q, want preserved-data", data)
	}
	if got := fdList(fds); strings.Join(got, " ") != "0 1 2 3 4" {
		t.Errorf("fds in the container %v, want 0 1 2 3 (and 4, ls's directory)", got)
	}
}

// CVE-2019-5736: whatever the container can reach of the runtime's binary
// through /proc/<init>/exe must not be writable. The attack holds an O_PATH
// handle while the init runs nook and reopens it for writing once the init has
// exec'd the user process. nook runs the init from a read-only mount of itself:
// the handle must be on a read-only mount (without protection it is on the
// build directory's writable filesystem), and the reopen must fail (EROFS, or
// ETXTBSY while a parallel test runs the same binary: the kernel checks
// text-busy first).
func TestRuntimeBinaryProtected(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	pid, _ := e.create(e.bundle(args("sleep", "100")), id)
	handle, err := unix.Open(fmt.Sprintf("/proc/%d/exe", pid), unix.O_PATH|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(handle)
	var st unix.Statfs_t
	must(t, unix.Fstatfs(handle, &st))
	if st.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("the init's binary is on a writable mount (statfs flags %#x)", st.Flags)
	}
	e.ok(e.nook("start", id))
	e.waitStatus(id, "running")
	for _, flag := range []int{unix.O_WRONLY, unix.O_RDWR} {
		fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", handle), flag|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
			t.Errorf("the init's binary was reopened for writing (flags %#x) after the init exec'd", flag)
			continue
		}
		if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.ETXTBSY) {
			t.Errorf("reopen the init's binary for writing: %v, want EROFS", err)
		}
	}
	e.ok(e.nook("delete", "--force", id))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Without a cgroup namespace the container sees host cgroup directories, so
// they must be read-only even when the mount does not say "ro" (CVE-2023-25809).
func TestCgroupfsReadOnlyWithoutCgroupNamespace(t *testing.T) {
	e := newEnv(t)
	noRO := func(s *specs.Spec) {
		for i, m := range s.Mounts {
			if m.Type == "cgroup" {
				s.Mounts[i].Options = []string{"nosuid", "noexec", "nodev"}
			}
		}
	}
	out := e.runOK(sh("grep ' /sys/fs/cgroup' /proc/self/mounts; touch /sys/fs/cgroup/pids/nook-escape 2>&1 || echo write-refused"),
		withoutNamespace(specs.CgroupNamespace), noRO)
	if !strings.Contains(out, "write-refused") {
		t.Fatalf("writing into the host's cgroupfs was not refused:\n%s", out)
	}
	for _, line := range nonEmptyLines(out) {
		if strings.HasPrefix(line, "cgroup") || strings.HasPrefix(line, "tmpfs") {
			if fields := strings.Fields(line); len(fields) > 3 && !strings.HasPrefix(fields[3], "ro") {
				t.Errorf("cgroup mount is not read-only: %s", line)
			}
		}
	}
}

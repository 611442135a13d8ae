package containerinit

// Order and arguments of the init's own steps, checked without root: the
// session steps (enterSession), everything from the container's names to
// the execve (startProcess) and an exec'd process's set-up (runExec) run
// against a kernel.Recorder standing in the rootfs a finished rootfs.Setup
// leaves (the rootfs's steps have their own tests, in package rootfs). The
// parent is a socket pair whose other end the test reads. Each test is
// named after the rule it checks; swapping two steps in init.go makes at
// least one of them fail.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/kernel"
	"github.com/nookrt/nook/libcontainer/kernel/kerneltest"
	"github.com/nookrt/nook/libcontainer/rlimits"
	"github.com/nookrt/nook/seccomp"
	"github.com/nookrt/nook/spec"
)

const stepsRootfs = "/bundle/rootfs"

// initRunTest is one run of the init's steps on a Recorder.
type initRunTest struct {
	kerneltest.Log
	r        *kernel.Recorder
	err      error
	messages []initproto.Type // what the parent received, in order
	warnings []string
}

// newRecorder is a Recorder inside the rootfs of a small image: /bin/sh,
// a passwd with root and u (1000, in group wheel), u's home.
func newRecorder(t *testing.T) *kernel.Recorder {
	t.Helper()
	r, err := kernel.NewRecorder(t.TempDir(), stepsRootfs)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(r.Host(), stepsRootfs)
	files := map[string]string{
		"/bin/sh":     "#!fake\n",
		"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n",
		"/etc/group":  "root:x:0:\nwheel:x:10:u\nu:x:1000:\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(root+p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"/root", "/home/u", "/proc/self"} {
		if err := os.MkdirAll(root+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.InRootfs()
	return r
}

// initConfig is the Config the parent sends for s.
func initConfig(s *specs.Spec) *initproto.InitConfig {
	return &initproto.InitConfig{ID: "c1", Spec: s, Rootfs: stepsRootfs, Bundle: "/bundle", Pid: 4242}
}

// runInit runs step (startProcess, runExec, …) as an initRun on r, whose
// parent is a socket pair, and returns what was recorded and received.
func runInit(t *testing.T, r *kernel.Recorder, step func(*initRun) error) initRunTest {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock, parent := os.NewFile(uintptr(fds[0]), "init-sock"), os.NewFile(uintptr(fds[1]), "parent")
	defer parent.Close()
	i := &initRun{sock: sock, sys: r}
	run := initRunTest{r: r, err: step(i)}
	run.Calls = r.Calls()
	if !i.ready {
		sock.Close()
	}
	for {
		typ, payload, err := initproto.Recv(parent)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parent: %v", err)
		}
		run.messages = append(run.messages, typ)
		if typ == initproto.Warning {
			run.warnings = append(run.warnings, string(payload))
		}
	}
	run.Extra = fmt.Sprintf("  parent got %v\n", run.messages)
	return run
}

// start runs startProcess: the container init's steps once its rootfs is
// made, with the start barrier (which the Recorder passes at once).
func start(t *testing.T, r *kernel.Recorder, cfg *initproto.InitConfig) initRunTest {
	t.Helper()
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	barrier := os.NewFile(uintptr(fd), "exec.fifo")
	defer barrier.Close()
	return runInit(t, r, func(i *initRun) error { return i.startProcess(cfg, barrier) })
}

func mustStart(t *testing.T, cfg *initproto.InitConfig) initRunTest {
	t.Helper()
	run := start(t, newRecorder(t), cfg)
	if run.err != nil {
		t.Fatalf("startProcess: %v\n%s", run.err, run.String())
	}
	return run
}

// step matches a recorded call (kerneltest.Step).
type step = kerneltest.Step

// The steps every test names.
var (
	call = kerneltest.Call
	op   = kerneltest.Op
)

func prctl(option, arg string) step {
	return step{Desc: "prctl " + option + " " + arg, Match: func(c kernel.Call) bool {
		return c.Op == "prctl" && c.Path == option && c.Data == arg
	}}
}

func capset(s caps.Sets) step {
	return step{Desc: "capset " + kernel.CapsetData(s), Match: func(c kernel.Call) bool {
		return c.Op == "capset" && c.Data == kernel.CapsetData(s)
	}}
}

var barrierRead = call("read", "exec.fifo")

// only fails unless exactly one call matches s, and returns it.
func (run initRunTest) only(t *testing.T, s step) kernel.Call {
	t.Helper()
	idx := run.All(s)
	if len(idx) != 1 {
		t.Fatalf("want one %s, got %d:\n%s", s.Desc, len(idx), run.String())
	}
	return run.Calls[idx[0]]
}

// finalSets is what the init applies right before the execve for s.
func finalSets(t *testing.T, s *specs.Spec) caps.Sets {
	t.Helper()
	sets, _, err := caps.FromSpec(s.Process.Capabilities)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

func defaultConfig() *initproto.InitConfig { return initConfig(spec.Default(false)) }

var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// dockerConfig is what Docker writes for `docker run --user 1000:1000`
// (with noNewPrivileges from --security-opt no-new-privileges): its
// default capabilities, rlimits, an AppArmor profile, a hostname, an env
// without HOME and its seccomp profile (here a small one: compiled for
// real, recorded when loaded).
func dockerConfig(t *testing.T, noNewPrivileges bool) *initproto.InitConfig {
	t.Helper()
	s := spec.Default(false)
	p := s.Process
	p.Terminal = false
	p.Args = []string{"sh", "-c", "id"}
	p.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web"}
	p.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}}
	p.Cwd = "/home/u"
	p.NoNewPrivileges = noNewPrivileges
	p.Capabilities = &specs.LinuxCapabilities{Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps}
	p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1048576, Hard: 1048576}, {Type: "RLIMIT_NPROC", Soft: 4096, Hard: 8192}}
	p.ApparmorProfile = "docker-default"
	s.Hostname = "web"
	s.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"kexec_load"}, Action: specs.ActErrno}},
	}
	cfg := initConfig(s)
	prog, err := seccomp.Compile(s.Linux.Seccomp, nil)
	if err != nil {
		t.Skipf("compile a seccomp profile (libseccomp): %v", err)
	}
	cfg.Seccomp = prog
	return cfg
}

// userConfig is `nook run --user 1000:1000` with process.cwd u's home.
func userConfig() *initproto.InitConfig {
	cfg := defaultConfig()
	cfg.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	cfg.Spec.Process.Cwd = "/home/u"
	return cfg
}

func TestSessionStepsComeFirstAndOnlyForTheContainersInit(t *testing.T) {
	withCgroupNS := spec.Default(false)
	withCgroupNS.Linux.Namespaces = append(withCgroupNS.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	cases := []struct {
		name string
		cfg  *initproto.InitConfig
		want []string
	}{
		{"default", defaultConfig(), []string{"loopback_up", "setsid"}},
		{"cgroupns", initConfig(withCgroupNS), []string{fmt.Sprintf("unshare flags %#x", unix.CLONE_NEWCGROUP), "loopback_up", "setsid"}},
		// An exec joins the container's namespaces: nothing to make.
		{"exec", &initproto.InitConfig{Exec: true, Spec: withCgroupNS}, []string{"setsid"}},
		// The terminal's set-up makes the session.
		{"terminal", &initproto.InitConfig{Spec: spec.Default(true), ConsoleFd: 9}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := runInit(t, newRecorder(t), func(i *initRun) error { return i.enterSession(c.cfg) })
			if run.err != nil {
				t.Fatal(run.err)
			}
			var got []string
			for _, call := range run.Calls {
				got = append(got, call.String())
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestNamesAndKeyringAreSetBeforeTheProcessSetUp(t *testing.T) {
	cfg := defaultConfig()
	cfg.Spec.Hostname, cfg.Spec.Domainname = "box", "example.org"
	run := mustStart(t, cfg)
	run.InOrder(t, call("sethostname", "box"), call("setdomainname", "example.org"),
		call("keyctl_join_session_keyring", "c1"), call("chdir", "/"), op("setresuid"))
	if run.Calls[0].Op != "sethostname" {
		t.Fatalf("first call is %s:\n%s", run.Calls[0], run.String())
	}

	cfg = defaultConfig()
	cfg.Spec.Hostname = ""
	cfg.NoNewKeyring = true
	run = mustStart(t, cfg)
	run.None(t, op("keyctl_join_session_keyring"))
	run.None(t, op("sethostname"))
}

func TestCwdIsEnteredAsRootBeforeTheUserSwitch(t *testing.T) {
	for name, cfg := range map[string]*initproto.InitConfig{"default": defaultConfig(), "user": userConfig()} {
		t.Run(name, func(t *testing.T) {
			run := mustStart(t, cfg)
			cwd := cfg.Spec.Process.Cwd
			run.only(t, call("chdir", cwd))
			run.InOrder(t, call("chdir", cwd), op("drop_bounding"), op("setresuid"), op("umask"))
		})
	}
}

func TestCwdRefusedToRootIsEnteredAgainAsTheUser(t *testing.T) {
	for _, errno := range []error{unix.EACCES, unix.EPERM} {
		r := newRecorder(t)
		r.FailOnce("chdir", "/home/u", errno)
		run := start(t, r, userConfig())
		if run.err != nil {
			t.Fatalf("%v: startProcess: %v\n%s", errno, run.err, run.String())
		}
		// As runc: the second try comes after the umask, as the user.
		run.InOrder(t, call("chdir", "/home/u"), call("setresuid", "1000"), op("umask"), call("chdir", "/home/u"), barrierRead)
		if n := len(run.All(call("chdir", "/home/u"))); n != 2 {
			t.Fatalf("%v: %d chdirs, want 2:\n%s", errno, n, run.String())
		}
	}
}

func TestCwdFailingOtherwiseFailsBeforeTheUserSwitch(t *testing.T) {
	r := newRecorder(t)
	r.FailOnce("chdir", "/home/u", unix.ENOENT)
	run := start(t, r, userConfig())
	if run.err == nil || !strings.Contains(run.err.Error(), "chdir to process.cwd /home/u") || !errors.Is(run.err, unix.ENOENT) {
		t.Fatalf("got %v, want the chdir's ENOENT naming process.cwd", run.err)
	}
	run.None(t, op("setresuid"))
	if slices.Contains(run.messages, initproto.Ready) {
		t.Fatalf("Ready sent despite the error: %v", run.messages)
	}
}

func TestCwdStillRefusedAsTheUserFailsTheStart(t *testing.T) {
	r := newRecorder(t)
	r.Fail("chdir", "/home/u", unix.EACCES)
	run := start(t, r, userConfig())
	if run.err == nil || !errors.Is(run.err, unix.EACCES) {
		t.Fatalf("got %v, want EACCES", run.err)
	}
	run.InOrder(t, call("chdir", "/home/u"), call("setresuid", "1000"), call("chdir", "/home/u"))
	run.None(t, op("execve"))
}

func TestIdsAreSetGroupsThenGidThenUidBetweenKeepCapsOnAndOff(t *testing.T) {
	run := mustStart(t, dockerConfig(t, true))
	run.InOrder(t, op("drop_bounding"), prctl("PR_SET_KEEPCAPS", "1"),
		call("setgroups", "10"), call("setresgid", "1000"), call("setresuid", "1000"),
		prctl("PR_SET_KEEPCAPS", "0"), op("capset"))
	for _, s := range []step{op("setgroups"), op("setresgid"), op("setresuid"), op("drop_bounding")} {
		run.only(t, s)
	}
	drop := run.only(t, op("drop_bounding"))
	if want := finalSets(t, dockerConfig(t, true).Spec).Bounding; caps.Set(drop.Flags) != want {
		t.Errorf("bounding set kept %s, want %s", drop.Data, want)
	}
}

func TestUsernameIsResolvedInTheContainersPasswdAndGroup(t *testing.T) {
	cfg := defaultConfig()
	cfg.Spec.Process.User = specs.User{Username: "u", AdditionalGids: []uint32{20}}
	run := mustStart(t, cfg)
	// The explicit gids first, then u's groups in /etc/group (its primary
	// group among them: LookupGroups counts it, as getgrouplist(3) does).
	run.InOrder(t, call("setgroups", "20,1000,10"), call("setresgid", "1000"), call("setresuid", "1000"))
	exec, _ := run.r.LastExec()
	if !slices.Contains(exec.Env, "HOME=/home/u") {
		t.Errorf("env %q: want u's HOME=/home/u", exec.Env)
	}
}

func TestSupplementaryGroupsAreDroppedWhereSetgroupsIsDenied(t *testing.T) {
	r := newRecorder(t)
	// The container's /proc/self/setgroups (the init reads it past pivot_root).
	if err := os.WriteFile(filepath.Join(r.Host(), stepsRootfs, "proc/self/setgroups"), []byte("deny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := initConfig(spec.Default(true))
	cfg.Userns = true
	cfg.Spec.Process.User = specs.User{Username: "u"}
	run := start(t, r, cfg)
	if run.err != nil {
		t.Fatalf("startProcess: %v\n%s", run.err, run.String())
	}
	run.InOrder(t, call("setgroups", ""), call("setresgid", "1000"), call("setresuid", "1000"))
	if len(run.warnings) != 1 || !strings.Contains(run.warnings[0], "supplementary groups [10] not set") {
		t.Fatalf("warnings %q: want one naming group 10", run.warnings)
	}
	// Warnings go before Ready, while the parent listens.
	if !slices.Equal(run.messages, []initproto.Type{initproto.Warning, initproto.Ready}) {
		t.Fatalf("parent got %v, want a warning then Ready", run.messages)
	}
}

func TestSetgroupsRefusedForNoGroupsIsNoError(t *testing.T) {
	r := newRecorder(t)
	r.Fail("setgroups", "", unix.EPERM)
	run := start(t, r, initConfig(spec.Default(true)))
	if run.err != nil {
		t.Fatalf("startProcess: %v\n%s", run.err, run.String())
	}
	r = newRecorder(t)
	r.Fail("setgroups", "10", unix.EPERM)
	run = start(t, r, dockerConfig(t, true))
	if run.err == nil || !strings.Contains(run.err.Error(), "process.user.additionalGids") {
		t.Fatalf("got %v, want setgroups' error naming process.user.additionalGids", run.err)
	}
}

func TestInterimCapabilitiesKeepSysResourceUntilTheRlimitsAfterTheBarrier(t *testing.T) {
	cfg := dockerConfig(t, true)
	run := mustStart(t, cfg)
	final := finalSets(t, cfg.Spec)
	interim := final
	interim.Permitted = interim.Permitted.With(unix.CAP_SYS_RESOURCE)
	interim.Effective = interim.Effective.With(unix.CAP_SYS_RESOURCE)
	interim.Ambient = 0
	run.InOrder(t, call("setresuid", "1000"), capset(interim), barrierRead,
		call("prlimit", "RLIMIT_NOFILE"), call("prlimit", "RLIMIT_NPROC"), capset(final), op("cap_ambient"), op("execve"))
	if c := run.only(t, call("prlimit", "RLIMIT_NPROC")); c.Data != "4096:8192" {
		t.Errorf("RLIMIT_NPROC set to %s, want 4096:8192", c.Data)
	}
	if c := run.only(t, op("cap_ambient")); c.Flags != uint64(final.Ambient) {
		t.Errorf("ambient %s, want %s", c.Data, final.Ambient)
	}
}

func TestWithoutSysResourceTheInterimCapabilitiesAreTheFinalOnes(t *testing.T) {
	r := newRecorder(t)
	cfg := defaultConfig()
	final := finalSets(t, cfg.Spec)
	r.SetPermitted(final.Permitted) // an init that lacks CAP_SYS_RESOURCE
	run := start(t, r, cfg)
	if run.err != nil {
		t.Fatalf("startProcess: %v\n%s", run.err, run.String())
	}
	interim := final
	interim.Ambient = 0
	run.InOrder(t, call("setresuid", "0"), capset(interim), barrierRead, capset(final))
}

func TestRlimitsAreAppliedAfterTheStartBarrierOnly(t *testing.T) {
	for name, cfg := range map[string]*initproto.InitConfig{"default": defaultConfig(), "docker": dockerConfig(t, true)} {
		t.Run(name, func(t *testing.T) {
			run := mustStart(t, cfg)
			run.only(t, barrierRead)
			limits := run.All(op("prlimit"))
			if len(limits) != len(cfg.Spec.Process.Rlimits) || limits[0] < run.All(barrierRead)[0] {
				t.Fatalf("want the %d rlimits after the barrier:\n%s", len(cfg.Spec.Process.Rlimits), run.String())
			}
		})
	}
}

func TestNoNewPrivsIsSetBeforeTheSeccompFilterWhichFollowsTheFinalCapabilities(t *testing.T) {
	cfg := dockerConfig(t, true)
	run := mustStart(t, cfg)
	final := finalSets(t, cfg.Spec)
	run.InOrder(t, barrierRead, call("close_range", "3"), prctl("PR_SET_NO_NEW_PRIVS", "1"),
		capset(final), op("cap_ambient"), op("seccomp"), op("execve"))
	run.only(t, op("seccomp"))
	// With no_new_privs the filter needs no CAP_SYS_ADMIN: none is kept.
	for _, i := range run.All(op("capset")) {
		if capsetHas(t, run.Calls[i], unix.CAP_SYS_ADMIN) {
			t.Fatalf("CAP_SYS_ADMIN kept (%s):\n%s", run.Calls[i], run.String())
		}
	}
}

// capsetHas: the effective set of a capset call holds c.
func capsetHas(t *testing.T, c kernel.Call, cap int) bool {
	t.Helper()
	var e, p, i uint64
	if _, err := fmt.Sscanf(c.Data, "effective %v permitted %v inheritable %v", &e, &p, &i); err != nil {
		t.Fatalf("capset data %q: %v", c.Data, err)
	}
	return caps.Set(e).Has(cap)
}

func TestWithoutNoNewPrivsTheFilterIsLoadedWhileSysAdminIsHeldThenTheFinalCapabilities(t *testing.T) {
	cfg := dockerConfig(t, false)
	run := mustStart(t, cfg)
	final := finalSets(t, cfg.Spec)
	interim := run.Calls[run.All(op("capset"))[0]]
	if !capsetHas(t, interim, unix.CAP_SYS_ADMIN) {
		t.Fatalf("interim capabilities %s: want CAP_SYS_ADMIN kept for the filter", interim)
	}
	run.None(t, prctl("PR_SET_NO_NEW_PRIVS", "1"))
	run.InOrder(t, barrierRead, op("prlimit"), call("close_range", "3"), op("seccomp"), capset(final), op("cap_ambient"), op("execve"))
}

func TestWithoutNoNewPrivsButWithSysAdminTheFilterFollowsTheFinalCapabilities(t *testing.T) {
	cfg := dockerConfig(t, false)
	withAdmin := append(slices.Clone(dockerCaps), "CAP_SYS_ADMIN")
	cfg.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: withAdmin, Effective: withAdmin, Permitted: withAdmin}
	run := mustStart(t, cfg)
	run.InOrder(t, barrierRead, capset(finalSets(t, cfg.Spec)), op("cap_ambient"), op("seccomp"), op("execve"))
}

func TestLSMLabelsAreSetAfterTheBarrierBeforeTheExec(t *testing.T) {
	cfg := dockerConfig(t, true)
	cfg.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0"
	run := mustStart(t, cfg)
	run.InOrder(t, barrierRead, call("apparmor_exec", "docker-default"),
		call("selinux_exec", "system_u:system_r:container_t:s0"), op("seccomp"), op("execve"))
	run = mustStart(t, defaultConfig())
	run.None(t, op("apparmor_exec"))
}

func TestFdsAreMarkedCloseOnExecAfterThePreservedOnesBeforeTheExec(t *testing.T) {
	for preserve, first := range map[int]string{0: "3", 2: "5"} {
		cfg := defaultConfig()
		cfg.PreserveFds = preserve
		run := mustStart(t, cfg)
		c := run.only(t, op("close_range"))
		if c.Path != first || c.Data != strconv.FormatUint(uint64(^uint(0)), 10) || c.Flags != unix.CLOSE_RANGE_CLOEXEC {
			t.Errorf("preserve %d: got %s, want close_range %s..max CLOEXEC", preserve, c, first)
		}
		run.InOrder(t, barrierRead, op("close_range"), op("execve"))
	}
}

func TestExecIsTheLastStepWithTheResolvedPathArgvAndEnv(t *testing.T) {
	cases := map[string]struct {
		cfg      *initproto.InitConfig
		path     string
		argv     []string
		homeWant string
	}{
		"default": {defaultConfig(), "/bin/sh", []string{"sh"}, "HOME=/root"},
		"docker":  {dockerConfig(t, true), "/bin/sh", []string{"sh", "-c", "id"}, "HOME=/home/u"},
		"user":    {userConfig(), "/bin/sh", []string{"sh"}, "HOME=/home/u"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			env := slices.Clone(c.cfg.Spec.Process.Env)
			run := mustStart(t, c.cfg)
			last := run.Calls[len(run.Calls)-1]
			if last.Op != "execve" || last.Path != c.path {
				t.Fatalf("last call is %s, want execve %s:\n%s", last, c.path, run.String())
			}
			exec, _ := run.r.LastExec()
			if !slices.Equal(exec.Argv, c.argv) {
				t.Errorf("argv %q, want %q", exec.Argv, c.argv)
			}
			if want := append(env, c.homeWant); !slices.Equal(exec.Env, want) {
				t.Errorf("env %q, want %q", exec.Env, want)
			}
			if !slices.Equal(run.messages, []initproto.Type{initproto.Ready}) {
				t.Errorf("parent got %v, want Ready", run.messages)
			}
		})
	}
}

func TestListenFdsAreAddedToTheExecsEnv(t *testing.T) {
	cfg := defaultConfig()
	cfg.Spec.Process.Env = append(cfg.Spec.Process.Env, "HOME=/srv")
	cfg.PreserveFds, cfg.ListenFds = 2, 2
	env := slices.Clone(cfg.Spec.Process.Env)
	run := mustStart(t, cfg)
	exec, _ := run.r.LastExec()
	want := append(env, "LISTEN_FDS=2", "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	if !slices.Equal(exec.Env, want) {
		t.Fatalf("env %q, want %q", exec.Env, want)
	}
}

func TestAMissingBinaryFailsBeforeReadyAndTheUserSwitch(t *testing.T) {
	cfg := defaultConfig()
	cfg.Spec.Process.Args = []string{"nosuchprogram"}
	run := start(t, newRecorder(t), cfg)
	if run.err == nil || !strings.Contains(run.err.Error(), `"nosuchprogram"`) {
		t.Fatalf("got %v, want an error naming nosuchprogram", run.err)
	}
	run.None(t, op("setresuid"))
	run.None(t, barrierRead)
	if len(run.messages) != 0 {
		t.Fatalf("parent got %v, want nothing (the caller reports the error)", run.messages)
	}
}

func TestAnExecdProcessTakesTheSameStepsWithoutTheBarrier(t *testing.T) {
	cfg := userConfig()
	cfg.Exec = true
	r := newRecorder(t)
	run := runInit(t, r, func(i *initRun) error { return i.runExec(cfg) })
	if run.err != nil {
		t.Fatalf("runExec: %v\n%s", run.err, run.String())
	}
	run.None(t, barrierRead)
	run.None(t, op("keyctl_join_session_keyring"))
	run.InOrder(t, call("chdir", "/home/u"), call("setresuid", "1000"), op("prlimit"),
		call("close_range", "3"), prctl("PR_SET_NO_NEW_PRIVS", "1"), op("capset"), op("execve"))
	if run.Calls[len(run.Calls)-1].Op != "execve" {
		t.Fatalf("execve is not the last call:\n%s", run.String())
	}
	if !slices.Equal(run.messages, []initproto.Type{initproto.Ready}) {
		t.Fatalf("parent got %v, want Ready", run.messages)
	}
}

func TestUmaskIsTheProcessesOrTheDefault(t *testing.T) {
	run := mustStart(t, defaultConfig())
	if c := run.only(t, op("umask")); c.Flags != 0o022 {
		t.Errorf("umask %#o, want 022", c.Flags)
	}
	cfg := defaultConfig()
	m := uint32(0o077)
	cfg.Spec.Process.User.Umask = &m
	run = mustStart(t, cfg)
	if c := run.only(t, op("umask")); c.Flags != 0o077 {
		t.Errorf("umask %#o, want 077", c.Flags)
	}
}

func TestACwdOutsideTheRootIsRefusedBeforeReady(t *testing.T) {
	r := newRecorder(t)
	// A host directory the init holds an fd of (CVE-2024-21626): a cwd
	// of /proc/self/fd/N leads there, out of the container's root.
	dir := filepath.Join(r.Host(), "srv")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cfg := defaultConfig()
	cfg.Spec.Process.Cwd = "/proc/self/fd/" + strconv.Itoa(fd)
	run := start(t, r, cfg)
	if run.err == nil || !strings.Contains(run.err.Error(), "outside the container's root") {
		t.Fatalf("got %v, want the cwd refused as outside the root\n%s", run.err, run.String())
	}
	run.InOrder(t, call("chdir", "host:/srv"), op("setresuid"))
	if len(run.messages) != 0 {
		t.Fatalf("parent got %v, want nothing", run.messages)
	}
}

// A container started at once goes from the barrier to its process; one
// left in created gives back its program's pages while it waits, and
// nothing else about its start changes.
func TestOnlyAParkedInitReleasesItsProgramPages(t *testing.T) {
	run := mustStart(t, defaultConfig())
	run.InOrder(t, call("poll", "exec.fifo"), barrierRead, op("execve"))
	run.None(t, op("park"))
	if c := run.only(t, op("poll")); c.Data != settleAfter.String() {
		t.Errorf("waited %s before settling down, want %s", c.Data, settleAfter)
	}

	r := newRecorder(t)
	r.SetStartLate(true)
	late := start(t, r, defaultConfig())
	if late.err != nil {
		t.Fatalf("startProcess: %v\n%s", late.err, late.String())
	}
	late.InOrder(t, call("poll", "exec.fifo"), call("park", "exec.fifo"), barrierRead, op("execve"))
	// The same steps, bar the park.
	if a, b := len(run.Calls), len(late.Calls)-1; a != b {
		t.Errorf("%d steps started at once, %d started late (less the park):\n%s\n%s", a, b, run.String(), late.String())
	}
}

// startParkable runs startProcess with start coming late and the parker in
// the binary.
func startParkable(t *testing.T, cfg *initproto.InitConfig) initRunTest {
	t.Helper()
	r := newRecorder(t)
	r.SetStartLate(true)
	r.SetParker(true)
	run := start(t, r, cfg)
	if run.err != nil {
		t.Fatalf("startProcess: %v\n%s", run.err, run.String())
	}
	return run
}

// A container left in created hands its wait to the parker: every step
// that comes after the barrier for a container started at once comes
// before it, in the same order, the parker is made after the fds are
// closed and before the filter is loaded, and it execs what the init would
// have.
func TestALongWaitIsHandedToTheParker(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		cfg := dockerConfig(t, nnp)
		cfg.Spec.Process.ApparmorProfile = ""
		run := startParkable(t, cfg)
		run.None(t, op("park"))
		run.None(t, barrierRead)
		run.None(t, op("execve"))
		run.InOrder(t, call("poll", "exec.fifo"), op("prlimit"), op("close_range"), call("parker", "exec.fifo"),
			op("seccomp"), op("execve_parker"))
		parked, ok := run.r.LastExec()
		if !ok {
			t.Fatalf("no_new_privs %v: nothing execed\n%s", nnp, run.String())
		}

		atOnce := dockerConfig(t, nnp)
		atOnce.Spec.Process.ApparmorProfile = ""
		now := mustStart(t, atOnce)
		if want, _ := now.r.LastExec(); !reflect.DeepEqual(parked, want) {
			t.Errorf("no_new_privs %v: the parker execs %+v, the init would have execed %+v", nnp, parked, want)
		}
		// The same steps, less the barrier's read, plus the parker's.
		var a, b []string
		for _, c := range now.Calls {
			if c.Op != "read" && c.Op != "execve" {
				a = append(a, c.Op)
			}
		}
		for _, c := range run.Calls {
			if c.Op != "parker" && c.Op != "execve_parker" {
				b = append(b, c.Op)
			}
		}
		if !slices.Equal(a, b) {
			t.Errorf("no_new_privs %v: steps started at once %v, parked %v", nnp, a, b)
		}
	}
}

// The parker gets the RLIMIT_NOFILE the init started with back only when
// the config sets none (the config's stands otherwise), as syscall.Exec
// does for the init's own exec.
func TestTheParkerRestoresNofileOnlyWithoutTheConfigs(t *testing.T) {
	with := defaultConfig()
	if !setsNofile(mustLimits(t, with)) {
		t.Fatal("the default config sets no RLIMIT_NOFILE")
	}
	if c := startParkable(t, with).only(t, op("parker")); c.Data != "" {
		t.Errorf("with the config's RLIMIT_NOFILE: parker step %q, want no restore", c.Data)
	}
	without := defaultConfig()
	without.Spec.Process.Rlimits = nil
	if c := startParkable(t, without).only(t, op("parker")); c.Data != "restore nofile" {
		t.Errorf("without an RLIMIT_NOFILE: parker step %q, want restore nofile", c.Data)
	}
}

func mustLimits(t *testing.T, cfg *initproto.InitConfig) []rlimits.Rlimit {
	t.Helper()
	l, err := rlimits.FromSpec(cfg.Spec.Process.Rlimits)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// What the parker cannot do, the init keeps waiting for: it waits as it
// is (park) and takes its steps after start.
func TestAnInitTheParkerCannotTakeWaitsAsItIs(t *testing.T) {
	for name, change := range map[string]func(*initproto.InitConfig){
		"startContainer hooks": func(c *initproto.InitConfig) {
			c.Spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}}
		},
		"an AppArmor profile": func(c *initproto.InitConfig) { c.Spec.Process.ApparmorProfile = "p" },
		"an SELinux label":    func(c *initproto.InitConfig) { c.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0" },
		"a filter refusing execveat": func(c *initproto.InitConfig) {
			prog, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"execveat"}, Action: specs.ActErrno}}}, nil)
			if err != nil {
				t.Skipf("compile a seccomp profile (libseccomp): %v", err)
			}
			c.Seccomp = prog
		},
	} {
		cfg := defaultConfig()
		change(cfg)
		run := startParkable(t, cfg)
		run.InOrder(t, call("poll", "exec.fifo"), call("park", "exec.fifo"), barrierRead, op("execve"))
		if len(run.All(op("parker"))) != 0 {
			t.Errorf("%s: the parker was made:\n%s", name, run.String())
		}
	}
}

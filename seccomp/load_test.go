package seccomp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func uintPtr(v uint) *uint { return &v }

func TestDenyMkdirWithEPERM(t *testing.T) {
	p := mustCompile(t, "deny-mkdir.json", "")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	r := runChild(t, p, []string{"mkdir:" + a, "mkdirat:" + b, "getppid"}, nil)
	r.mustExit(t)
	if r.probes["mkdir"] != syscall.EPERM || r.probes["mkdirat"] != syscall.EPERM {
		t.Errorf("mkdir=%v mkdirat=%v, want EPERM for both", r.probes["mkdir"], r.probes["mkdirat"])
	}
	if r.probes["getppid"] != 0 {
		t.Errorf("getppid=%v: the default action ALLOW was not applied", r.probes["getppid"])
	}
	for _, d := range []string{a, b} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s exists despite the filter (stat: %v)", d, err)
		}
	}
}

func TestErrnoRetHonoured(t *testing.T) {
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(syscall.EXDEV))},
			// errnoRet 0: the syscall "succeeds" without running.
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintPtr(0)},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := runChild(t, p, []string{"mkdirat:" + filepath.Join(dir, "a"), "mkdir:" + filepath.Join(dir, "b")}, nil)
	r.mustExit(t)
	if r.probes["mkdirat"] != syscall.EXDEV {
		t.Errorf("mkdirat=%v, want EXDEV", r.probes["mkdirat"])
	}
	if r.probes["mkdir"] != 0 {
		t.Errorf("mkdir=%v, want success (errnoRet 0)", r.probes["mkdir"])
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Errorf("errnoRet 0 ran the syscall (stat: %v)", err)
	}
}

func TestDefaultErrnoRetHonoured(t *testing.T) {
	s := loadProfile(t, "docker-default.json", "")
	s.DefaultErrnoRet = uintPtr(uint(syscall.EOPNOTSUPP))
	p, err := Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runChild(t, p, []string{"unshare"}, nil)
	r.mustExit(t)
	if r.probes["unshare"] != syscall.EOPNOTSUPP {
		t.Errorf("unshare=%v, want EOPNOTSUPP (defaultErrnoRet)", r.probes["unshare"])
	}
}

func TestKillKillsWithSIGSYS(t *testing.T) {
	t.Run("SCMP_ACT_KILL/busybox", func(t *testing.T) {
		bb := busybox(t)
		p := mustCompile(t, "kill-mkdir.json", "")
		dir := filepath.Join(t.TempDir(), "d")
		r := runChild(t, p, nil, []string{bb, "mkdir", dir})
		if sig := r.signal(); sig != syscall.SIGSYS {
			t.Fatalf("busybox mkdir ended with %v (signal %v), want death by SIGSYS\nstderr: %s", r.state, sig, r.stderr)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s exists (stat: %v)", dir, err)
		}
	})
	t.Run("SCMP_ACT_KILL_PROCESS", func(t *testing.T) {
		// The Go child is multi-threaded: KILL_PROCESS takes all threads.
		p, err := Compile(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActKillProcess}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := runChild(t, p, []string{"mkdirat:" + filepath.Join(t.TempDir(), "d")}, nil)
		if sig := r.signal(); sig != syscall.SIGSYS {
			t.Fatalf("child ended with %v, want death by SIGSYS\nstderr: %s", r.state, r.stderr)
		}
	})
}

func TestTrapSendsSIGSYS(t *testing.T) {
	bb := busybox(t)
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActTrap}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// busybox has no SIGSYS handler, so the trap's SIGSYS kills it.
	r := runChild(t, p, nil, []string{bb, "mkdir", filepath.Join(t.TempDir(), "d")})
	if sig := r.signal(); sig != syscall.SIGSYS {
		t.Fatalf("busybox mkdir ended with %v, want SIGSYS", r.state)
	}
}

func TestTraceWithoutTracerIsENOSYS(t *testing.T) {
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActTrace, ErrnoRet: uintPtr(42)}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runChild(t, p, []string{"mkdirat:" + filepath.Join(t.TempDir(), "d")}, nil)
	r.mustExit(t)
	// seccomp(2): with no tracer attached, SECCOMP_RET_TRACE fails the
	// syscall with ENOSYS.
	if r.probes["mkdirat"] != syscall.ENOSYS {
		t.Errorf("mkdirat=%v, want ENOSYS", r.probes["mkdirat"])
	}
}

func TestLogAllows(t *testing.T) {
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActLog},
			{Names: []string{"mkdir"}, Action: specs.ActErrno},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logged, denied := filepath.Join(dir, "logged"), filepath.Join(dir, "denied")
	r := runChild(t, p, []string{"mkdirat:" + logged, "mkdir:" + denied}, nil)
	r.mustExit(t)
	if r.probes["mkdirat"] != 0 {
		t.Errorf("mkdirat=%v, want success under SCMP_ACT_LOG", r.probes["mkdirat"])
	}
	if _, err := os.Stat(logged); err != nil {
		t.Errorf("SCMP_ACT_LOG did not let mkdirat run: %v", err)
	}
	if r.probes["mkdir"] != syscall.EPERM {
		t.Errorf("mkdir=%v, want EPERM (the filter is loaded)", r.probes["mkdir"])
	}
}

func TestPersonalityArgumentValue(t *testing.T) {
	p := mustCompile(t, "personality.json", "")
	r := runChild(t, p, []string{"personality:0xffffffff"}, nil)
	r.mustExit(t)
	if r.probes["personality"] != 0 {
		t.Errorf("personality(0xffffffff)=%v, want allowed", r.probes["personality"])
	}
	r = runChild(t, p, []string{"personality:8"}, nil)
	r.mustExit(t)
	if r.probes["personality"] != syscall.EPERM {
		t.Errorf("personality(PER_LINUX32)=%v, want EPERM", r.probes["personality"])
	}
}

func TestTwoConditionsOnOneArgument(t *testing.T) {
	// Both values of arg 0 are denied (OR), any other value passes.
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			Names:    []string{"personality"},
			Action:   specs.ActErrno,
			ErrnoRet: uintPtr(uint(syscall.EXDEV)),
			Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: 8},
				{Index: 0, Op: specs.OpEqualTo, Value: 0x0400000},
			},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]syscall.Errno{"8": syscall.EXDEV, "0x0400000": syscall.EXDEV, "0xffffffff": 0} {
		r := runChild(t, p, []string{"personality:" + arg}, nil)
		r.mustExit(t)
		if got := r.probes["personality"]; got != want {
			t.Errorf("personality(%s)=%v, want %v", arg, got, want)
		}
	}
}

func TestUnknownSyscallSkipped(t *testing.T) {
	var debug []string
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"nook_no_such_syscall", "mkdirat"}, Action: specs.ActErrno},
		},
	}, func(format string, args ...any) { debug = append(debug, fmt.Sprintf(format, args...)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(debug) != 1 || !strings.Contains(debug[0], `linux.seccomp.syscalls[0].names[0]: syscall "nook_no_such_syscall" is unknown`) {
		t.Errorf("debug lines %q, want one naming the unknown syscall", debug)
	}
	r := runChild(t, p, []string{"mkdirat:" + filepath.Join(t.TempDir(), "d")}, nil)
	r.mustExit(t)
	if r.probes["mkdirat"] != syscall.EPERM {
		t.Errorf("mkdirat=%v: the known name of the entry must still be filtered", r.probes["mkdirat"])
	}
}

func TestDockerDefaultDeniesPrivilegedSyscalls(t *testing.T) {
	if os.Geteuid() == 0 {
		// Control: without the profile these calls get past the
		// permission checks, so an EPERM below comes from the filter.
		allow, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := runChild(t, allow, []string{"unshare", "mount", "reboot"}, nil)
		r.mustExit(t)
		if r.probes["unshare"] != 0 || r.probes["mount"] != syscall.ENOENT || r.probes["reboot"] != syscall.EINVAL {
			t.Fatalf("control run without a filter: %v, want unshare=0 mount=ENOENT reboot=EINVAL", r.probes)
		}
	}
	p := mustCompile(t, "docker-default.json", "")
	r := runChild(t, p, []string{"unshare", "mount", "reboot", "personality:0x0400000", "personality:0xffffffff", "getppid"}, nil)
	r.mustExit(t)
	for _, name := range []string{"unshare", "mount", "reboot"} {
		if r.probes[name] != syscall.EPERM {
			t.Errorf("%s=%v, want EPERM", name, r.probes[name])
		}
	}
	if r.probes["getppid"] != 0 {
		t.Errorf("getppid=%v, want allowed", r.probes["getppid"])
	}
	// Probes run in order and share a name: the last value wins, the query.
	if r.probes["personality"] != 0 {
		t.Errorf("personality(0xffffffff)=%v, want allowed", r.probes["personality"])
	}
	r = runChild(t, p, []string{"personality:0x0400000"}, nil)
	r.mustExit(t)
	if r.probes["personality"] != syscall.EPERM {
		t.Errorf("personality(ADDR_NO_RANDOMIZE)=%v, want EPERM", r.probes["personality"])
	}
}

func TestDockerDefaultRunsBusybox(t *testing.T) {
	bb := busybox(t)
	p := mustCompile(t, "docker-default.json", "")
	dir := filepath.Join(t.TempDir(), "made-by-busybox")
	script := "ls / >/dev/null && cat /proc/self/status >/dev/null && ps >/dev/null && mkdir " + dir + " && echo busybox-ok"
	r := runChild(t, p, nil, []string{bb, "sh", "-c", script})
	r.mustExit(t)
	if !strings.Contains(r.stdout, "busybox-ok") {
		t.Fatalf("busybox script under docker-default did not finish:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("busybox mkdir did not create %s: %v", dir, err)
	}
	// And the profile still bites inside the shell.
	r = runChild(t, p, nil, []string{bb, "sh", "-c", "unshare -u true; echo status=$?"})
	if !strings.Contains(r.stdout, "status=1") || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("busybox unshare under docker-default: stdout %q stderr %q, want a denial", r.stdout, r.stderr)
	}
}

func TestLoadRejectsDamagedProgram(t *testing.T) {
	for name, p := range map[string]*Program{
		"empty":    {},
		"partial":  {Filter: make([]byte, 12)},
		"too long": {Filter: make([]byte, (maxInstructions+1)*sockFilterSize)},
	} {
		if _, err := p.Load(); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}

func TestLoadNeedsNoNewPrivsOrCapSysAdmin(t *testing.T) {
	p := mustCompile(t, "deny-mkdir.json", "")
	cmd := childCmd(t, p, []string{"getppid"}, nil)
	cmd.Env = append(cmd.Env, envNoPriv+"=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Fatalf("child exited %d, want 4 (load refused)\nstderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "permission denied (the thread needs no_new_privs or CAP_SYS_ADMIN)") {
		t.Errorf("load error %q", stderr.String())
	}
}

// TestInstallLoadFailure: with a listener to hand on, a filter the kernel
// refuses makes Install return the load error (the sending goroutine gives
// up) instead of waiting for a listener that never comes.
func TestInstallLoadFailure(t *testing.T) {
	p := mustCompile(t, "notify-mkdir.json", "/nonexistent.sock")
	cmd := childCmd(t, p, []string{"getppid"}, nil)
	cmd.Env = append(cmd.Env, envNoPriv+"=1", envHandOff+"=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 5 || !strings.Contains(stderr.String(), "install: seccomp: load filter: permission denied") {
		t.Errorf("child exited %d, want 5 with the load error\nstderr: %s", code, stderr.String())
	}
}

// TestTSYNCIsNotUsed: SECCOMP_FILTER_FLAG_TSYNC is accepted and left out,
// as runc does, so the loading thread's siblings stay unfiltered (the init
// hands the listener on from one of them).
func TestTSYNCIsNotUsed(t *testing.T) {
	s := loadProfile(t, "deny-mkdir.json", "")
	s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"}
	p, err := Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 {
		t.Errorf("flags %#x include TSYNC", p.Flags)
	}
	dir := t.TempDir()
	other, same := filepath.Join(dir, "other"), filepath.Join(dir, "same")
	r := runChild(t, p, []string{"mkdir-other-thread:" + other, "mkdir:" + same}, nil)
	r.mustExit(t)
	if r.probes["mkdir-other-thread"] != 0 || r.probes["mkdir"] != syscall.EPERM {
		t.Errorf("mkdir from another thread = %v, from the loading thread = %v; want success and EPERM",
			r.probes["mkdir-other-thread"], r.probes["mkdir"])
	}
}

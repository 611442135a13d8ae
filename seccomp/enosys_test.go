package seccomp

import (
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// seccompData is what a filter sees of one syscall (struct seccomp_data).
type seccompData struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// runBPF runs a seccomp program for one syscall (Evaluate's interpreter),
// so the whole program (stub and libseccomp's part) can be checked for any
// architecture, not just the one the test runs on.
func runBPF(t *testing.T, prog []unix.SockFilter, d seccompData) uint32 {
	t.Helper()
	ret, err := evaluate(prog, Call{Nr: d.nr, Arch: d.arch, Args: d.args})
	if err != nil {
		t.Fatal(err)
	}
	return ret
}

func instructions(t *testing.T, p *Program) []unix.SockFilter {
	t.Helper()
	insns, err := p.Instructions()
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

// nrOf is a syscall's number on arch, as libseccomp knows it.
func nrOf(t *testing.T, name string, arch libseccomp.ScmpArch) uint32 {
	t.Helper()
	nr, err := libseccomp.GetSyscallFromNameByArch(name, arch)
	if err != nil {
		t.Fatalf("%s on %s: %v", name, arch, err)
	}
	return uint32(nr)
}

// highestOf is the highest number of the profile's syscalls on arch.
func highestOf(s *specs.LinuxSeccomp, arch libseccomp.ScmpArch) uint32 {
	var highest uint32
	for _, sc := range s.Syscalls {
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromNameByArch(name, arch)
			if err == nil && int32(nr) >= 0 && uint32(nr) > highest {
				highest = uint32(nr)
			}
		}
	}
	return highest
}

func TestENOSYSStubEveryArchitecture(t *testing.T) {
	s := loadProfile(t, "docker-default.json", "")
	prog := instructions(t, mustCompile(t, "docker-default.json", ""))
	x86, x8664, x32 := libseccomp.ArchX86, libseccomp.ArchAMD64, libseccomp.ArchX32
	cases := []struct {
		name string
		d    seccompData
		want uint32
	}{
		{"x86_64 syscall 1000", seccompData{nr: 1000, arch: unix.AUDIT_ARCH_X86_64}, retENOSYS},
		{"x86_64 just above the profile", seccompData{nr: highestOf(s, x8664) + 1, arch: unix.AUDIT_ARCH_X86_64}, retENOSYS},
		{"x86_64 highest named", seccompData{nr: highestOf(s, x8664), arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"x86_64 read", seccompData{nr: nrOf(t, "read", x8664), arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		// Below the highest, not allowed: the default action, not ENOSYS.
		{"x86_64 kexec_load", seccompData{nr: nrOf(t, "kexec_load", x8664), arch: unix.AUDIT_ARCH_X86_64}, retEPERM},
		// Named with its own errno: kept.
		{"x86_64 clone3", seccompData{nr: nrOf(t, "clone3", x8664), arch: unix.AUDIT_ARCH_X86_64}, retENOSYS},
		{"x86 syscall 1000", seccompData{nr: 1000, arch: unix.AUDIT_ARCH_I386}, retENOSYS},
		{"x86 just above the profile", seccompData{nr: highestOf(s, x86) + 1, arch: unix.AUDIT_ARCH_I386}, retENOSYS},
		{"x86 kexec_load", seccompData{nr: nrOf(t, "kexec_load", x86), arch: unix.AUDIT_ARCH_I386}, retEPERM},
		{"x86 read", seccompData{nr: nrOf(t, "read", x86), arch: unix.AUDIT_ARCH_I386}, retAllow},
		// x32 shares AUDIT_ARCH_X86_64; its numbers carry bit 30.
		{"x32 syscall 1000", seccompData{nr: x32SyscallBit | 1000, arch: unix.AUDIT_ARCH_X86_64}, retENOSYS},
		{"x32 just above the profile", seccompData{nr: highestOf(s, x32) + 1, arch: unix.AUDIT_ARCH_X86_64}, retENOSYS},
		{"x32 read", seccompData{nr: nrOf(t, "read", x32), arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"x32 kexec_load", seccompData{nr: nrOf(t, "kexec_load", x32), arch: unix.AUDIT_ARCH_X86_64}, retEPERM},
	}
	if highestOf(s, x32)&x32SyscallBit == 0 || highestOf(s, x8664) >= 1000 {
		t.Fatalf("unexpected maxima: x32 %#x, x86_64 %d", highestOf(s, x32), highestOf(s, x8664))
	}
	for _, c := range cases {
		if got := runBPF(t, prog, c.d); got != c.want {
			t.Errorf("%s (nr %#x): %#x, want %#x", c.name, c.d.nr, got, c.want)
		}
	}
	// An architecture the filter does not have gets libseccomp's answer,
	// not ENOSYS.
	if got := runBPF(t, prog, seccompData{nr: 1000, arch: unix.AUDIT_ARCH_AARCH64}); got&unix.SECCOMP_RET_ACTION_FULL == unix.SECCOMP_RET_ERRNO {
		t.Errorf("aarch64 syscall 1000: %#x, want the bad-architecture kill", got)
	}
}

func TestENOSYSStubWhichDefaults(t *testing.T) {
	cases := []struct {
		def   specs.LinuxSeccompAction
		errno *uint
		stub  bool
	}{
		{specs.ActErrno, nil, true},
		{specs.ActErrno, uintPtr(uint(unix.EACCES)), true},
		{specs.ActErrno, uintPtr(uint(unix.ENOSYS)), false}, // already ENOSYS
		{specs.ActKill, nil, true},
		{specs.ActKillProcess, nil, true},
		{specs.ActKillThread, nil, true},
		{specs.ActTrap, nil, true},
		{specs.ActAllow, nil, false},
		{specs.ActLog, nil, false},
		{specs.ActTrace, nil, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/errnoRet=%v", c.def, c.errno != nil), func(t *testing.T) {
			p, err := Compile(&specs.LinuxSeccomp{DefaultAction: c.def, DefaultErrnoRet: c.errno, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"read", "openat"}, Action: specs.ActAllow},
				{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.EXDEV))},
			}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := newPlan(&specs.LinuxSeccomp{DefaultAction: c.def, DefaultErrnoRet: c.errno}, func(string, ...any) {})
			if err != nil {
				t.Fatal(err)
			}
			if pl.stub != c.stub {
				t.Errorf("stub wanted: %v, want %v", pl.stub, c.stub)
			}
			got := runBPF(t, instructions(t, p), seccompData{nr: 1000, arch: unix.AUDIT_ARCH_X86_64})
			defaultIsENOSYS := c.errno != nil && *c.errno == uint(unix.ENOSYS)
			if (got == retENOSYS) != (c.stub || defaultIsENOSYS) {
				t.Errorf("syscall 1000 answered %#x; stub expected: %v", got, c.stub)
			}
			mkdir := runBPF(t, instructions(t, p), seccompData{nr: nrOf(t, "mkdir", libseccomp.ArchAMD64), arch: unix.AUDIT_ARCH_X86_64})
			if mkdir != unix.SECCOMP_RET_ERRNO|uint32(unix.EXDEV) {
				t.Errorf("mkdir answered %#x: a named syscall must keep its action", mkdir)
			}
		})
	}
}

// TestENOSYSStubCountsSkippedEntries: an entry that repeats the default
// action adds no rule, but the profile names its syscalls, so they are not
// "newer than the profile"; and the compile cache must tell the profiles
// apart although their rules are identical.
func TestENOSYSStubCountsSkippedEntries(t *testing.T) {
	base := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "openat"}, Action: specs.ActAllow},
		}}
	}
	with := base()
	with.Syscalls = append(with.Syscalls, specs.LinuxSyscall{Names: []string{"futex_waitv"}, Action: specs.ActErrno})
	dir := t.TempDir()
	a, err := CompileCached(base(), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompileCached(with, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	faccessat2 := seccompData{nr: nrOf(t, "faccessat2", libseccomp.ArchAMD64), arch: unix.AUDIT_ARCH_X86_64}
	if got := runBPF(t, instructions(t, a), faccessat2); got != retENOSYS {
		t.Errorf("without futex_waitv named, faccessat2 answered %#x, want ENOSYS", got)
	}
	if got := runBPF(t, instructions(t, b), faccessat2); got != retEPERM {
		t.Errorf("with futex_waitv named (skipped: same as the default), faccessat2 answered %#x, want EPERM", got)
	}
	if n := len(cacheFiles(t, dir)); n != 2 {
		t.Errorf("%d cache entries, want 2: the skipped entry must be in the key", n)
	}
	hit, err := CompileCached(with, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hit.Filter, b.Filter) {
		t.Error("the cached program differs from the compiled one")
	}
}

func TestENOSYSStubOtherArchitectures(t *testing.T) {
	// Every little-endian architecture this libseccomp knows (the others
	// are skipped on this machine): each gets its own section, and all
	// jumps stay short.
	var archs []specs.Arch
	for _, e := range knownArchs() {
		if archSupported(e.arch) {
			archs = append(archs, e.name)
		}
	}
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Architectures: archs, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "write", "close", "exit_group", "openat"}, Action: specs.ActAllow},
	}}
	p, err := Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog := instructions(t, p)
	checked := 0
	for _, e := range knownArchs() {
		if !archSupported(e.arch) || e.arch == libseccomp.ArchX32 {
			continue
		}
		if filter, _ := libseccomp.NewFilter(libseccomp.ActAllow); filter != nil {
			err := filter.AddArch(e.arch)
			filter.Release()
			if err != nil {
				continue // other byte order: not in this filter
			}
		}
		highest := uint32(0)
		for _, n := range []string{"read", "write", "close", "exit_group", "openat"} {
			if nr, err := libseccomp.GetSyscallFromNameByArch(n, e.arch); err == nil && int32(nr) >= 0 && uint32(nr) > highest {
				highest = uint32(nr)
			}
		}
		if got := runBPF(t, prog, seccompData{nr: highest + 1, arch: e.audit}); got != retENOSYS {
			t.Errorf("%s: syscall %d answered %#x, want ENOSYS", e.name, highest+1, got)
		}
		nr, _ := libseccomp.GetSyscallFromNameByArch("read", e.arch)
		if got := runBPF(t, prog, seccompData{nr: uint32(nr), arch: e.audit}); got != retAllow {
			t.Errorf("%s: read answered %#x, want ALLOW", e.name, got)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("only %d architectures checked", checked)
	}
	// s390x: unknown syscalls reach the filter as number 0.
	if archSupported(libseccomp.ArchS390X) {
		if filter, _ := libseccomp.NewFilter(libseccomp.ActAllow); filter != nil && filter.AddArch(libseccomp.ArchS390X) == nil {
			if got := runBPF(t, prog, seccompData{nr: 0, arch: unix.AUDIT_ARCH_S390X}); got != retENOSYS {
				t.Errorf("s390x syscall 0 answered %#x, want ENOSYS", got)
			}
		}
	}
}

// TestENOSYSStubInTheKernel loads the docker-like profile (default EPERM)
// and the same with a KILL_PROCESS default in a child: a syscall newer than
// the profile, native or x32, answers ENOSYS, and a named denied one keeps
// its EPERM.
func TestENOSYSStubInTheKernel(t *testing.T) {
	for _, def := range []specs.LinuxSeccompAction{specs.ActErrno, specs.ActKillProcess} {
		t.Run(string(def), func(t *testing.T) {
			s := loadProfile(t, "docker-default.json", "")
			s.DefaultAction = def
			if def != specs.ActErrno {
				s.DefaultErrnoRet = nil
			}
			p, err := Compile(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := filepath.Join(t.TempDir(), "d")
			probes := []string{"nr:1000", fmt.Sprintf("nrx32:%d", x32SyscallBit|1000), "mkdir:" + d}
			if def == specs.ActErrno {
				probes = append(probes, "personality:0x4")
			}
			r := runChild(t, p, probes, nil)
			r.mustExit(t)
			for _, probe := range []string{"nr", "nrx32"} {
				if r.probes[probe] != syscall.ENOSYS {
					t.Errorf("%s: %v, want ENOSYS", probe, r.probes[probe])
				}
			}
			if def == specs.ActErrno && r.probes["personality"] != syscall.EPERM {
				t.Errorf("personality(0x4), named for other arguments: %v, want EPERM", r.probes["personality"])
			}
			if r.probes["mkdir"] != 0 {
				t.Errorf("mkdir (allowed): %v", r.probes["mkdir"])
			}
		})
	}
}

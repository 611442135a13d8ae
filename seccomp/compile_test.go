package seccomp

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func allowMkdir() []specs.LinuxSyscall {
	return []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	notifyMkdir := []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}
	cases := []struct {
		name string
		s    specs.LinuxSeccomp
		want string
	}{
		{"missing default action", specs.LinuxSeccomp{},
			"linux.seccomp.defaultAction: missing action"},
		{"unknown default action", specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"},
			`linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"`},
		{"unknown action", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActErrno},
			{Names: []string{"write"}, Action: specs.ActErrno},
			{Names: []string{"mkdir"}, Action: "SCMP_ACT_FOO"},
		}}, `linux.seccomp.syscalls[2].action: unknown action "SCMP_ACT_FOO"`},
		{"missing action", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}},
		}}, "linux.seccomp.syscalls[0].action: missing action"},
		{"unknown operator", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: 1},
				{Index: 1, Op: "SCMP_CMP_FOO", Value: 1},
			}},
		}}, `linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_FOO"`},
		{"argument index out of range", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}},
		}}, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range"},
		{"unknown architecture", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86, "SCMP_ARCH_FOO"}},
			`linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_FOO"`},
		{"errnoRet on ALLOW", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActAllow, ErrnoRet: uintPtr(1)},
		}}, "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_ALLOW"},
		{"errnoRet on KILL", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActKill, ErrnoRet: uintPtr(1)},
		}}, "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_KILL"},
		{"defaultErrnoRet on a non-ERRNO default", specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, DefaultErrnoRet: uintPtr(1)},
			"linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_KILL_PROCESS"},
		{"errnoRet too large", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintPtr(70000)},
		}}, "linux.seccomp.syscalls[0].errnoRet: 70000 does not fit in 16 bits"},
		{"NOTIFY without listenerPath", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: notifyMkdir},
			"linux.seccomp.listenerPath: required because linux.seccomp.syscalls[0].action is SCMP_ACT_NOTIFY"},
		{"NOTIFY as default action", specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"},
			"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
		{"NOTIFY on write", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{
			{Names: []string{"close"}, Action: specs.ActNotify},
			{Names: []string{"mkdir", "write"}, Action: specs.ActNotify},
		}}, `linux.seccomp.syscalls[1].names[1]: SCMP_ACT_NOTIFY cannot be used for "write"`},
		{"listenerMetadata without listenerPath", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "m"},
			"linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath"},
		{"unknown flag", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_FOO"}},
			`linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_FOO"`},
		{"WAIT_KILLABLE_RECV without NOTIFY", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}},
			"linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY"},
		{"no names", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}},
			"linux.seccomp.syscalls[0].names: must contain at least one syscall name"},
		{"empty name", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", ""}, Action: specs.ActErrno}}},
			"linux.seccomp.syscalls[0].names[1]: empty syscall name"},
	}
	if !archSupported(libseccomp.ArchM68K) {
		cases = append(cases, struct {
			name string
			s    specs.LinuxSeccomp
			want string
		}{"architecture unknown to this libseccomp", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchM68K}},
			"linux.seccomp.architectures[0]: SCMP_ARCH_M68K is not supported by libseccomp " + LibseccompVersion()})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile(&c.s, nil)
			if err == nil {
				t.Fatalf("compiled (%d bytes), want error %q", len(p.Filter), c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\nwant prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestCompileNilIsNoFilter(t *testing.T) {
	p, err := Compile(nil, nil)
	if p != nil || err != nil {
		t.Fatalf("Compile(nil) = %v, %v; want nil, nil", p, err)
	}
}

func TestCompileEveryActionAndOperator(t *testing.T) {
	var syscalls []specs.LinuxSyscall
	for i, a := range actionNames() {
		if a == string(specs.ActAllow) || a == string(specs.ActNotify) {
			continue
		}
		syscalls = append(syscalls, specs.LinuxSyscall{Names: []string{[]string{"mkdir", "rmdir", "link", "unlink", "rename", "chmod", "chown", "symlink"}[i%8]}, Action: specs.LinuxSeccompAction(a)})
	}
	for i, op := range operatorNames() {
		syscalls = append(syscalls, specs.LinuxSyscall{
			Names:  []string{"personality", "getpriority", "setpriority", "kill", "tkill", "tgkill", "ioprio_get"}[i : i+1],
			Action: specs.ActErrno,
			Args:   []specs.LinuxSeccompArg{{Index: 0, Op: specs.LinuxSeccompOperator(op), Value: 0xff, ValueTwo: 0x8}},
		})
	}
	syscalls = append(syscalls, specs.LinuxSyscall{Names: []string{"mknod"}, Action: specs.ActNotify})
	archs := make([]specs.Arch, 0, len(knownArchs()))
	for _, e := range knownArchs() {
		if archSupported(e.arch) {
			archs = append(archs, e.name)
		}
	}
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: archs,
		ListenerPath:  "/run/agent.sock",
		Syscalls:      syscalls,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsListener() || p.ListenerPath != "/run/agent.sock" {
		t.Errorf("flags %#x listenerPath %q: want NEW_LISTENER and the path", p.Flags, p.ListenerPath)
	}
	if _, err := p.Instructions(); err != nil {
		t.Error(err)
	}
}

func TestDefaultActionRepeatIsSkipped(t *testing.T) {
	var debug []string
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uintPtr(1),
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActAllow},
			{Names: []string{"mkdir"}, Action: specs.ActErrno}, // EPERM == 1: same as default
			{Names: []string{"rmdir"}, Action: specs.ActErrno, ErrnoRet: uintPtr(2)},
		},
	}, func(f string, a ...any) { debug = append(debug, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(debug) != 1 || !strings.Contains(debug[0], "linux.seccomp.syscalls[1]") {
		t.Errorf("debug %q, want one line about syscalls[1]", debug)
	}
	if p.NeedsListener() || p.ListenerPath != "" {
		t.Errorf("no NOTIFY rule, yet flags %#x path %q", p.Flags, p.ListenerPath)
	}
}

func TestListenerPathIgnoredWithoutNotify(t *testing.T) {
	p, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", ListenerMetadata: "m", Syscalls: allowMkdir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.ListenerPath != "" || p.ListenerMetadata != "" || p.NeedsListener() {
		t.Errorf("program %+v: listener fields must be empty without SCMP_ACT_NOTIFY", p)
	}
}

func TestFlags(t *testing.T) {
	all := []specs.LinuxSeccompFlag{flagTSYNC, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}
	p, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: all, Syscalls: allowMkdir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// TSYNC is accepted but never used: the filter stays on the thread
	// that loads it (see newPlan).
	want := uint(unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	if p.Flags != want {
		t.Errorf("flags %#x, want %#x", p.Flags, want)
	}
	p, err = Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  "/x",
		Flags:         []specs.LinuxSeccompFlag{flagTSYNC, specs.LinuxSeccompFlagWaitKillableRecv},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	if p.Flags != want {
		t.Errorf("notify flags %#x, want %#x", p.Flags, want)
	}
}

func TestKernelFlagProbe(t *testing.T) {
	// An unknown bit must read as unsupported, or the probe proves nothing.
	if kernelSupportsFlags(1 << 20) {
		t.Fatal("the kernel claims to support seccomp flag bit 20")
	}
	var uname unix.Utsname
	_ = unix.Uname(&uname)
	release := unix.ByteSliceToString(uname.Release[:])
	for _, name := range flagNames() {
		bit, _ := flagByName(specs.LinuxSeccompFlag(name))
		// All four flags exist since Linux 5.19.
		if !kernelSupportsFlags(bit) && kernelAtLeast(release, 5, 19) {
			t.Errorf("%s reported unsupported on Linux %s", name, release)
		}
	}
}

func kernelAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

func TestConditionSets(t *testing.T) {
	eq := func(i uint, v uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Op: specs.OpEqualTo, Value: v}
	}
	cases := []struct {
		name  string
		args  []specs.LinuxSeccompArg
		rules int
		sizes []int
	}{
		{"none: one unconditional rule", nil, 1, []int{0}},
		{"distinct indexes: one rule, ANDed", []specs.LinuxSeccompArg{eq(0, 1), eq(1, 2), eq(2, 3)}, 1, []int{3}},
		{"repeated index: one rule per condition", []specs.LinuxSeccompArg{eq(0, 1), eq(0, 2)}, 2, []int{1, 1}},
		{"repeated and other index: runc's OR of all", []specs.LinuxSeccompArg{eq(0, 1), eq(0, 2), eq(1, 3)}, 3, []int{1, 1, 1}},
	}
	for _, c := range cases {
		sets, err := conditionSets(c.args, "f")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var sizes []int
		for _, s := range sets {
			sizes = append(sizes, len(s))
		}
		if len(sets) != c.rules || !slices.Equal(sizes, c.sizes) {
			t.Errorf("%s: rule sizes %v, want %v", c.name, sizes, c.sizes)
		}
	}
	// MASKED_EQ: value is the mask, valueTwo the expected result.
	sets, err := conditionSets([]specs.LinuxSeccompArg{{Index: 0, Op: specs.OpMaskedEqual, Value: 0x7E020000, ValueTwo: 0}}, "f")
	if err != nil {
		t.Fatal(err)
	}
	c := sets[0][0]
	if c.Op != libseccomp.CompareMaskedEqual || c.Operand1 != 0x7E020000 || c.Operand2 != 0 {
		t.Errorf("MASKED_EQ condition %+v", c)
	}
}

func TestProgramJSONRoundTrip(t *testing.T) {
	p := mustCompile(t, "notify-mkdir.json", "/run/agent.sock")
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Filter, p.Filter) || back.Flags != p.Flags || back.ListenerPath != "/run/agent.sock" || back.ListenerMetadata != "nook-test-metadata" {
		t.Errorf("round trip changed the program:\n%+v\n%+v", p, back)
	}
	if !back.NeedsListener() {
		t.Error("NeedsListener lost in the round trip")
	}
}

func TestFeatures(t *testing.T) {
	f := Features()
	if f.Enabled == nil || !*f.Enabled {
		t.Error("enabled is not true")
	}
	for _, a := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify} {
		if !slices.Contains(f.Actions, string(a)) {
			t.Errorf("actions lack %s", a)
		}
		if _, ok := actionByName(a); !ok {
			t.Errorf("%s listed but not recognised", a)
		}
	}
	if len(f.Operators) != 7 {
		t.Errorf("operators %v, want the 7 of runtime-spec", f.Operators)
	}
	for _, op := range f.Operators {
		if _, ok := operatorByName(specs.LinuxSeccompOperator(op)); !ok {
			t.Errorf("operator %s listed but not recognised", op)
		}
	}
	for _, a := range []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM, specs.ArchS390X, specs.ArchPPC64LE, specs.ArchRISCV64} {
		if !slices.Contains(f.Archs, string(a)) {
			t.Errorf("archs lack %s", a)
		}
	}
	for _, a := range f.Archs {
		// Every listed architecture must compile.
		if _, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.Arch(a)}, Syscalls: allowMkdir()}, nil); err != nil {
			t.Errorf("listed arch %s: %v", a, err)
		}
	}
	if !slices.Equal(f.KnownFlags, flagNames()) || len(f.KnownFlags) != 4 {
		t.Errorf("knownFlags %v", f.KnownFlags)
	}
	for _, fl := range f.SupportedFlags {
		if !slices.Contains(f.KnownFlags, fl) {
			t.Errorf("supported flag %s is not known", fl)
		}
	}
	if !slices.IsSorted(f.Actions) || !slices.IsSorted(f.Operators) || !slices.IsSorted(f.Archs) {
		t.Error("lists are not sorted")
	}
}

func TestLibseccompVersion(t *testing.T) {
	v := LibseccompVersion()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("version %q is not X.Y.Z", v)
	}
	major, minor, micro := libseccomp.GetLibraryVersion()
	if v != fmt.Sprintf("%d.%d.%d", major, minor, micro) {
		t.Errorf("version %q disagrees with the library", v)
	}
}

func TestOtherByteOrderArchitectureSkipped(t *testing.T) {
	if !archSupported(libseccomp.ArchS390X) {
		t.Skip("libseccomp lacks s390x")
	}
	var debug []string
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86, specs.ArchS390X},
		Syscalls:      allowMkdir(),
	}, func(f string, a ...any) { debug = append(debug, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(debug) != 1 || !strings.Contains(debug[0], "linux.seccomp.architectures[1]: SCMP_ARCH_S390X has another byte order") {
		t.Errorf("debug %q, want one line about architectures[1]", debug)
	}
	if len(p.Filter) == 0 {
		t.Error("empty program")
	}
}

package seccomp

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The profiles nook's tests use, as the kernel would judge them.
func TestAllowsFollowsTheProfile(t *testing.T) {
	docker := mustCompile(t, "docker-default.json", "")
	if !docker.Allows(CallOf(unix.SYS_READ), CallOf(unix.SYS_FCNTL, 3, unix.F_SETFD, unix.FD_CLOEXEC),
		CallOf(unix.SYS_EXECVE), CallOf(unix.SYS_EXECVEAT, 5, 0, 0, 0, unix.AT_EMPTY_PATH), CallOf(unix.SYS_RT_SIGACTION)) {
		t.Error("docker-default refuses read, fcntl, execve, execveat or rt_sigaction")
	}
	if docker.Allows(CallOf(unix.SYS_READ), CallOf(unix.SYS_KEXEC_LOAD)) {
		t.Error("docker-default allows kexec_load")
	}
	// Its clone rule tests the flags: a new user namespace is refused.
	if docker.Allows(CallOf(unix.SYS_CLONE, unix.CLONE_NEWUSER)) || !docker.Allows(CallOf(unix.SYS_CLONE, uint64(unix.SIGCHLD))) {
		t.Error("docker-default's clone flags rule is not followed")
	}
	mkdir := mustCompile(t, "deny-mkdir.json", "")
	if mkdir.Allows(CallOf(unix.SYS_MKDIRAT)) || !mkdir.Allows(CallOf(unix.SYS_READ)) {
		t.Error("deny-mkdir: want mkdirat refused and read allowed")
	}
	logged, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActLog}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !logged.Allows(CallOf(unix.SYS_EXECVEAT)) {
		t.Error("SCMP_ACT_LOG logs and allows: want allowed")
	}
}

func TestAllowsComparesArguments(t *testing.T) {
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			Names:  []string{"fcntl"},
			Action: specs.ActErrno,
			Args:   []specs.LinuxSeccompArg{{Index: 1, Value: unix.F_SETFD, Op: specs.OpNotEqual}},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allows(CallOf(unix.SYS_FCNTL, 3, unix.F_SETFD, 1)) {
		t.Error("fcntl F_SETFD refused")
	}
	if p.Allows(CallOf(unix.SYS_FCNTL, 3, unix.F_GETFL)) {
		t.Error("fcntl F_GETFL allowed")
	}
}

// The instructions libseccomp does not emit but the kernel accepts.
func TestEvaluateEveryInstruction(t *testing.T) {
	ins := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	prog := []unix.SockFilter{
		ins(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 16), // args[0] (low half)
		ins(unix.BPF_ST, 3),
		ins(unix.BPF_LDX|unix.BPF_IMM, 10),
		ins(unix.BPF_ALU|unix.BPF_MUL|unix.BPF_X, 0), // a = arg0 * 10
		ins(unix.BPF_ALU|unix.BPF_ADD|unix.BPF_K, 7),
		ins(unix.BPF_MISC|unix.BPF_TAX, 0),
		ins(unix.BPF_LD|unix.BPF_MEM, 3),
		ins(unix.BPF_ALU|unix.BPF_LSH|unix.BPF_K, 1),
		ins(unix.BPF_STX, 4),
		ins(unix.BPF_LD|unix.BPF_MEM, 4),
		ins(unix.BPF_ALU|unix.BPF_SUB|unix.BPF_K, 1),                   // a = arg0*10 + 7 - 1
		{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_X, Jt: 1, Jf: 0}, // 56 >= 57: no, on to RET A
		ins(unix.BPF_RET|unix.BPF_A, 0),
		ins(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_KILL_PROCESS),
	}
	got, err := evaluate(prog, CallOf(0, 5))
	if err != nil || got != 56 {
		t.Errorf("got %d, %v; want 56", got, err)
	}
	for name, bad := range map[string][]unix.SockFilter{
		"off its end":         {ins(unix.BPF_LD|unix.BPF_IMM, 1)},
		"offset 64":           {ins(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 64), ins(unix.BPF_RET|unix.BPF_K, 0)},
		"division by zero":    {ins(unix.BPF_ALU|unix.BPF_DIV|unix.BPF_K, 0), ins(unix.BPF_RET|unix.BPF_K, 0)},
		"scratch word 16":     {ins(unix.BPF_ST, 16), ins(unix.BPF_RET|unix.BPF_K, 0)},
		"a packet load (IND)": {ins(unix.BPF_LD|unix.BPF_W|unix.BPF_IND, 0), ins(unix.BPF_RET|unix.BPF_K, 0)},
	} {
		if _, err := evaluate(bad, CallOf(0)); err == nil || !strings.Contains(err.Error(), "seccomp filter") {
			t.Errorf("%s: got %v, want an error", name, err)
		}
	}
}

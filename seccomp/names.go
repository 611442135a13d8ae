package seccomp

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The tables below are switch statements and functions returning fresh
// slices rather than package-level maps: no start-up work, nothing mutable.

// actionByName maps a config.json action to libseccomp's action without any
// return value attached.
func actionByName(a specs.LinuxSeccompAction) (libseccomp.ScmpAction, bool) {
	switch a {
	case specs.ActKill, specs.ActKillThread:
		// SCMP_ACT_KILL is libseccomp's historical name for KILL_THREAD.
		return libseccomp.ActKillThread, true
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, true
	case specs.ActTrap:
		return libseccomp.ActTrap, true
	case specs.ActErrno:
		return libseccomp.ActErrno, true
	case specs.ActTrace:
		return libseccomp.ActTrace, true
	case specs.ActAllow:
		return libseccomp.ActAllow, true
	case specs.ActLog:
		return libseccomp.ActLog, true
	case specs.ActNotify:
		return libseccomp.ActNotify, true
	}
	return libseccomp.ActInvalid, false
}

func actionNames() []string {
	return []string{
		string(specs.ActAllow),
		string(specs.ActErrno),
		string(specs.ActKill),
		string(specs.ActKillProcess),
		string(specs.ActKillThread),
		string(specs.ActLog),
		string(specs.ActNotify),
		string(specs.ActTrace),
		string(specs.ActTrap),
	}
}

func operatorByName(op specs.LinuxSeccompOperator) (libseccomp.ScmpCompareOp, bool) {
	switch op {
	case specs.OpNotEqual:
		return libseccomp.CompareNotEqual, true
	case specs.OpLessThan:
		return libseccomp.CompareLess, true
	case specs.OpLessEqual:
		return libseccomp.CompareLessOrEqual, true
	case specs.OpEqualTo:
		return libseccomp.CompareEqual, true
	case specs.OpGreaterEqual:
		return libseccomp.CompareGreaterEqual, true
	case specs.OpGreaterThan:
		return libseccomp.CompareGreater, true
	case specs.OpMaskedEqual:
		return libseccomp.CompareMaskedEqual, true
	}
	return libseccomp.CompareInvalid, false
}

func operatorNames() []string {
	return []string{
		string(specs.OpEqualTo),
		string(specs.OpGreaterEqual),
		string(specs.OpGreaterThan),
		string(specs.OpLessEqual),
		string(specs.OpLessThan),
		string(specs.OpMaskedEqual),
		string(specs.OpNotEqual),
	}
}

// archEntry pairs a config.json architecture name with libseccomp's token
// and the AUDIT_ARCH_* value the kernel puts in seccomp_data.arch for it
// (libseccomp's own tokens are fake for x32, which shares x86_64's).
type archEntry struct {
	name  specs.Arch
	arch  libseccomp.ScmpArch
	audit uint32
}

// knownArchs lists every architecture config.json can name (runtime-spec
// v1.3 lists those of libseccomp 2.6), sorted by name. Whether the linked
// libseccomp supports each one is a separate question: see archSupported.
func knownArchs() []archEntry {
	return []archEntry{
		{specs.ArchAARCH64, libseccomp.ArchARM64, unix.AUDIT_ARCH_AARCH64},
		{specs.ArchARM, libseccomp.ArchARM, unix.AUDIT_ARCH_ARM},
		{specs.ArchLOONGARCH64, libseccomp.ArchLOONGARCH64, unix.AUDIT_ARCH_LOONGARCH64},
		{specs.ArchM68K, libseccomp.ArchM68K, unix.AUDIT_ARCH_M68K},
		{specs.ArchMIPS, libseccomp.ArchMIPS, unix.AUDIT_ARCH_MIPS},
		{specs.ArchMIPS64, libseccomp.ArchMIPS64, unix.AUDIT_ARCH_MIPS64},
		{specs.ArchMIPS64N32, libseccomp.ArchMIPS64N32, unix.AUDIT_ARCH_MIPS64N32},
		{specs.ArchMIPSEL, libseccomp.ArchMIPSEL, unix.AUDIT_ARCH_MIPSEL},
		{specs.ArchMIPSEL64, libseccomp.ArchMIPSEL64, unix.AUDIT_ARCH_MIPSEL64},
		{specs.ArchMIPSEL64N32, libseccomp.ArchMIPSEL64N32, unix.AUDIT_ARCH_MIPSEL64N32},
		{specs.ArchPARISC, libseccomp.ArchPARISC, unix.AUDIT_ARCH_PARISC},
		{specs.ArchPARISC64, libseccomp.ArchPARISC64, unix.AUDIT_ARCH_PARISC64},
		{specs.ArchPPC, libseccomp.ArchPPC, unix.AUDIT_ARCH_PPC},
		{specs.ArchPPC64, libseccomp.ArchPPC64, unix.AUDIT_ARCH_PPC64},
		{specs.ArchPPC64LE, libseccomp.ArchPPC64LE, unix.AUDIT_ARCH_PPC64LE},
		{specs.ArchRISCV64, libseccomp.ArchRISCV64, unix.AUDIT_ARCH_RISCV64},
		{specs.ArchS390, libseccomp.ArchS390, unix.AUDIT_ARCH_S390},
		{specs.ArchS390X, libseccomp.ArchS390X, unix.AUDIT_ARCH_S390X},
		{specs.ArchSH, libseccomp.ArchSH, unix.AUDIT_ARCH_SHEL}, // SH is little-endian SuperH, SHEB big-endian
		{specs.ArchSHEB, libseccomp.ArchSHEB, unix.AUDIT_ARCH_SH},
		{specs.ArchX32, libseccomp.ArchX32, unix.AUDIT_ARCH_X86_64}, // told apart by bit 30 of the syscall number
		{specs.ArchX86, libseccomp.ArchX86, unix.AUDIT_ARCH_I386},
		{specs.ArchX86_64, libseccomp.ArchAMD64, unix.AUDIT_ARCH_X86_64},
	}
}

// auditArch returns the kernel's AUDIT_ARCH_* value for a libseccomp
// architecture.
func auditArch(arch libseccomp.ScmpArch) (uint32, bool) {
	for _, e := range knownArchs() {
		if e.arch == arch {
			return e.audit, true
		}
	}
	return 0, false
}

func archByName(name specs.Arch) (libseccomp.ScmpArch, bool) {
	for _, e := range knownArchs() {
		if e.name == name {
			return e.arch, true
		}
	}
	return libseccomp.ArchInvalid, false
}

// archSupported reports whether the libseccomp this binary links knows the
// architecture: the Go bindings know all of them, but an older C library
// lacks the newest (LoongArch, m68k, SuperH in 2.5.4), and asking it to
// resolve a syscall for such an architecture fails.
func archSupported(arch libseccomp.ScmpArch) bool {
	_, err := libseccomp.GetSyscallFromNameByArch("close", arch)
	return err == nil
}

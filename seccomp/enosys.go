package seccomp

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The ENOSYS stub.
//
// A profile lists the syscalls it knows of; one that is newer than all of
// them (clone3, faccessat2, … on the day they appeared) would get the
// default action, typically EPERM or a kill. C libraries probe new syscalls
// and fall back to the old ones (clone3 → clone) only on ENOSYS, so with
// EPERM they fail and with a kill they die. As runc does
// (libcontainer/seccomp/patchbpf), nook prepends a stub to libseccomp's
// program: for each architecture of the filter, a syscall whose number is
// above the highest number the profile names for that architecture returns
// ENOSYS; everything else falls through to libseccomp's program unchanged.
//
// The stub is:
//
//	      ld  [4]                    ; seccomp_data.arch
//	      jeq #AUDIT_ARCH_a, arch0   ; one per architecture with a known maximum
//	      …
//	      ja  filter                 ; an architecture the stub does not know
//	arch0: ld  [0]                   ; seccomp_data.nr
//	      jeq #0, enosys             ; s390 and s390x only: see below
//	      jgt #max_a, enosys, filter
//	      …
//	enosys: ret #SECCOMP_RET_ERRNO|ENOSYS
//	filter: (libseccomp's program, which starts by loading the arch again)
//
// x86_64 and x32 share AUDIT_ARCH_X86_64 and are told apart by bit 30
// (__X32_SYSCALL_BIT) of the syscall number, which libseccomp's x32 numbers
// include: the x86_64 section tests that bit first and compares against the
// maximum of the matching ABI, leaving the other ABI to libseccomp's program
// when the profile does not list it.
//
// All jumps are forward and short: the stub is a handful of instructions
// per architecture, far from the 255 a conditional jump can skip.

// retENOSYS is SECCOMP_RET_ERRNO with ENOSYS as its data.
const retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// x32SyscallBit is __X32_SYSCALL_BIT: set in every x32 syscall number.
const x32SyscallBit = 0x40000000

// stubWanted reports whether a filter with this default action gets the
// stub. As with runc, it does not when the default lets an unknown syscall
// through or leaves it to a tracer (ALLOW, LOG, TRACE: a tracer is expected
// to answer new syscalls itself), and it need not when the default already
// is ENOSYS.
func stubWanted(def libseccomp.ScmpAction) bool {
	switch def & 0xFFFF { // the action without its return code
	case libseccomp.ActAllow, libseccomp.ActLog, libseccomp.ActTrace:
		return false
	case libseccomp.ActErrno:
		return def.GetReturnCode() != int16(unix.ENOSYS)
	}
	return true
}

// stubArch is one AUDIT_ARCH_* value of the filter with the highest syscall
// number the profile names for its ABIs (nil: the profile names none, or
// the filter does not have that ABI).
type stubArch struct {
	audit  uint32
	native *uint32 // the ABI that is not x32
	x32    *uint32 // x86_64 only
	// multiplexed: s390 and s390x route syscall numbers the kernel does
	// not know through syscall 0 (setup(2), long gone otherwise), so 0
	// itself must answer ENOSYS.
	multiplexed bool
}

// stubArchs computes, for each architecture of the filter, the highest
// syscall number among names (every name of the profile, including entries
// skipped because they repeat the default action: the profile knows of
// them). Names unknown on an architecture, and libseccomp's negative
// pseudo-numbers for syscalls an architecture lacks, do not count. The
// result is sorted by audit value, so one profile always yields one stub.
func stubArchs(archs []libseccomp.ScmpArch, names []string) ([]stubArch, error) {
	var out []stubArch
	for _, arch := range archs {
		audit, ok := auditArch(arch)
		if !ok {
			return nil, fmt.Errorf("ENOSYS stub: no AUDIT_ARCH value known for %s", arch)
		}
		highest, found := uint32(0), false
		for _, name := range names {
			nr, err := libseccomp.GetSyscallFromNameByArch(name, arch)
			if err != nil || int32(nr) < 0 {
				continue
			}
			if !found || uint32(nr) > highest {
				highest, found = uint32(nr), true
			}
		}
		if !found {
			continue
		}
		i := slices.IndexFunc(out, func(s stubArch) bool { return s.audit == audit })
		if i < 0 {
			out = append(out, stubArch{audit: audit,
				multiplexed: arch == libseccomp.ArchS390 || arch == libseccomp.ArchS390X})
			i = len(out) - 1
		}
		if arch == libseccomp.ArchX32 {
			out[i].x32 = &highest
		} else {
			out[i].native = &highest
		}
	}
	slices.SortFunc(out, func(a, b stubArch) int { return cmp.Compare(a.audit, b.audit) })
	return out, nil
}

// enosysStub returns the stub for archs in the kernel's instruction format
// (native byte order), or nil when there is nothing to check.
func enosysStub(archs []stubArch) ([]byte, error) {
	if len(archs) == 0 {
		return nil, nil
	}
	a := &stubAsm{labels: map[string]int{}}
	a.load(4) // seccomp_data.arch
	for i, s := range archs {
		a.jump(unix.BPF_JEQ, s.audit, fmt.Sprint("arch", i), "")
	}
	a.always("filter")
	for i, s := range archs {
		a.label(fmt.Sprint("arch", i))
		a.load(0) // seccomp_data.nr
		if s.multiplexed {
			a.jump(unix.BPF_JEQ, 0, "enosys", "")
		}
		switch {
		case s.audit != unix.AUDIT_ARCH_X86_64:
			a.jump(unix.BPF_JGT, *s.native, "enosys", "filter")
		case s.native != nil && s.x32 != nil:
			x32 := fmt.Sprint("x32-", i)
			a.jump(unix.BPF_JSET, x32SyscallBit, x32, "")
			a.jump(unix.BPF_JGT, *s.native, "enosys", "filter")
			a.label(x32)
			a.jump(unix.BPF_JGT, *s.x32, "enosys", "filter")
		case s.native != nil:
			a.jump(unix.BPF_JSET, x32SyscallBit, "filter", "")
			a.jump(unix.BPF_JGT, *s.native, "enosys", "filter")
		default:
			a.jump(unix.BPF_JSET, x32SyscallBit, "", "filter")
			a.jump(unix.BPF_JGT, *s.x32, "enosys", "filter")
		}
	}
	a.label("enosys")
	a.ret(retENOSYS)
	a.label("filter")
	return a.assemble()
}

// stubAsm assembles the stub: jumps name labels, which are resolved to
// offsets once every instruction is placed. "" is the next instruction.
type stubAsm struct {
	insns  []stubInsn
	labels map[string]int // label → index of the instruction it marks
}

type stubInsn struct {
	code   uint16
	k      uint32
	jt, jf string
}

func (a *stubAsm) label(name string) { a.labels[name] = len(a.insns) }

func (a *stubAsm) load(offset uint32) {
	a.insns = append(a.insns, stubInsn{code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, k: offset})
}

func (a *stubAsm) jump(op uint16, k uint32, jt, jf string) {
	a.insns = append(a.insns, stubInsn{code: unix.BPF_JMP | op | unix.BPF_K, k: k, jt: jt, jf: jf})
}

// always is an unconditional jump (BPF_JA, whose offset is k).
func (a *stubAsm) always(target string) {
	a.insns = append(a.insns, stubInsn{code: unix.BPF_JMP | unix.BPF_JA, jt: target})
}

func (a *stubAsm) ret(k uint32) {
	a.insns = append(a.insns, stubInsn{code: unix.BPF_RET | unix.BPF_K, k: k})
}

// offset is the distance from the instruction after pc to label (forward).
func (a *stubAsm) offset(pc int, label string) (uint32, error) {
	if label == "" {
		return 0, nil
	}
	at, ok := a.labels[label]
	if !ok || at <= pc {
		return 0, fmt.Errorf("ENOSYS stub: instruction %d jumps to %q, which is not after it", pc, label)
	}
	return uint32(at - pc - 1), nil
}

func (a *stubAsm) assemble() ([]byte, error) {
	out := make([]byte, 0, len(a.insns)*sockFilterSize)
	for pc, in := range a.insns {
		jt, err := a.offset(pc, in.jt)
		if err != nil {
			return nil, err
		}
		jf, err := a.offset(pc, in.jf)
		if err != nil {
			return nil, err
		}
		k := in.k
		if in.code == unix.BPF_JMP|unix.BPF_JA {
			k, jt = jt, 0
		} else if jt > 255 || jf > 255 {
			return nil, fmt.Errorf("ENOSYS stub: instruction %d jumps %d/%d, beyond a conditional jump's 255", pc, jt, jf)
		}
		out = binary.NativeEndian.AppendUint16(out, in.code)
		out = append(out, uint8(jt), uint8(jf))
		out = binary.NativeEndian.AppendUint32(out, k)
	}
	return out, nil
}

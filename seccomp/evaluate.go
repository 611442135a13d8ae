package seccomp

import (
	"encoding/binary"
	"fmt"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Call is what a filter sees of one system call (struct seccomp_data, less
// the instruction pointer, which nook's filters never test).
type Call struct {
	Nr   uint32
	Arch uint32 // AUDIT_ARCH_*
	Args [6]uint64
}

// CallOf is system call nr with args, the rest zero.
func CallOf(nr uintptr, args ...uint64) Call {
	c := Call{Nr: uint32(nr)}
	copy(c.Args[:], args)
	return c
}

// seccompDataSize is sizeof(struct seccomp_data): nr, arch, ip, args[6].
const seccompDataSize = 64

// Evaluate runs the filter on c as the kernel runs it and returns what it
// returns (SECCOMP_RET_*, with its data). It knows every instruction the
// kernel lets a seccomp filter use; anything else is an error, as is a
// program that runs off its end.
func (p *Program) Evaluate(c Call) (uint32, error) {
	prog, err := p.Instructions()
	if err != nil {
		return 0, err
	}
	return evaluate(prog, c)
}

func evaluate(prog []unix.SockFilter, c Call) (uint32, error) {
	var data [seccompDataSize]byte
	binary.NativeEndian.PutUint32(data[0:], c.Nr)
	binary.NativeEndian.PutUint32(data[4:], c.Arch)
	for i, a := range c.Args {
		binary.NativeEndian.PutUint64(data[16+8*i:], a)
	}
	var a, x uint32
	var mem [16]uint32 // BPF_MEMWORDS scratch words
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		k := in.K
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if k > seccompDataSize-4 || k%4 != 0 {
				return 0, fmt.Errorf("seccomp filter: instruction %d loads at offset %d", pc, k)
			}
			a = binary.NativeEndian.Uint32(data[k:])
		case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN:
			a = seccompDataSize
		case unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN:
			x = seccompDataSize
		case unix.BPF_LD | unix.BPF_IMM:
			a = k
		case unix.BPF_LDX | unix.BPF_IMM:
			x = k
		case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM, unix.BPF_ST, unix.BPF_STX:
			if k >= uint32(len(mem)) {
				return 0, fmt.Errorf("seccomp filter: instruction %d uses scratch word %d", pc, k)
			}
			switch in.Code {
			case unix.BPF_LD | unix.BPF_MEM:
				a = mem[k]
			case unix.BPF_LDX | unix.BPF_MEM:
				x = mem[k]
			case unix.BPF_ST:
				mem[k] = a
			default:
				mem[k] = x
			}
		case unix.BPF_MISC | unix.BPF_TAX:
			x = a
		case unix.BPF_MISC | unix.BPF_TXA:
			a = x
		case unix.BPF_RET | unix.BPF_K:
			return k, nil
		case unix.BPF_RET | unix.BPF_A:
			return a, nil
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(k)
		default:
			switch in.Code & 0x07 { // BPF_CLASS
			case unix.BPF_ALU:
				v, err := alu(in.Code&0xf0, a, operand(in, x))
				if err != nil {
					return 0, fmt.Errorf("seccomp filter: instruction %d: %w", pc, err)
				}
				a = v
			case unix.BPF_JMP:
				taken, err := jump(in.Code&0xf0, a, operand(in, x))
				if err != nil {
					return 0, fmt.Errorf("seccomp filter: instruction %d: %w", pc, err)
				}
				if taken {
					pc += int(in.Jt)
				} else {
					pc += int(in.Jf)
				}
			default:
				return 0, fmt.Errorf("seccomp filter: instruction %d has code %#x, which seccomp does not allow", pc, in.Code)
			}
		}
	}
	return 0, fmt.Errorf("seccomp filter: runs off its end")
}

// operand is an ALU or jump instruction's second operand: X with BPF_X,
// its constant otherwise.
func operand(in unix.SockFilter, x uint32) uint32 {
	if in.Code&unix.BPF_X != 0 {
		return x
	}
	return in.K
}

// alu is a BPF_ALU operation (BPF_OP) on the accumulator.
func alu(op uint16, a, v uint32) (uint32, error) {
	switch op {
	case unix.BPF_ADD:
		return a + v, nil
	case unix.BPF_SUB:
		return a - v, nil
	case unix.BPF_MUL:
		return a * v, nil
	case unix.BPF_DIV, unix.BPF_MOD:
		if v == 0 {
			return 0, fmt.Errorf("division by zero")
		}
		if op == unix.BPF_DIV {
			return a / v, nil
		}
		return a % v, nil
	case unix.BPF_AND:
		return a & v, nil
	case unix.BPF_OR:
		return a | v, nil
	case unix.BPF_XOR:
		return a ^ v, nil
	case unix.BPF_LSH:
		return a << (v & 31), nil
	case unix.BPF_RSH:
		return a >> (v & 31), nil
	case unix.BPF_NEG:
		return -a, nil
	}
	return 0, fmt.Errorf("unknown ALU operation %#x", op)
}

// jump is a conditional BPF_JMP test (BPF_OP) of the accumulator.
func jump(op uint16, a, v uint32) (bool, error) {
	switch op {
	case unix.BPF_JEQ:
		return a == v, nil
	case unix.BPF_JGT:
		return a > v, nil
	case unix.BPF_JGE:
		return a >= v, nil
	case unix.BPF_JSET:
		return a&v != 0, nil
	}
	return false, fmt.Errorf("unknown jump %#x", op)
}

// Allows says whether the filter lets every one of calls through on this
// machine's architecture (SECCOMP_RET_ALLOW, or RET_LOG, which allows and
// logs). Any other action, or a filter this package cannot evaluate, is a
// no.
func (p *Program) Allows(calls ...Call) bool {
	prog, err := p.Instructions()
	if err != nil {
		return false
	}
	arch, err := NativeAuditArch()
	if err != nil {
		return false
	}
	for _, c := range calls {
		c.Arch = arch
		ret, err := evaluate(prog, c)
		if err != nil {
			return false
		}
		if act := ret & unix.SECCOMP_RET_ACTION_FULL; act != unix.SECCOMP_RET_ALLOW && act != unix.SECCOMP_RET_LOG {
			return false
		}
	}
	return true
}

// NativeAuditArch is the AUDIT_ARCH_* value of the architecture nook runs
// as, the one its own system calls carry.
func NativeAuditArch() (uint32, error) {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return 0, fmt.Errorf("seccomp: native architecture: %w", err)
	}
	audit, ok := auditArch(native)
	if !ok {
		return 0, fmt.Errorf("seccomp: no AUDIT_ARCH value known for %s", native)
	}
	return audit, nil
}

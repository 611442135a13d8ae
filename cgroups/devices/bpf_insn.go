package devices

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A small eBPF assembler for the dozen instructions the device filter uses.
//
// Why not cilium/ebpf/asm, which the architecture names for this job: its
// package graph (crypto, compress/gzip, debug/elf, go/parser, go/format,
// encoding/xml …) has package initialisers that run at the start of every
// nook command, whether or not it touches a device filter. Measured on the
// CI machine: +50 page faults and ~3 ms for each of the five nook processes
// of a container lifecycle, for 150 lines of encoding done here instead.
// The encoding is the kernel's (include/uapi/linux/bpf.h, struct bpf_insn):
// 8 bytes per slot, a 64-bit immediate load takes two.

// reg is an eBPF register.
type reg uint8

const (
	r0 reg = iota
	r1
	r2
	r3
	r4
	r5
)

// Opcode parts (linux/bpf_common.h, linux/bpf.h).
const (
	classLD    = 0x00
	classLDX   = 0x01
	classJMP   = 0x05
	classALU64 = 0x07

	sizeW  = 0x00
	sizeDW = 0x18
	modeIM = 0x00
	modeMM = 0x60

	srcK = 0x00 // the immediate
	srcX = 0x08 // the source register

	aluAND = 0x50
	aluRSH = 0x70
	aluMOV = 0xb0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJSET = 0x40
	jmpJNE  = 0x50
	jmpEXIT = 0x90

	opLdImm64 = classLD | sizeDW | modeIM
)

// insn is one instruction before assembly. Jumps name their target by
// label; assemble turns labels into slot offsets.
type insn struct {
	code   uint8
	dst    reg
	src    reg
	off    int16
	imm    int64 // 32 bits, sign-extended by the kernel; 64 for opLdImm64
	label  string
	target string
}

func ldxW(dst, src reg, off int16) insn {
	return insn{code: classLDX | sizeW | modeMM, dst: dst, src: src, off: off}
}
func movReg(dst, src reg) insn { return insn{code: classALU64 | aluMOV | srcX, dst: dst, src: src} }
func movImm(dst reg, v int32) insn {
	return insn{code: classALU64 | aluMOV | srcK, dst: dst, imm: int64(v)}
}
func andImm(dst reg, v int32) insn {
	return insn{code: classALU64 | aluAND | srcK, dst: dst, imm: int64(v)}
}
func rshImm(dst reg, v int32) insn {
	return insn{code: classALU64 | aluRSH | srcK, dst: dst, imm: int64(v)}
}
func ldImm64(dst reg, v int64) insn {
	return insn{code: opLdImm64, dst: dst, imm: v}
}
func jumpImm(op uint8, dst reg, v int32, target string) insn {
	return insn{code: classJMP | op | srcK, dst: dst, imm: int64(v), target: target}
}
func jumpReg(op uint8, dst, src reg, target string) insn {
	return insn{code: classJMP | op | srcX, dst: dst, src: src, target: target}
}
func ja(target string) insn { return insn{code: classJMP | jmpJA, target: target} }
func exit() insn            { return insn{code: classJMP | jmpEXIT} }

// named gives the instruction a label jumps can target.
func (i insn) named(label string) insn { i.label = label; return i }

// slots is how many 8-byte slots the instruction takes.
func (i insn) slots() int {
	if i.code == opLdImm64 {
		return 2
	}
	return 1
}

func (i insn) String() string {
	s := fmt.Sprintf("op=%#02x dst=r%d src=r%d off=%d imm=%d", i.code, i.dst, i.src, i.off, i.imm)
	if i.label != "" {
		s = i.label + ": " + s
	}
	if i.target != "" {
		s += " -> " + i.target
	}
	return s
}

// assemble encodes insns in the machine's byte order, resolving labels.
func assemble(insns []insn) ([]byte, error) {
	at := map[string]int{}
	slot := 0
	for _, in := range insns {
		if in.label != "" {
			if _, dup := at[in.label]; dup {
				return nil, fmt.Errorf("bpf: label %q defined twice", in.label)
			}
			at[in.label] = slot
		}
		slot += in.slots()
	}
	out := make([]byte, 0, slot*8)
	slot = 0
	for _, in := range insns {
		off := in.off
		if in.target != "" {
			t, ok := at[in.target]
			if !ok {
				return nil, fmt.Errorf("bpf: jump to undefined label %q", in.target)
			}
			d := t - (slot + 1)
			if d < math.MinInt16 || d > math.MaxInt16 {
				return nil, fmt.Errorf("bpf: jump to %q out of range", in.target)
			}
			off = int16(d)
		}
		out = appendSlot(out, in.code, in.dst, in.src, off, int32(in.imm))
		if in.code == opLdImm64 {
			// The second slot carries the upper half of the constant.
			out = appendSlot(out, 0, 0, 0, 0, int32(uint64(in.imm)>>32))
		}
		slot += in.slots()
	}
	return out, nil
}

// appendSlot encodes struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4;
// s16 off; s32 imm; }; the bit-field order follows the byte order.
func appendSlot(b []byte, code uint8, dst, src reg, off int16, imm int32) []byte {
	regs := uint8(dst&0xf) | uint8(src&0xf)<<4
	if !littleEndian() {
		regs = uint8(dst&0xf)<<4 | uint8(src&0xf)
	}
	b = append(b, code, regs)
	b = binary.NativeEndian.AppendUint16(b, uint16(off))
	return binary.NativeEndian.AppendUint32(b, uint32(imm))
}

func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

package devices

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runProgram assembles the instructions buildProgram emits and interprets
// the machine code with the context the kernel passes (bpf_cgroup_dev_ctx),
// so both the program logic and its encoding (opcodes, registers, jump
// offsets) are checked without a kernel; the real-kernel tests check the
// kernel agrees.
func runProgram(insns []insn, typ byte, major, minor uint32, access uint8) (bool, error) {
	code, err := assemble(insns)
	if err != nil {
		return false, err
	}
	devType := uint32(bpfDevChar)
	if typ == 'b' {
		devType = bpfDevBlock
	}
	ctx := make([]byte, 12)
	binary.NativeEndian.PutUint32(ctx[0:], uint32(access)<<16|devType)
	binary.NativeEndian.PutUint32(ctx[4:], major)
	binary.NativeEndian.PutUint32(ctx[8:], minor)

	n := len(code) / 8
	slotAt := func(pc int) (op uint8, dst, src int, off int16, imm int32) {
		b := code[pc*8:]
		dst, src = int(b[1]&0xf), int(b[1]>>4)
		if !littleEndian() {
			dst, src = int(b[1]>>4), int(b[1]&0xf)
		}
		return b[0], dst, src, int16(binary.NativeEndian.Uint16(b[2:])), int32(binary.NativeEndian.Uint32(b[4:]))
	}
	var regs [11]uint64 // R1 is the context, addressed by offset alone
	for pc, steps := 0, 0; pc < n; steps++ {
		if steps > 10*n {
			return false, fmt.Errorf("no exit after %d steps", steps)
		}
		op, dst, src, off, imm := slotAt(pc)
		next := pc + 1
		switch op & 0x07 {
		case classLDX:
			if op != classLDX|sizeW|modeMM || src != 1 || off < 0 || off > 8 || off%4 != 0 {
				return false, fmt.Errorf("%d: unexpected load %#x", pc, op)
			}
			regs[dst] = uint64(binary.NativeEndian.Uint32(ctx[off:]))
		case classLD:
			if op != opLdImm64 || pc+1 >= n {
				return false, fmt.Errorf("%d: unexpected %#x", pc, op)
			}
			_, _, _, _, hi := slotAt(pc + 1)
			regs[dst] = uint64(uint32(imm)) | uint64(uint32(hi))<<32
			next = pc + 2
		case classALU64:
			v := uint64(int64(imm)) // sign-extended, as the kernel does
			if op&srcX != 0 {
				v = regs[src]
			}
			switch op &^ (0x07 | srcX) {
			case aluMOV:
				regs[dst] = v
			case aluAND:
				regs[dst] &= v
			case aluRSH:
				regs[dst] >>= v
			default:
				return false, fmt.Errorf("%d: unexpected %#x", pc, op)
			}
		case classJMP:
			v := uint64(int64(imm))
			if op&srcX != 0 {
				v = regs[src]
			}
			var taken bool
			switch op &^ (0x07 | srcX) {
			case jmpEXIT:
				return regs[0] == 1, nil
			case jmpJA:
				taken = true
			case jmpJEQ:
				taken = regs[dst] == v
			case jmpJNE:
				taken = regs[dst] != v
			case jmpJSET:
				taken = regs[dst]&v != 0
			default:
				return false, fmt.Errorf("%d: unexpected %#x", pc, op)
			}
			if taken {
				next = pc + 1 + int(off)
				if off < 0 || next >= n {
					return false, fmt.Errorf("%d: bad jump offset %d", pc, off)
				}
			}
		default:
			return false, fmt.Errorf("%d: unexpected %#x", pc, op)
		}
		pc = next
	}
	return false, fmt.Errorf("ran off the end")
}

func TestProgramMatchesAllowed(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		rules := mustParse(t, randomSpecRules(r, 8))
		insns := buildProgram(rules)
		forEachProbe(func(typ byte, major, minor uint32, access uint8) {
			want := allowed(rules, typ, major, minor, access)
			got, err := runProgram(insns, typ, major, minor, access)
			if err != nil || got != want {
				t.Fatalf("rules %v, %c %d:%d %s: program says %v (%v), rules say %v\n%v",
					rules, typ, major, minor, accessString(access), got, err, want, insns)
			}
		})
	}
}

func TestProgramLargeNumbers(t *testing.T) {
	rules := mustParse(t, []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: num(3000000000), Minor: num(maxDeviceNumber), Access: "rw"},
	})
	insns := buildProgram(rules)
	for _, tc := range []struct {
		major, minor uint32
		want         bool
	}{
		// int32(3000000000) sign-extends: a plain immediate would never match.
		{3000000000, maxDeviceNumber, true},
		{3000000000, 1, false},
		{1, maxDeviceNumber, false},
	} {
		got, err := runProgram(insns, 'c', tc.major, tc.minor, accRead)
		if err != nil || got != tc.want {
			t.Errorf("c %d:%d r: got %v, %v; want %v", tc.major, tc.minor, got, err, tc.want)
		}
	}
}

func TestProgramStopsAtDecidingRule(t *testing.T) {
	// Everything before the final "deny a" is dead and must not be emitted
	// (the verifier refuses unreachable code).
	rules := mustParse(t, []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: num(1), Minor: num(3), Access: "rwm"},
		{Allow: false, Access: "rwm"},
	})
	insns := buildProgram(rules)
	for _, ins := range insns {
		if ins.code&^srcX == classJMP|jmpJNE {
			t.Fatalf("dead rule emitted:\n%v", insns)
		}
		if ins.target == labelAllow || ins.label == labelAllow {
			t.Fatalf("allow exit emitted for a deny-all program:\n%v", insns)
		}
	}
}

func TestProgramSizeForTypicalRules(t *testing.T) {
	// A docker-like config: deny all, then the defaults Rules adds.
	rules := mustParse(t, Rules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}))
	insns := buildProgram(rules)
	if len(insns) > 64 {
		t.Errorf("%d instructions for %d rules:\n%v", len(insns), len(rules), insns)
	}
	t.Logf("%d rules -> %d instructions", len(rules), len(insns))
}

func TestAllowsEverything(t *testing.T) {
	for _, tc := range []struct {
		rules []specs.LinuxDeviceCgroup
		want  bool
	}{
		{nil, false},
		{[]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}, true},
		{[]specs.LinuxDeviceCgroup{{Allow: true, Type: "a"}}, true},
		{[]specs.LinuxDeviceCgroup{{Allow: true, Access: "rw"}}, false},
		{[]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Allow: true, Type: "c", Major: num(1), Access: "r"}}, true},
		{[]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Allow: false, Type: "c", Major: num(1), Access: "r"}}, false},
	} {
		if got := allowsEverything(mustParse(t, tc.rules)); got != tc.want {
			t.Errorf("allowsEverything(%v) = %v, want %v", tc.rules, got, tc.want)
		}
		// Consistent with the reference.
		if tc.want {
			forEachProbe(func(typ byte, major, minor uint32, access uint8) {
				if !allowed(mustParse(t, tc.rules), typ, major, minor, access) {
					t.Errorf("%v claims everything but denies %c %d:%d", tc.rules, typ, major, minor)
				}
			})
		}
	}
}

func TestAssembleEncoding(t *testing.T) {
	// Hand-checked against the kernel's struct bpf_insn layout: the opcode,
	// the dst/src nibbles, a jump offset counted in slots after the jump
	// (a 64-bit load takes two), and the upper half in the second slot.
	code, err := assemble([]insn{
		jumpImm(jmpJNE, r2, 2, "out"),
		ldImm64(r1, 0x1_0000_0002),
		movImm(r0, 1).named("out"),
		exit(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !littleEndian() {
		t.Skip("expected bytes below are little-endian; this machine is big-endian")
	}
	want := []byte{
		0x55, 0x02, 2, 0, 2, 0, 0, 0, // jne r2, 2, +2
		0x18, 0x01, 0, 0, 2, 0, 0, 0, // lddw r1, low half
		0x00, 0x00, 0, 0, 1, 0, 0, 0, //      high half
		0xb7, 0x00, 0, 0, 1, 0, 0, 0, // mov r0, 1
		0x95, 0x00, 0, 0, 0, 0, 0, 0, // exit
	}
	if string(code) != string(want) {
		t.Errorf("got  % x\nwant % x", code, want)
	}
	if _, err := assemble([]insn{ja("nowhere")}); err == nil {
		t.Error("a jump to an undefined label assembled")
	}
	if _, err := assemble([]insn{exit().named("x"), exit().named("x")}); err == nil {
		t.Error("a label defined twice assembled")
	}
}

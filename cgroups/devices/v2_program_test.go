package devices

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runProgram interprets the instructions buildProgram emits with the
// context the kernel passes (bpf_cgroup_dev_ctx), so the program logic is
// checked without a kernel; the real-kernel tests check the kernel agrees.
func runProgram(insns asm.Instructions, typ byte, major, minor uint32, access uint8) (bool, error) {
	devType := uint32(bpfDevChar)
	if typ == 'b' {
		devType = bpfDevBlock
	}
	ctx := make([]byte, 12)
	binary.NativeEndian.PutUint32(ctx[0:], uint32(access)<<16|devType)
	binary.NativeEndian.PutUint32(ctx[4:], major)
	binary.NativeEndian.PutUint32(ctx[8:], minor)

	symbols := map[string]int{}
	for i, ins := range insns {
		if s := ins.Symbol(); s != "" {
			symbols[s] = i
		}
	}
	var regs [11]uint64 // R1 is the context, addressed by offset alone
	for pc, steps := 0, 0; pc < len(insns); steps++ {
		if steps > 10*len(insns) {
			return false, fmt.Errorf("no exit after %d steps", steps)
		}
		ins := insns[pc]
		op := ins.OpCode
		next := pc + 1
		switch op.Class() {
		case asm.LdXClass:
			if ins.Src != asm.R1 || op.Size() != asm.Word || ins.Offset < 0 || ins.Offset > 8 || ins.Offset%4 != 0 {
				return false, fmt.Errorf("%d: unexpected load %v", pc, ins)
			}
			regs[ins.Dst] = uint64(binary.NativeEndian.Uint32(ctx[ins.Offset:]))
		case asm.LdClass:
			if !op.IsDWordLoad() {
				return false, fmt.Errorf("%d: unexpected %v", pc, ins)
			}
			regs[ins.Dst] = uint64(ins.Constant)
		case asm.ALU64Class:
			src := uint64(ins.Constant)
			if op.Source() == asm.RegSource {
				src = regs[ins.Src]
			}
			switch op.ALUOp() {
			case asm.Mov:
				regs[ins.Dst] = src
			case asm.And:
				regs[ins.Dst] &= src
			case asm.RSh:
				regs[ins.Dst] >>= src
			default:
				return false, fmt.Errorf("%d: unexpected %v", pc, ins)
			}
		case asm.JumpClass:
			src := uint64(ins.Constant) // sign-extended, as the kernel does
			if op.Source() == asm.RegSource {
				src = regs[ins.Src]
			}
			var taken bool
			switch op.JumpOp() {
			case asm.Exit:
				return regs[asm.R0] == 1, nil
			case asm.Ja:
				taken = true
			case asm.JEq:
				taken = regs[ins.Dst] == src
			case asm.JNE:
				taken = regs[ins.Dst] != src
			case asm.JSet:
				taken = regs[ins.Dst]&src != 0
			default:
				return false, fmt.Errorf("%d: unexpected %v", pc, ins)
			}
			if taken {
				target, ok := symbols[ins.Reference()]
				if !ok || target <= pc {
					return false, fmt.Errorf("%d: bad jump target %q", pc, ins.Reference())
				}
				next = target
			}
		default:
			return false, fmt.Errorf("%d: unexpected %v", pc, ins)
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
		if ins.OpCode.JumpOp() == asm.JNE && ins.OpCode.Class() == asm.JumpClass {
			t.Fatalf("dead rule emitted:\n%v", insns)
		}
		if ins.Reference() == labelAllow || ins.Symbol() == labelAllow {
			t.Fatalf("allow exit emitted for a deny-all program:\n%v", insns)
		}
	}
}

func TestProgramSizeForTypicalRules(t *testing.T) {
	// A docker-like config: deny all, then the defaults Rules adds.
	rules := mustParse(t, Rules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, nil))
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

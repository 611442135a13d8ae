package devices

import (
	"math"
	"strconv"
)

// Device types as the kernel passes them in bpf_cgroup_dev_ctx.access_type
// (BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR).
const (
	bpfDevBlock = 1
	bpfDevChar  = 2
)

// Registers of the program: the request, loaded once from the context.
const (
	regType    = r2 // 1 block, 2 char
	regPending = r3 // access bits not yet decided
	regMajor   = r4
	regMinor   = r5
	regScratch = r1 // the context pointer, free once the request is loaded
)

const (
	labelDeny  = "deny"
	labelAllow = "allow"
)

// buildProgram compiles rules into a BPF_PROG_TYPE_CGROUP_DEVICE program
// that runs allowed's loop unrolled: one block per rule, last rule first,
// each falling through to the previous rule when the device does not match.
// Blocks before a rule that decides every request unconditionally are
// never emitted (the verifier rejects unreachable code).
func buildProgram(rules []rule) []insn {
	insns := []insn{
		// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
		// access_type is (access << 16) | type.
		ldxW(regType, r1, 0),
		movReg(regPending, regType),
		rshImm(regPending, 16),
		andImm(regPending, int32(accAll)),
		andImm(regType, 0xffff),
		ldxW(regMajor, r1, 4),
		ldxW(regMinor, r1, 8),
		// An empty request is denied, as allowed does.
		jumpImm(jmpJEQ, regPending, 0, labelDeny),
	}
	blocks := make([][]insn, 0, len(rules))
	for i := len(rules) - 1; i >= 0; i-- {
		block, final := ruleBlock(rules[i], "next"+strconv.Itoa(len(blocks)))
		blocks = append(blocks, block)
		if final {
			break
		}
	}
	allowUsed := false
	for n, block := range blocks {
		// Block n jumps to "next<n>" on mismatch: the start of block n+1, or
		// the deny exit after the last block.
		if n > 0 {
			block[0] = block[0].named("next" + strconv.Itoa(n-1))
		}
		for _, ins := range block {
			if ins.target == labelAllow {
				allowUsed = true
			}
		}
		insns = append(insns, block...)
	}
	deny := movImm(r0, 0).named(labelDeny)
	insns = append(insns, deny, exit())
	if len(blocks) > 0 {
		// The last block's mismatch target is the deny exit: a second
		// symbol on one instruction is not possible, so retarget.
		last := "next" + strconv.Itoa(len(blocks)-1)
		for i := range insns {
			if insns[i].target == last {
				insns[i].target = labelDeny
			}
		}
	}
	if allowUsed {
		insns = append(insns, movImm(r0, 1).named(labelAllow), exit())
	}
	return insns
}

// ruleBlock is one rule's test and action; final reports that it decides
// every request that reaches it, so earlier rules are dead.
func ruleBlock(r rule, next string) (block []insn, final bool) {
	switch r.typ {
	case 'c':
		block = append(block, jumpImm(jmpJNE, regType, bpfDevChar, next))
	case 'b':
		block = append(block, jumpImm(jmpJNE, regType, bpfDevBlock, next))
	}
	if r.major != wildcard {
		block = append(block, jumpIfNot(regMajor, r.major, next)...)
	}
	if r.minor != wildcard {
		block = append(block, jumpIfNot(regMinor, r.minor, next)...)
	}
	unconditional := len(block) == 0
	// pending is never empty here (the entry check, and every block leaves
	// for "allow" when it becomes empty), so a rule naming all bits decides.
	switch {
	case r.access&accAll == accAll && r.allow:
		return append(block, ja(labelAllow)), unconditional
	case r.access&accAll == accAll:
		return append(block, ja(labelDeny)), unconditional
	case r.allow:
		return append(block,
			andImm(regPending, int32(accAll&^r.access)),
			jumpImm(jmpJEQ, regPending, 0, labelAllow),
		), false
	default:
		return append(block, jumpImm(jmpJSET, regPending, int32(r.access), labelDeny)), false
	}
}

// jumpIfNot jumps to label unless reg holds n. Immediates are sign-extended
// 32-bit values, so a number above MaxInt32 goes through a register.
func jumpIfNot(r reg, n int64, label string) []insn {
	if n <= math.MaxInt32 {
		return []insn{jumpImm(jmpJNE, r, int32(n), label)}
	}
	return []insn{
		ldImm64(regScratch, n),
		jumpReg(jmpJNE, r, regScratch, label),
	}
}

// allowsEverything reports whether rules allow every request: walking back,
// an allow-all rule comes before any deny rule. SetV2 then needs no program.
func allowsEverything(rules []rule) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if !r.allow {
			return false
		}
		if r.everything() && r.access&accAll == accAll {
			return true
		}
	}
	return false
}

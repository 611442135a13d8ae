package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// maxSyscallArgs is the number of syscall arguments seccomp can inspect.
const maxSyscallArgs = 6

// conditionSets turns one syscalls[] entry's args into the condition lists of
// the libseccomp rules that express it: the entry matches when any returned
// list matches, and a list matches when all its conditions hold.
//
// Conditions on distinct argument indexes form one rule (AND). When an index
// repeats, libseccomp can't AND them in one rule, and runc's reading applies:
// every condition becomes a rule of its own (OR of all conditions, including
// those on other indexes). See the package documentation for why.
//
// No args yields one empty list: an unconditional rule.
func conditionSets(args []specs.LinuxSeccompArg, field string) ([][]libseccomp.ScmpCondition, error) {
	conds := make([]libseccomp.ScmpCondition, 0, len(args))
	var seen [maxSyscallArgs]bool
	repeated := false
	for i, a := range args {
		argField := fmt.Sprintf("%s.args[%d]", field, i)
		if a.Index >= maxSyscallArgs {
			return nil, fmt.Errorf("%s.index: %d is out of range (a syscall has arguments 0 to %d)", argField, a.Index, maxSyscallArgs-1)
		}
		op, ok := operatorByName(a.Op)
		if !ok {
			return nil, fmt.Errorf("%s.op: unknown operator %q", argField, a.Op)
		}
		var c libseccomp.ScmpCondition
		var err error
		if op == libseccomp.CompareMaskedEqual {
			// (arg & value) == valueTwo: libseccomp takes the mask first.
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", argField, err)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{conds}, nil
	}
	sets := make([][]libseccomp.ScmpCondition, len(conds))
	for i, c := range conds {
		sets[i] = []libseccomp.ScmpCondition{c}
	}
	return sets, nil
}

package seccomp

import (
	"errors"
	"fmt"
	"slices"
	"syscall"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// build compiles the plan with libseccomp and returns the classic-BPF
// program and one note per syscall name this libseccomp does not know
// (skipped, as runc does, so one profile serves old and new systems).
func (p *plan) build() (bpf []byte, notes []string, err error) {
	filter, err := libseccomp.NewFilter(p.defaultAction)
	if err != nil {
		return nil, nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	defer filter.Release()
	// The init sets no_new_privs itself and loads the exported program with
	// its own seccomp(2) call; libseccomp never loads anything here.
	if err := filter.SetNoNewPrivsBit(false); err != nil {
		return nil, nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	// The filter's architectures, for the ENOSYS stub: the native one,
	// which every libseccomp filter starts with, and those added below.
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	archs := []libseccomp.ScmpArch{native}
	// Architectures first: libseccomp gives an architecture only the rules
	// added after it.
	for i, arch := range p.archs {
		err := filter.AddArch(arch)
		if err == nil && !slices.Contains(archs, arch) {
			archs = append(archs, arch)
		}
		if errors.Is(err, syscall.EDOM) {
			// libseccomp can't mix byte orders in one filter. A kernel of
			// the native byte order never runs the other's syscalls, and
			// the filter kills any architecture it does not list.
			notes = append(notes, fmt.Sprintf("seccomp: linux.seccomp.architectures[%d]: %s has another byte order than this machine, skipped", i, p.archNames[i]))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s: %w", i, p.archNames[i], err)
		}
	}
	for _, r := range p.rules {
		for j, name := range r.names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				notes = append(notes, fmt.Sprintf("seccomp: %s.names[%d]: syscall %q is unknown to libseccomp %s, skipped", r.field, j, name, LibseccompVersion()))
				continue
			}
			for _, conds := range r.condSets {
				if len(conds) == 0 {
					err = filter.AddRule(nr, r.action)
				} else {
					err = filter.AddRuleConditional(nr, r.action, conds)
				}
				if err != nil {
					return nil, nil, fmt.Errorf("%s.names[%d]: add rule for %q: %w", r.field, j, name, err)
				}
			}
		}
	}
	if bpf, err = exportBPF(filter); err != nil {
		return nil, nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	if p.stub {
		if bpf, err = p.prependStub(archs, bpf); err != nil {
			return nil, nil, fmt.Errorf("linux.seccomp: %w", err)
		}
	}
	if n := len(bpf) / sockFilterSize; n > maxInstructions {
		return nil, nil, fmt.Errorf("linux.seccomp: the profile compiles to %d BPF instructions; the kernel accepts at most %d", n, maxInstructions)
	}
	return bpf, notes, nil
}

// prependStub puts the ENOSYS stub (see enosys.go) in front of libseccomp's
// program. The stub's jumps end at its own last instruction or at the first
// of libseccomp's, whose relative jumps stay valid as they are.
func (p *plan) prependStub(archs []libseccomp.ScmpArch, bpf []byte) ([]byte, error) {
	sa, err := stubArchs(archs, p.names)
	if err != nil {
		return nil, err
	}
	stub, err := enosysStub(sa)
	if err != nil {
		return nil, err
	}
	return append(stub, bpf...), nil
}

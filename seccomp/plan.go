package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// plan is a validated profile in libseccomp's terms, before any libseccomp
// filter exists. Everything that can be wrong with config.json is found
// while making it, so a cached program is never served for a bad profile.
type plan struct {
	defaultAction libseccomp.ScmpAction
	archs         []libseccomp.ScmpArch
	archNames     []specs.Arch
	flags         uint // seccomp(2) flags, listener flags included
	notify        bool
	rules         []rulePlan
	// names is every syscall name of syscalls[], in order, entries that
	// repeat the default action included: the ENOSYS stub answers only
	// syscalls newer than all of them.
	names []string
	stub  bool // the default action calls for the ENOSYS stub
}

// rulePlan is one syscalls[] entry that adds rules to the filter.
type rulePlan struct {
	field    string // "linux.seccomp.syscalls[3]"
	action   libseccomp.ScmpAction
	names    []string
	condSets [][]libseccomp.ScmpCondition // see conditionSets
}

// newPlan validates s. debugf receives a line for each entry skipped
// because it repeats the default action.
func newPlan(s *specs.LinuxSeccomp, debugf func(string, ...any)) (*plan, error) {
	p := &plan{}
	var err error
	p.defaultAction, err = parseAction(s.DefaultAction, s.DefaultErrnoRet, "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet")
	if err != nil {
		return nil, err
	}
	if p.defaultAction == libseccomp.ActNotify {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the runtime's own syscalls would wait for an agent that has no listener yet)")
	}
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		return nil, fmt.Errorf("linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath")
	}
	if p.flags, err = parseFlags(s.Flags); err != nil {
		return nil, err
	}
	// TSYNC is accepted and left out, as runc does: the filter belongs on
	// the one thread that execs the container's process (the init's other
	// threads are the Go runtime's and end at execve), and a filter on
	// those would put the runtime itself, the thread that hands the
	// listener to the agent included, at the mercy of the profile.
	p.flags &^= unix.SECCOMP_FILTER_FLAG_TSYNC
	p.stub = stubWanted(p.defaultAction)
	if p.archs, err = parseArchs(s.Architectures); err != nil {
		return nil, err
	}
	p.archNames = s.Architectures
	for i := range s.Syscalls {
		r, err := planRule(s, i)
		if err != nil {
			return nil, err
		}
		p.notify = p.notify || r.action == libseccomp.ActNotify
		p.names = append(p.names, r.names...)
		if r.action == p.defaultAction {
			// libseccomp refuses a rule that repeats the default action;
			// it would change nothing anyway.
			debugf("seccomp: %s: action %s equals the default action, skipped", r.field, s.Syscalls[i].Action)
			continue
		}
		p.rules = append(p.rules, r)
	}
	if p.flags, err = listenerFlags(p.flags, p.notify); err != nil {
		return nil, err
	}
	return p, nil
}

func parseArchs(names []specs.Arch) ([]libseccomp.ScmpArch, error) {
	archs := make([]libseccomp.ScmpArch, len(names))
	for i, name := range names {
		arch, ok := archByName(name)
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, name)
		}
		if !archSupported(arch) {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s is not supported by libseccomp %s", i, name, LibseccompVersion())
		}
		archs[i] = arch
	}
	return archs, nil
}

// planRule validates s.Syscalls[i].
func planRule(s *specs.LinuxSeccomp, i int) (rulePlan, error) {
	sc := &s.Syscalls[i]
	r := rulePlan{field: fmt.Sprintf("linux.seccomp.syscalls[%d]", i), names: sc.Names}
	var err error
	r.action, err = parseAction(sc.Action, sc.ErrnoRet, r.field+".action", r.field+".errnoRet")
	if err != nil {
		return r, err
	}
	if len(sc.Names) == 0 {
		return r, fmt.Errorf("%s.names: must contain at least one syscall name", r.field)
	}
	for j, name := range sc.Names {
		if name == "" {
			return r, fmt.Errorf("%s.names[%d]: empty syscall name", r.field, j)
		}
	}
	if r.condSets, err = conditionSets(sc.Args, r.field); err != nil {
		return r, err
	}
	if r.action == libseccomp.ActNotify {
		if s.ListenerPath == "" {
			return r, fmt.Errorf("linux.seccomp.listenerPath: required because %s.action is SCMP_ACT_NOTIFY", r.field)
		}
		for j, name := range sc.Names {
			if notifyRefused(name) {
				return r, fmt.Errorf("%s.names[%d]: SCMP_ACT_NOTIFY cannot be used for %q (as with runc: the init wakes the thread that hands the listener on with it, before any agent could answer)", r.field, j, name)
			}
		}
	}
	return r, nil
}

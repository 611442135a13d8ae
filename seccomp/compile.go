package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Compile validates the config.json `linux.seccomp` object and compiles it
// to a Program with libseccomp. Every error names the offending field
// ("linux.seccomp.syscalls[2].action: unknown action ..."). debugf, which may
// be nil, receives one line per skipped rule (unknown syscall names, rules
// identical to the default action). A nil s yields a nil Program: no filter.
//
// Compile runs on the host (it probes the running kernel for flag support)
// and loads nothing.
func Compile(s *specs.LinuxSeccomp, debugf func(format string, args ...any)) (*Program, error) {
	return CompileCached(s, debugf, "")
}

// CompileCached is Compile with a cache of compiled programs in cacheDir
// (created 0700 if missing; "" disables the cache). libseccomp takes ~10 ms
// for a Docker-like profile with three architectures; a hit costs the
// validation, a hash and one small file read. The profile is fully
// validated on every call, hit or miss, and a failure to write the cache is
// only reported to debugf. cacheDir must be private to the runtime (e.g.
// under --root): whoever can write it chooses the filters containers get.
func CompileCached(s *specs.LinuxSeccomp, debugf func(format string, args ...any), cacheDir string) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	p, err := newPlan(s, debugf)
	if err != nil {
		return nil, err
	}
	var key string
	if cacheDir != "" {
		key = p.cacheKey()
		if e, ok := readCache(cacheDir, key); ok {
			for _, n := range e.Notes {
				debugf("%s", n)
			}
			return p.program(s, e.Filter), nil
		}
	}
	bpf, notes, err := p.build()
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		debugf("%s", n)
	}
	if cacheDir != "" {
		if err := writeCache(cacheDir, key, &cacheEntry{Filter: bpf, Notes: notes}); err != nil {
			debugf("seccomp: compile cache %s: %v", cacheDir, err)
		}
	}
	return p.program(s, bpf), nil
}

func (p *plan) program(s *specs.LinuxSeccomp, bpf []byte) *Program {
	prog := &Program{Filter: bpf, Flags: p.flags}
	if p.notify {
		prog.ListenerPath = s.ListenerPath
		prog.ListenerMetadata = s.ListenerMetadata
	}
	return prog
}

// listenerFlags adds the flags a NOTIFY filter needs and checks the
// combinations the kernel would otherwise refuse only at load time.
func listenerFlags(flags uint, notify bool) (uint, error) {
	if !notify {
		if flags&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 {
			return 0, fmt.Errorf("linux.seccomp.flags: %s needs a rule with SCMP_ACT_NOTIFY", specs.LinuxSeccompFlagWaitKillableRecv)
		}
		return flags, nil
	}
	flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	if !kernelSupportsFlags(flags) {
		return 0, fmt.Errorf("linux.seccomp: SCMP_ACT_NOTIFY needs seccomp user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER, Linux 5.0), which this kernel lacks")
	}
	return flags, nil
}

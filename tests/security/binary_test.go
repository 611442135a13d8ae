package security

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// CVE-2019-5736: a container process rewrites the runtime's binary through
// /proc/<pid>/exe of a runtime process it can see.
//
// The attack: a victim container is created, so its init (pid 1 of its pid
// namespace) is nook, parked at the start barrier. An attacker container
// joins that pid namespace (linux.namespaces pid path) with CAP_SYS_PTRACE,
// so that the init's non-dumpable flag, which alone would refuse the access,
// is not what stops it: the test must reach the binary to test its
// protection. The attacker
//  1. opens /proc/1/exe for reading and keeps the fd (allowed: it must
//     reach the runtime's inode for the test to mean anything),
//  2. tries to open /proc/1/exe for writing while the init runs nook,
//  3. once the victim is started (its init has exec'd `sleep`, so nothing
//     executes nook any more and ETXTBSY no longer protects it), reopens its
//     fd through /proc/self/fd/3 for writing and appends to it, repeatedly.
//
// The protection (invariant 2) is libcontainer/binary.go protectedSelf: the
// init is exec'd from a detached read-only bind mount of the binary (or a
// sealed memfd), so every write open fails with EROFS (or EPERM for the
// memfd). Without it step 3 succeeds and the binary's hash changes. The test
// runs its own copy of nook, so that no other test executing the same file
// hides the attack behind ETXTBSY, and so a regression breaks only a copy.
func TestCVE2019_5736RuntimeBinaryOverwrite(t *testing.T) {
	e := newEnv(t)
	bin := e.PrivateNook()
	before := sha256File(t, bin)
	suiteBefore := sha256File(t, suite.Nook)

	victim := e.ID()
	victimPid, _ := e.Create(e.Bundle(harness.Args("sleep", "100")), victim)
	defer e.ForceDelete(victim)

	shared := filepath.Join(e.Dir, "shared")
	must(t, os.Mkdir(shared, 0o777))
	attack := `
exec 3</proc/1/exe 2>/shared/open.err || { echo open-failed > /shared/ready; exec sleep 100; }
readlink /proc/1/exe > /shared/exe-link 2>&1
( echo PWNED >> /proc/1/exe ) 2>/shared/direct.err && echo direct-write-succeeded >> /shared/log
echo ready > /shared/ready
while [ ! -e /shared/go ]; do sleep 0.02; done
i=0
while [ $i -lt 50 ]; do
	if ( echo PWNED >> /proc/self/fd/3 ) 2>/shared/reopen.err; then echo reopen-write-succeeded >> /shared/log; break; fi
	i=$((i+1)); sleep 0.02
done
echo done > /shared/done
exec sleep 100
`
	attacker := e.ID()
	b := e.Bundle(harness.Sh(attack), addCaps("CAP_SYS_PTRACE"), bindVolume(shared, "/shared"),
		func(s *specs.Spec) {
			for i, ns := range s.Linux.Namespaces {
				if ns.Type == specs.PIDNamespace {
					s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/pid", victimPid)
				}
			}
		})
	e.Create(b, attacker)
	defer e.ForceDelete(attacker)
	e.OK(e.Nook("start", attacker))
	ready := e.WaitFile(filepath.Join(shared, "ready"), "\n")
	if strings.Contains(ready, "open-failed") {
		t.Fatalf("the attacker could not even open /proc/1/exe for reading (%s): the test no longer reaches the runtime binary, so it proves nothing about its protection",
			harness.ReadString(filepath.Join(shared, "open.err")))
	}
	// The victim's init now execs sleep: nook is no longer running there.
	e.OK(e.Nook("start", victim))
	e.WaitStatus(victim, "running")
	must(t, os.WriteFile(filepath.Join(shared, "go"), nil, 0o644))
	e.WaitFile(filepath.Join(shared, "done"), "done")

	log := harness.ReadString(filepath.Join(shared, "log"))
	direct := harness.ReadString(filepath.Join(shared, "direct.err"))
	reopen := harness.ReadString(filepath.Join(shared, "reopen.err"))
	t.Logf("attacker saw /proc/1/exe -> %s; direct write: %s; reopen write: %s",
		strings.TrimSpace(harness.ReadString(filepath.Join(shared, "exe-link"))), strings.TrimSpace(direct), strings.TrimSpace(reopen))
	if log != "" {
		t.Errorf("the container wrote to the runtime binary: %s", log)
	}
	if after := sha256File(t, bin); after != before {
		t.Errorf("the runtime binary changed: sha256 %s, was %s", after, before)
	}
	if after := sha256File(t, suite.Nook); after != suiteBefore {
		t.Errorf("the suite's nook binary changed: sha256 %s, was %s", after, suiteBefore)
	}
	// While the init runs nook the kernel answers ETXTBSY before it looks
	// at the mount; once nothing executes the binary, only the protection
	// stands: a read-only mount (EROFS) or a sealed memfd (EPERM).
	if !strings.Contains(direct, "Text file busy") && !strings.Contains(direct, "Read-only file system") &&
		!strings.Contains(direct, "Operation not permitted") {
		t.Errorf("writing /proc/1/exe while the init ran nook failed with %q, want ETXTBSY, EROFS or EPERM", strings.TrimSpace(direct))
	}
	if !strings.Contains(reopen, "Read-only file system") && !strings.Contains(reopen, "Operation not permitted") {
		t.Errorf("reopening the runtime binary for writing failed with %q, want EROFS (read-only view) or EPERM (sealed copy)", strings.TrimSpace(reopen))
	}
}

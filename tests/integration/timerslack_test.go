package integration

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// callerSlack is an odd timer slack for the thread that runs nook, so that
// what a program inherits can be told apart from the 50 us default and from
// nook's own raised slack.
const callerSlack = "70001"

// withCallerSlack runs f, which runs nook, on a thread whose timer slack is
// callerSlack: nook inherits the slack of the thread that forks it.
func withCallerSlack(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	must(t, err)
	must(t, unix.Prctl(unix.PR_SET_TIMERSLACK, 70001, 0, 0, 0))
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
	f()
}

// TestTimerSlack: nook raises its own timer slack (nsenter/timerslack.c),
// and nothing it starts inherits that: the container's process, an exec'd
// one and every kind of hook get the slack of nook's caller.
func TestTimerSlack(t *testing.T) {
	e := newEnv(t)
	log := filepath.Join(e.Dir, "hooks.log")
	script := filepath.Join(e.Dir, "hook.sh")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"$1 $(cat /proc/self/timerslack_ns)\" >> "+log+"\n"), 0o755))
	hook := func(kind string) []specs.Hook {
		return []specs.Hook{{Path: script, Args: []string{"hook.sh", kind}}}
	}
	withCallerSlack(t, func() {
		out := e.runOK(sh("cat /tmp/startContainer; echo process $(cat /proc/self/timerslack_ns)"), func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
			s.Hooks = &specs.Hooks{
				Prestart:        hook("prestart"),
				CreateRuntime:   hook("createRuntime"),
				CreateContainer: hook("createContainer"),
				StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
					"echo startContainer $(cat /proc/self/timerslack_ns) > /tmp/startContainer"}}},
				Poststart: hook("poststart"),
				Poststop:  hook("poststop"),
			}
		})
		got := strings.Join(append(nonEmptyLines(out), nonEmptyLines(readString(log))...), "\n")
		want := strings.Join([]string{"startContainer", "process", "prestart", "createRuntime", "createContainer",
			"poststart", "poststop"}, " "+callerSlack+"\n") + " " + callerSlack
		if got != want {
			t.Errorf("timer slack of the programs nook started:\n%s\nwant\n%s", got, want)
		}

		// The init itself runs with nook's raised slack until it execs.
		id := e.id()
		pid, _ := e.create(e.bundle(args("sleep", "100")), id)
		if got := strings.TrimSpace(readString("/proc/" + itoa(pid) + "/timerslack_ns")); got != "5000000" {
			t.Errorf("the created container's init has timer slack %s, want nook's 5000000", got)
		}
		e.ok(e.nook("start", id))
		if got := strings.TrimSpace(readString("/proc/" + itoa(pid) + "/timerslack_ns")); got != callerSlack {
			t.Errorf("the started container's process has timer slack %s, want the caller's %s", got, callerSlack)
		}
		if got := strings.TrimSpace(e.ok(e.nook("exec", id, "cat", "/proc/self/timerslack_ns")).Stdout); got != callerSlack {
			t.Errorf("an exec'd process has timer slack %s, want the caller's %s", got, callerSlack)
		}
		e.ok(e.nook("delete", "--force", id))

		// The init gives its thread the caller's slack back before it loads
		// the seccomp filter: after that it makes no system call but execve,
		// so a profile that refuses prctl changes nothing.
		noPrctl := withSeccomp(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"prctl"}, Action: specs.ActErrno}},
		})
		if got := strings.TrimSpace(e.runOK(args("cat", "/proc/self/timerslack_ns"), noPrctl)); got != callerSlack {
			t.Errorf("a process whose seccomp profile refuses prctl has timer slack %s, want the caller's %s", got, callerSlack)
		}
	})
}

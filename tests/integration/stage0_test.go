package integration

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// Stage 0 starts before the config is read, and the init is cloned before
// nook makes its state directory, cgroup and handoffs. A create that fails
// after that must kill and reap the init it already has, before it exits:
// nothing of it may outlive the failed command, not even for the few
// milliseconds the init would take to notice its parent is gone.
func TestFailedCreateLeavesNoInit(t *testing.T) {
	e := newEnv(t)
	existing, _, _ := e.createStarted(args("sleep", "100"))
	dead := filepath.Join(e.Dir, "dead.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: dead, Net: "unix"})
	must(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
	notify := seccompProfile(t, "deny-mkdir.json")
	notify.Syscalls[0].Action = "SCMP_ACT_NOTIFY"
	notify.ListenerPath = dead

	userns := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}

	badSysctl := func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"no.such.sysctl": "1"} }

	cases := []struct {
		name string
		id   string
		mod  specMod
		args []string
		raw  string // config.json's whole text, if set
		want string
		// noClone: no init is ever cloned, and create must not wait for
		// one: stage 0 never heard of the namespaces, or it made a user
		// namespace and waits for mappings a failing create never writes.
		noClone bool
	}{
		{name: "existing id", id: existing, want: "exists"},
		{name: "console socket refused", mod: func(s *specs.Spec) { s.Process.Terminal = true }, args: []string{"--console-socket", dead}, want: "console-socket"},
		{name: "seccomp listener refused", mod: withSeccomp(notify), want: "listenerPath"},
		{name: "existing id, user namespace", id: existing, mod: userns, want: "exists", noClone: true},
		// The namespaces went to stage 0 before the whole config was
		// checked (spec.Config.BootstrapView): the init it cloned dies.
		{name: "invalid config", mod: badSysctl, want: "sysctl"},
		{name: "invalid config, user namespace", mod: func(s *specs.Spec) { userns(s); badSysctl(s) }, want: "sysctl", noClone: true},
		// Refused before stage 0 hears of any namespace.
		{name: "config not JSON", raw: `{"ociVersion": "1.3.0",`, want: "unexpected end of JSON input", noClone: true},
		{name: "unknown namespace type", mod: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "nosuch"})
		}, want: "unknown namespace type", noClone: true},
	}
	for _, c := range cases {
		id := c.id
		if id == "" {
			id = e.id()
		}
		var b string
		if c.mod != nil {
			b = e.bundle(args("true"), c.mod)
		} else {
			b = e.bundle(args("true"))
		}
		if c.raw != "" {
			must(t, os.WriteFile(filepath.Join(b, "config.json"), []byte(c.raw), 0o644))
		}
		began := time.Now()
		r := e.nook(append(append([]string{"--debug", "create", "--bundle", b}, c.args...), id)...)
		took := time.Since(began)
		// At once, before anything can exit on its own.
		inits := liveWriters(r.OutPath)
		if r.Code != 1 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%s: want exit 1 and an error about %q, got: %s", c.name, c.want, r)
		}
		if len(inits) > 0 {
			t.Errorf("%s: init processes outlived the failed create: %v", c.name, inits)
		}
		// Killed and reaped; or, started before the Go runtime
		// (fastcmd/early.c), reaped when taken if it had done its work.
		if !strings.Contains(r.Stderr, "reaped nsenter stage 0") {
			t.Errorf("%s: no 'reaped nsenter stage 0' in the --debug output: %s", c.name, r.Stderr)
		}
		killed := regexp.MustCompile(`killed and reaped the init, pid \d+`).MatchString(r.Stderr)
		switch {
		case c.noClone && killed:
			t.Errorf("%s: an init was cloned before the user namespace was mapped: %s", c.name, r.Stderr)
		case c.noClone && took > 900*time.Millisecond:
			t.Errorf("%s: the failed create took %v: it waited for an init that never comes", c.name, took)
		case !c.noClone && !killed:
			// Without a user namespace stage 0 clones the init without
			// waiting for the parent: create must have killed it.
			t.Errorf("%s: no 'killed and reaped the init' in the --debug output: %s", c.name, r.Stderr)
		}
	}
	e.ok(e.nook("kill", existing, "KILL"))
	e.waitStatus(existing, "stopped")
	e.ok(e.nook("delete", existing))
}

// liveWriters lists the live processes whose stdout is path: what a
// command left running of itself (a container init inherits the stdout of
// the create that made it; no other test writes to this file).
func liveWriters(path string) []string {
	var out []string
	for _, pid := range harness.AllPids() {
		st, err := harness.ReadStat(pid)
		if err != nil || st.State == 'Z' {
			continue
		}
		if link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/1"); err == nil && link == path {
			out = append(out, "pid "+strconv.Itoa(pid)+" ("+st.Comm+")")
		}
	}
	return out
}

// exec starts stage 0 before it loads the container's state too; an exec
// that fails (no such container, a stopped one) kills it before exiting.
func TestFailedExecLeavesNoStage0(t *testing.T) {
	e := newEnv(t)
	stopped, _, _ := e.createStarted(args("true"))
	e.waitStatus(stopped, "stopped")
	for _, c := range []struct{ id, want string }{
		{e.id(), "does not exist"},
		{stopped, "stopped"},
	} {
		r := e.nook("--debug", "exec", c.id, "true")
		left := liveWriters(r.OutPath)
		if r.Code != 255 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("exec in %s: want exit 255 and an error about %q, got: %s", c.id, c.want, r)
		}
		// Killed and reaped by exec itself, not left to die of EOF when
		// exec has gone.
		if !strings.Contains(r.Stderr, "killed and reaped nsenter stage 0") {
			t.Errorf("exec in %s: no 'killed and reaped nsenter stage 0' in the --debug output: %s", c.id, r.Stderr)
		}
		if len(left) > 0 {
			t.Errorf("exec in %s: processes outlived it: %v", c.id, left)
		}
	}
	e.ok(e.nook("delete", stopped))
}

// create and run start stage 0 before the Go runtime, from a constructor
// that reads config.json's namespaces itself and sends the Bootstrap
// (fastcmd/early.c); the Go side takes it. What the constructor does not
// read exactly it leaves to Go, a Bootstrap that differs from the whole
// config's makes Go start over, and a command that fails before it takes
// the stage 0 kills and reaps it (and the init it cloned) before it exits.
func TestEarlyStage0(t *testing.T) {
	e := newEnv(t)
	const took = "started before the Go runtime (fastcmd/early.c)"
	withEarly := func(mode string, a ...string) result {
		saved := e.Environ
		if mode != "" {
			e.Environ = append(append([]string{}, saved...), "_NOOK_EARLY="+mode)
		}
		defer func() { e.Environ = saved }()
		return e.nook(a...)
	}
	b := e.bundle(args("true"))

	// Taken by create and by run; the container runs as ever.
	id := e.id()
	r := withEarly("", "--debug", "create", "--bundle", b, id)
	if r.Code != 0 || !strings.Contains(r.Stderr, took) {
		t.Fatalf("create: want exit 0 and %q in the --debug output, got: %s", took, r)
	}
	e.ok(e.nook("start", id))
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
	if r := withEarly("", "--debug", "run", "--bundle", b, e.id()); r.Code != 0 || !strings.Contains(r.Stderr, took) {
		t.Fatalf("run: want exit 0 and %q in the --debug output, got: %s", took, r)
	}

	// Left to Go: turned off, fds to pass on, a user namespace (early.c
	// declines; the create then fails on the existing id, before any
	// mapping is needed).
	existing, _, _ := e.createStarted(args("sleep", "100"))
	userns := e.bundle(args("true"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	for _, c := range []struct {
		name, mode string
		args       []string
		code       int
	}{
		{"_NOOK_EARLY=off", "off", []string{"create", "--bundle", b, e.id()}, 0},
		{"--preserve-fds", "", []string{"create", "--preserve-fds", "0", "--bundle", b, e.id()}, 0},
		{"a user namespace", "", []string{"create", "--bundle", userns, existing}, 1},
	} {
		r := withEarly(c.mode, append([]string{"--debug"}, c.args...)...)
		if r.Code != c.code || strings.Contains(r.Stderr, took) {
			t.Errorf("%s: want exit %d and no early stage 0, got: %s", c.name, c.code, r)
		}
		if r.Code == 0 {
			id := c.args[len(c.args)-1]
			e.register(e.state(id).Pid)
			e.ok(e.nook("delete", "--force", id))
		}
	}

	// A Bootstrap that is not the config's (here: without the namespaces
	// to create) is not used: the init still gets its own network
	// namespace.
	id = e.id()
	r = withEarly("drop-namespaces", "--debug", "create", "--bundle", b, id)
	if r.Code != 0 || !strings.Contains(r.Stderr, "differs from the config's: stage 0 starts over") {
		t.Fatalf("a Bootstrap that differs: want exit 0 and a new stage 0, got: %s", r)
	}
	pid := e.state(id).Pid
	e.register(pid)
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	if net, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); err != nil || net == hostNet {
		t.Errorf("a Bootstrap that differs: the init's network namespace is %q (%v), the host's %q", net, err, hostNet)
	}
	e.ok(e.nook("delete", "--force", id))

	// A create that fails before it takes the stage 0: killed and
	// reaped, nothing left running.
	r = withEarly("", "--debug", "create", "--bundle", b, "no/such/id")
	left := liveWriters(r.OutPath)
	if r.Code != 1 || !strings.Contains(r.Stderr, "reaped nsenter stage 0") {
		t.Errorf("an invalid id: want exit 1 and stage 0 reaped, got: %s", r)
	}
	if len(left) > 0 {
		t.Errorf("an invalid id: processes outlived the create: %v", left)
	}
	e.ok(e.nook("kill", existing, "KILL"))
	e.waitStatus(existing, "stopped")
	e.ok(e.nook("delete", existing))
}

// Stage 0 started from the constructor inherits the signal dispositions
// of nook's caller, where Go's fork resets an inherited SIG_IGN (but for
// SIGHUP and SIGINT); the init, C or Go, takes its signals as a Go program
// does, so the container's process gets the same either way.
func TestEarlyStage0Signals(t *testing.T) {
	e := newEnv(t)
	wrapper := filepath.Join(e.Dir, "nook-ignoring")
	must(t, os.WriteFile(wrapper, []byte("#!/bin/sh\ntrap '' HUP PIPE USR1 TERM\nexec "+e.Bin+" \"$@\"\n"), 0o755))
	saved := e.Bin
	e.Bin = wrapper
	defer func() { e.Bin, e.Environ = saved, nil }()
	b := e.bundle(args("sleep", "100"))
	// The C init, and (--no-pivot) the Go init.
	for _, extra := range [][]string{nil, {"--no-pivot"}} {
		ignored := map[string]string{}
		for _, mode := range []string{"", "off"} {
			e.Environ = []string{"_NOOK_EARLY=" + mode}
			id := e.id()
			pid, _ := e.create(b, id, extra...)
			e.ok(e.nook("start", id))
			e.waitStatus(id, "running")
			ignored[mode] = statusField(readString("/proc/"+strconv.Itoa(pid)+"/status"), "SigIgn")
			e.ok(e.nook("delete", "--force", id))
		}
		if ignored[""] != ignored["off"] || ignored[""] == "" {
			t.Errorf("create %v: SigIgn of the container's process %q with the early stage 0, %q without", extra, ignored[""], ignored["off"])
		}
	}
}

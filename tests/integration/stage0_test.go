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
		if !strings.Contains(r.Stderr, "killed and reaped nsenter stage 0") {
			t.Errorf("%s: no 'killed and reaped nsenter stage 0' in the --debug output: %s", c.name, r.Stderr)
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

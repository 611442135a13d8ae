package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/seccomp"
)

// Only a process with nothing the Go init alone knows how to set up gets
// an exec plan.
func TestOnlyAPlainExecIsPlanned(t *testing.T) {
	plain := func() (*state.Record, CreateOptions) {
		r := &state.Record{Namespaces: map[string]string{"mount": "/proc/1/ns/mnt"}}
		return r, CreateOptions{Spec: &specs.Spec{Process: &specs.Process{Args: []string{"true"}, Cwd: "/"}, Linux: &specs.Linux{}}}
	}
	if r, o := plain(); !plainExec(r, o) {
		t.Fatal("a plain process is not planned")
	}
	for name, change := range map[string]func(*state.Record, *CreateOptions){
		"a terminal":       func(_ *state.Record, o *CreateOptions) { o.Spec.Process.Terminal = true },
		"a console socket": func(_ *state.Record, o *CreateOptions) { o.ConsoleSocket = "/run/x.sock" },
		"a user name":      func(_ *state.Record, o *CreateOptions) { o.Spec.Process.User.Username = "u" },
		"AppArmor":         func(_ *state.Record, o *CreateOptions) { o.Spec.Process.ApparmorProfile = "p" },
		"SELinux":          func(_ *state.Record, o *CreateOptions) { o.Spec.Process.SelinuxLabel = "l" },
		"a scheduler":      func(_ *state.Record, o *CreateOptions) { o.Spec.Process.Scheduler = &specs.Scheduler{} },
		"an I/O priority":  func(_ *state.Record, o *CreateOptions) { o.Spec.Process.IOPriority = &specs.LinuxIOPriority{} },
		"a CPU affinity":   func(_ *state.Record, o *CreateOptions) { o.Spec.Process.ExecCPUAffinity = &specs.CPUAffinity{} },
		"a personality":    func(_ *state.Record, o *CreateOptions) { o.Spec.Linux.Personality = &specs.LinuxPersonality{} },
		"a memory policy":  func(_ *state.Record, o *CreateOptions) { o.Spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{} },
		"a user namespace": func(r *state.Record, _ *CreateOptions) { r.Namespaces["user"] = "/proc/1/ns/user" },
		"a seccomp agent": func(_ *state.Record, o *CreateOptions) {
			o.seccomp = &seccomp.Program{Flags: unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}
		},
		"no process": func(_ *state.Record, o *CreateOptions) { o.Spec.Process = nil },
		"no args":    func(_ *state.Record, o *CreateOptions) { o.Spec.Process.Args = nil },
	} {
		r, o := plain()
		change(r, &o)
		if plainExec(r, o) {
			t.Errorf("%s: planned", name)
		}
	}
}

// A lookup through a relative path is the Go init's: it looks it up from
// the root and execs it from the cwd, which a plan does not reproduce.
func TestOnlyAbsoluteLookupsArePlanned(t *testing.T) {
	for _, c := range []struct {
		name, path string
		want       bool
	}{
		{"/bin/true", "", true},
		{"true", "/usr/bin:/bin", true},
		{"true", "", true},
		{"./true", "/bin", false},
		{"bin/true", "/bin", false},
		{"true", "/bin:.", false},
		{"true", "/bin::/usr/bin", false}, // an empty entry is "."
	} {
		if got := absoluteLookup(c.name, []string{"PATH=" + c.path}); got != c.want {
			t.Errorf("%q with PATH=%q: %v, want %v", c.name, c.path, got, c.want)
		}
	}
}

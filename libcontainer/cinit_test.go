package libcontainer

import (
	"encoding/binary"
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/userns"
	"github.com/nookrt/nook/spec"
)

// cInitCase is a container that gets the C init: the default config, as
// `nook spec` writes it, with nothing the parent prepared for the init.
func cInitCase() (CreateOptions, *handoffs) {
	s := spec.Default(false)
	s.Process.Terminal = false
	return CreateOptions{Spec: s}, &handoffs{}
}

// Whatever the Go init alone sets up keeps the Go init.
func TestOnlyWhatNeedsNoGoInitGetsTheCInit(t *testing.T) {
	if userns.RunningInUserNS() {
		t.Skip("needs a host outside any user namespace: in one, every container keeps the Go init")
	}
	if o, h := cInitCase(); !cInitFits(o, h) {
		t.Fatal("the default config does not get the C init")
	}
	for name, change := range map[string]func(*CreateOptions, *handoffs){
		"a terminal":             func(o *CreateOptions, _ *handoffs) { o.Spec.Process.Terminal = true },
		"a user name":            func(o *CreateOptions, _ *handoffs) { o.Spec.Process.User.Username = "u" },
		"a CPU affinity":         func(o *CreateOptions, _ *handoffs) { o.Spec.Process.ExecCPUAffinity = &specs.CPUAffinity{} },
		"no process":             func(o *CreateOptions, _ *handoffs) { o.Spec.Process = nil },
		"a user namespace":       func(o *CreateOptions, _ *handoffs) { o.Spec = spec.Default(true) },
		"no mount namespace":     func(o *CreateOptions, _ *handoffs) { dropNamespace(o.Spec, specs.MountNamespace) },
		"a joined mount ns":      func(o *CreateOptions, _ *handoffs) { joinNamespace(o.Spec, specs.MountNamespace) },
		"--no-pivot":             func(o *CreateOptions, _ *handoffs) { o.NoPivot = true },
		"socket activation":      func(o *CreateOptions, _ *handoffs) { o.ListenFds = 1 },
		"a relative PATH lookup": func(o *CreateOptions, _ *handoffs) { o.Spec.Process.Env = []string{"PATH=bin"} },
		"createContainer hooks": func(o *CreateOptions, _ *handoffs) {
			o.Spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
		},
		"startContainer hooks": func(o *CreateOptions, _ *handoffs) {
			o.Spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}}
		},
		"an idmapped mount": func(_ *CreateOptions, h *handoffs) { h.idmap = []*os.File{os.Stdin} },
		"a prepared bind":   func(_ *CreateOptions, h *handoffs) { h.binds = map[int]*os.File{0: os.Stdin} },
		"a proc option of mount(2)'s": func(o *CreateOptions, _ *handoffs) {
			o.Spec.Mounts[0].Options = []string{"sync"}
		},
		"too many proc mounts": func(o *CreateOptions, _ *handoffs) {
			for range maxProcContexts {
				o.Spec.Mounts = append(o.Spec.Mounts, specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"})
			}
		},
	} {
		o, h := cInitCase()
		change(&o, h)
		if cInitFits(o, h) {
			t.Errorf("%s: gets the C init", name)
		}
	}
}

func dropNamespace(s *specs.Spec, t specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
}

func joinNamespace(s *specs.Spec, t specs.LinuxNamespaceType) {
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == t {
			s.Linux.Namespaces[i].Path = "/proc/1/ns/mnt"
		}
	}
}

// Bootstrap announces an InitMode exactly when the config may get the C
// init (TestBootstrapViewAgreesWithWholeConfig checks the early view says
// the same).
func TestBootstrapAnnouncesTheInitMode(t *testing.T) {
	o, _ := cInitCase()
	if payload, _ := bootstrapOf(o.Spec); !hasAttr(payload, initproto.AttrInitMode) {
		t.Fatal("no InitMode announced for the default config")
	}
	o.Spec.Process.Terminal = true
	if payload, _ := bootstrapOf(o.Spec); hasAttr(payload, initproto.AttrInitMode) {
		t.Fatal("an InitMode announced for a terminal, whose init is always Go's")
	}
}

func hasAttr(payload []byte, want uint32) bool {
	for len(payload) >= 8 {
		attr, n := binary.NativeEndian.Uint32(payload), binary.NativeEndian.Uint32(payload[4:])
		if attr == want {
			return true
		}
		payload = payload[8+n:]
	}
	return false
}

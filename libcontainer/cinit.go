package libcontainer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/containerinit"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/userns"
)

// The C init (nsenter/cinit.c, initproto/cinit.go): for a container whose
// set-up needs nothing of the Go init but its root, nook builds that root
// from one of its own threads (containerinit.BuildFromParent) and the
// container's PID 1 stays C until it execs the process, from an exec plan.
// `create` then waits for no second Go runtime to start: ~7 ms of page
// faults on the development VM, a third of the command.

// maxProcContexts is how many proc mounts a C init opens contexts for
// (NOOK_MAX_FRAME_FDS in nsenter/proto.h).
const maxProcContexts = 16

// cInitMaybe is what the Bootstrap view of a config (spec.Config.BootstrapView:
// namespaces, process.terminal, process.execCPUAffinity) says of a C init:
// when it may have one, stage 1 waits for InitMode before it starts Go.
// It reads only the view's fields, so the view and the whole config agree.
func cInitMaybe(s *specs.Spec) bool {
	p := s.Process
	if p == nil || p.Terminal || p.ExecCPUAffinity != nil {
		return false
	}
	flags, _ := initproto.NamespacePlan(s.Linux)
	return flags&unix.CLONE_NEWNS != 0 && !initproto.HasNamespace(s.Linux, specs.UserNamespace)
}

// cInitFits says whether nothing of o needs the Go init: a plain process
// (as an exec plan's: no terminal, so no console socket, and no seccomp
// agent) found along an absolute PATH, no hook run inside the container,
// no mount the parent prepared (idmapped ones, h), proc mounts whose
// options fsmount(2) takes, a new mount namespace, no user namespace (nor
// nook in one), pivot_root, no socket activation (its LISTEN_PID is the Go
// init's).
func cInitFits(o CreateOptions, h *handoffs) bool {
	s := o.Spec
	if !cInitMaybe(s) || !plainProcess(o) || o.NoPivot || o.ListenFds > 0 || userns.RunningInUserNS() ||
		!absoluteLookup(s.Process.Args[0], s.Process.Env) {
		return false
	}
	if len(hooks.Of(s.Hooks, hooks.CreateContainer))+len(hooks.Of(s.Hooks, hooks.StartContainer)) > 0 {
		return false
	}
	if len(h.idmap) > 0 || len(h.binds) > 0 {
		return false
	}
	n, fromContexts := procMounts(s)
	return fromContexts && n <= maxProcContexts
}

// procMounts counts the proc filesystems the container mounts, and says
// whether each can be made from a context (rootfs.ProcMountFromContext).
func procMounts(s *specs.Spec) (n int, fromContexts bool) {
	fromContexts = true
	for _, m := range s.Mounts {
		if m.Type == "proc" {
			n++
			fromContexts = fromContexts && rootfs.ProcMountFromContext(m)
		}
	}
	return n, fromContexts
}

// sendInitMode tells stage 1 which init it is.
func (p *initProcess) sendInitMode(c bool, warn func(string)) error {
	mode := initproto.InitModeGo
	if c {
		mode = initproto.InitModeC
	}
	return p.sent(initproto.Send(p.sock, initproto.InitMode, binary.NativeEndian.AppendUint32(nil, mode)), warn)
}

// buildForCInit is the C init's part of bringUp between InitGo and Ready:
// it takes the init's proc contexts, builds the root (running the parent's
// hooks on the way, as runParentHooks would) and sends the exec plan with
// the start barrier. An error of the build is reported as the Go init's
// would be; the init is told to give up.
func (p *initProcess) buildForCInit(rec *state.Record, o CreateOptions, cfg *initproto.InitConfig, warn func(string)) error {
	_, fds, err := initproto.ExpectFiles(p.sock, initproto.ProcContexts)
	if err != nil {
		return initFailure(err)
	}
	cfg.ProcFd = int(p.handoff.proc.Fd())
	var hookErr error
	built, err := containerinit.BuildFromParent(&containerinit.FromParent{
		Config: cfg, Pid: p.pid, ProcContexts: fds, Warn: warn,
		RunHooks: func() error {
			hookErr = p.runHooksNow(rec, o)
			return hookErr
		},
	})
	if err == nil {
		plan := planOf(o.Spec.Process, o, built.Path, built.Env, built.Limits, warn)
		if plan == nil {
			// Refused capabilities: what the Go init would have said.
			_, _, err = caps.FromSpec(o.Spec.Process.Capabilities)
		} else {
			plan.ReopenNull, plan.Failures = built.ReopenNull, built.Failures
			if !o.NoNewKeyring {
				plan.Keyring = o.ID
			}
			return p.sent(initproto.SendFiles(p.sock, initproto.ExecPlanMsg, plan.Encode(), []*os.File{p.handoff.fifo}), warn)
		}
	}
	initproto.Send(p.sock, initproto.Error, nil) // the init stops waiting
	if hookErr != nil && errors.Is(err, hookErr) {
		return hookErr // as runParentHooks returns it
	}
	return fmt.Errorf("error during container init: %w", err)
}

// initFailure is err, from the init, worded as bringUp words the Go init's.
func initFailure(err error) error {
	var remote *initproto.RemoteError
	if errors.As(err, &remote) {
		return fmt.Errorf("error during container init: %w", err)
	}
	return err
}

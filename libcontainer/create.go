package libcontainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/netdev"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/seccomp"
)

// CreateOptions are `nook create`'s inputs.
type CreateOptions struct {
	ID            string
	Bundle        string      // absolute
	Spec          *specs.Spec // nil: Root.Create reads Bundle's config.json
	Rootfs        string      // absolute, resolved by spec.ResolveRootfs
	PidFile       string
	ConsoleSocket string
	// ConsoleFor, with Spec nil, chooses ConsoleSocket and RelayConsole
	// once Root.Create has read the config (`nook run`'s own terminal).
	ConsoleFor func(*specs.Spec) (socket string, relay bool, err error)
	// RelayConsole: ConsoleSocket is the caller's own, which relays the
	// terminal to its stdio (nook run in the foreground), not an engine's.
	RelayConsole bool
	// PidfdSocket, if set, is a unix socket that receives a pidfd of the
	// init once it is ready (--pidfd-socket, as runc).
	PidfdSocket string
	// NotifySocket is the caller's NOTIFY_SOCKET: the container gets one
	// of its own, which start relays to it (notify.go).
	NotifySocket string
	NoPivot      bool
	NoNewKeyring bool
	PreserveFds  int
	// SystemdCgroup selects the systemd cgroup driver (--systemd-cgroup).
	SystemdCgroup bool
	// RootlessCgroups (--rootless) leaves out the cgroups nook may not
	// write, as runc's rootless cgroup manager (cgroups.Config.Rootless).
	RootlessCgroups bool
	// ListenFds socket-activation fds come first (3..), then PreserveFds;
	// the container gets LISTEN_FDS/LISTEN_PID for them.
	ListenFds int
	// Warn receives warnings (capabilities that cannot be granted, …).
	Warn func(string)
	// Debug, if set, receives the timing of each create phase (--debug).
	Debug func(format string, args ...any)
	// WaitsForInit: the caller waits for the init itself (it is its
	// parent: `nook run` in the foreground) and records its end with
	// Container.RecordExit; no exit keeper is started.
	WaitsForInit bool
	// ExitsAfter: the calling process exits as soon as Create returns
	// (`nook create`). Its exit keeper then executes its program only
	// after that exit, taking this process's memory with it: the caller
	// hears of the exit without waiting for the kernel to tear that memory
	// down (nsenter/keeperlaunch.c). A process that goes on would hold
	// its keeper back.
	ExitsAfter bool
	// StartAtOnce: the caller starts the container as soon as it is
	// created (`nook run`). Create then opens the start barrier itself
	// before the init reaches it, so the init goes on to the program
	// without waiting for a start (Container.Started), unless a start
	// has something to do first: poststart hooks, a NOTIFY_SOCKET relay,
	// a terminal the caller relays (startsAtOnce).
	StartAtOnce bool
	// stage0, if set, was started by Root.Create for ListenFds+PreserveFds
	// inherited fds; Create takes it (and kills it if it fails first).
	stage0 *Stage0

	seccomp *seccomp.Program // linux.seccomp, compiled by Create
	ctx     context.Context  // CreateContext's; nil from a bare Create
}

// context is the context create gives up with (never nil).
func (o *CreateOptions) context() context.Context {
	if o.ctx == nil {
		return context.Background()
	}
	return o.ctx
}

func (o *CreateOptions) debugf(start time.Time, format string, args ...any) {
	if o.Debug != nil {
		o.Debug("create: "+format+" at %s", append(args, time.Since(start).Round(time.Microsecond))...)
	}
}

// Container is a created container as `nook run` needs it.
type Container struct {
	ID        string
	Pid       int
	StartTime uint64
	exit      *exitWatch // WaitsForInit's
	// Started: Create has started it (StartAtOnce); it is running.
	Started bool
}

// startsAtOnce says whether Create starts the container itself: asked to
// (StartAtOnce), and with nothing a start does but open the barrier.
func (o *CreateOptions) startsAtOnce() bool {
	return o.StartAtOnce && o.NotifySocket == "" && !o.RelayConsole &&
		len(hooks.Of(o.Spec.Hooks, hooks.Poststart)) == 0
}

// Create sets up a container up to the start barrier. On any failure it
// removes everything it made (state dir, processes) before returning.
func Create(store state.Store, o CreateOptions) (*Container, error) {
	return CreateContext(context.Background(), store, o)
}

// CreateContext is Create that gives up once ctx is done (`nook run` told
// to stop by a signal): a prestart or createRuntime hook is killed with its
// process group, a wait for the init ends at once, and everything made so
// far is removed as after any failure. The error is then context.Cause(ctx).
func CreateContext(ctx context.Context, store state.Store, o CreateOptions) (*Container, error) {
	o.ctx = ctx
	c, err := createToBarrier(store, o)
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return c, err
}

func createToBarrier(store state.Store, o CreateOptions) (*Container, error) {
	defer o.stage0.Discard() // if it failed before it was taken
	if err := o.context().Err(); err != nil {
		return nil, err // stopped before anything was started for it
	}
	start := time.Now()
	if o.Spec.Process != nil && o.Spec.Process.Terminal && o.ConsoleSocket == "" {
		return nil, errors.New("process.terminal is true but no --console-socket was given (terminal containers need one)")
	}
	if o.ConsoleSocket != "" && (o.Spec.Process == nil || !o.Spec.Process.Terminal) {
		return nil, errors.New("--console-socket was given but process.terminal is false (a console socket only receives a terminal)")
	}
	normalizeMounts(o)
	if err := validate(o.Spec); err != nil {
		return nil, err
	}
	if err := validateRootless(o.Spec); err != nil {
		return nil, err
	}
	// The namespaces first, unless the caller sent them ahead
	// (Stage0.Bootstrap): stage 0 makes them and clones the init, whose Go
	// runtime then starts while everything below is done.
	p, err := o.stage0.take(o.ListenFds+o.PreserveFds, o.Debug)
	if err != nil {
		return nil, err
	}
	if p.bootstrapped && !p.bootstrappedFor(o.Spec) {
		// The early view and the whole config are decoded from the same
		// bytes by the same decoder, so they agree; were they ever not to,
		// the init would be in the wrong namespaces: start over.
		p.kill()
		if p, err = spawnStage0(o.ListenFds+o.PreserveFds, o.Debug); err != nil {
			return nil, err
		}
	}
	if !p.bootstrapped {
		if err := p.bootstrap(o.Spec); err != nil {
			p.kill()
			return nil, err
		}
	}
	o.debugf(start, "init spawned")
	// A stop wakes whatever waits for the init; the failure path below
	// then kills it and removes what was made.
	defer context.AfterFunc(o.context(), p.interrupt)()
	c, err := prepareAndLaunch(store, o, p, start)
	if err != nil {
		p.kill()
		return nil, err
	}
	return c, nil
}

// prepareAndLaunch makes what the container needs on the host (its state
// directory, cgroup, compiled seccomp filter) and brings the init p up to
// the start barrier. On failure the caller kills p; everything else made is
// removed here.
func prepareAndLaunch(store state.Store, o CreateOptions, p *initProcess, start time.Time) (*Container, error) {
	if o.Spec.Linux != nil && o.Spec.Linux.Seccomp != nil {
		// Compiled here, on the host, once: the init only loads it. The
		// cache lives under --root, which only root can write.
		prog, err := seccomp.CompileCached(o.Spec.Linux.Seccomp, o.Debug, filepath.Join(store.Root, ".seccomp-cache"))
		if err != nil {
			return nil, err
		}
		o.seccomp = prog
	}
	cg, err := newCgroupManager(o)
	if err != nil {
		return nil, err
	}
	h, err := store.Create(o.ID)
	if err != nil {
		return nil, err
	}
	// Before anything records the cgroup as the container's: a failed
	// create removes that cgroup with whatever is in it.
	if err := checkCgroupUsable(cg); err != nil {
		h.Destroy()
		return nil, err
	}
	if err := addNotifySocket(&o, h.Dir); err != nil {
		h.Destroy()
		return nil, err
	}
	c, err := create(h, o, cg, p, start)
	if err != nil {
		h.Destroy()
		return nil, err
	}
	h.Close()
	return c, nil
}

func create(h *state.Handle, o CreateOptions, cg cgroups.Manager, p *initProcess, start time.Time) (*Container, error) {
	rec := &state.Record{
		State: specs.State{
			Version:     specs.Version,
			ID:          o.ID,
			Status:      state.Creating,
			Bundle:      o.Bundle,
			Annotations: o.Spec.Annotations,
		},
		Rootfs:  o.Rootfs,
		Created: time.Now().UTC(),
		Owner:   ownerName(),
		Config:  state.NewConfig(o.Spec),
	}
	// Recorded before the cgroup exists: a create killed from here on
	// leaves a record that delete --force can clean completely.
	rec.Cgroup = recordedCgroup(cg)
	if err := h.Save(rec); err != nil {
		return nil, err
	}
	prep := startCgroupPrep(cg, o.Spec)
	c, err := launch(h, rec, o, cg, prep, p, start)
	if err == nil {
		return c, nil
	}
	err = oomKilled(rec, err, o.Debug) // read before the cgroup goes
	p.kill()
	prep.wait() // nothing may still be making the cgroup while it is removed
	if cerr := destroyCgroup(rec); cerr != nil {
		err = fmt.Errorf("%w (cleanup: %v)", err, cerr)
	}
	if p.pid == 0 {
		return nil, err // no init was ever cloned
	}
	// Without a mount namespace the init's mounts are the host's.
	if uerr := unmountUnder(o.Rootfs, rec); uerr != nil {
		err = fmt.Errorf("%w (cleanup: %v)", err, uerr)
	}
	// runtime.md: a create that fails after the environment existed
	// continues at destroy (done above) and the poststop hooks.
	if rec.Pid != 0 {
		st := rec.State
		st.Status = state.Stopped
		if herr := hooks.RunAll(hooks.Poststop, hooks.Of(o.Spec.Hooks, hooks.Poststop), st); herr != nil && o.Warn != nil {
			o.Warn(herr.Error())
		}
	}
	return nil, fmt.Errorf("unable to start container process: %w", err)
}

// launch hands the init what it takes over and brings it up to the start
// barrier.
func launch(h *state.Handle, rec *state.Record, o CreateOptions, cg cgroups.Manager, prep *cgroupPrep, p *initProcess, start time.Time) (*Container, error) {
	fifo := filepath.Join(h.Dir, state.FifoName)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		return nil, fmt.Errorf("create start barrier: %w", err)
	}
	handoff, err := dialHandoffs(o, o.seccomp)
	if err != nil {
		return nil, err
	}
	defer handoff.close()
	if err := handoff.openFifo(fifo); err != nil {
		return nil, err
	}
	p.handoff = handoff
	return p.bringUp(h, rec, o, cg, prep, start)
}

// initProcess is a spawned init seen from the parent.
type initProcess struct {
	stage0    int // nsenter's stage 0, until reaped
	handoff   *handoffs
	sock      *os.File
	pid       int
	startTime uint64
	// bootstrapped: stage 0 has its Bootstrap and may have cloned the
	// init; awaitsMapping: it waits for UsernsMapped and has not.
	bootstrapped, awaitsMapping bool
	killed                      bool
	// What Bootstrap told stage 0 (bootstrap).
	sentPayload  []byte
	sentAffinity string
	debug        func(format string, args ...any) // may be nil
}

// bootstrap sends stage 0 the namespaces to join and make.
func (p *initProcess) bootstrap(s *specs.Spec) error {
	payload, affinity := bootstrapOf(s)
	// Stage 0 is single-threaded C until it clones the init, which
	// inherits its affinity: the initial CPUs apply from the first
	// instruction of the init on.
	if err := p.setInitialAffinity(affinity); err != nil {
		return err
	}
	if err := p.sendBootstrap(payload); err != nil {
		return err
	}
	p.sentPayload, p.sentAffinity = payload, affinity
	return nil
}

// bootstrapOf is what stage 0 is told of s: the Bootstrap payload, and the
// CPUs it starts the init on.
func bootstrapOf(s *specs.Spec) (payload []byte, affinity string) {
	flags, join := initproto.NamespacePlan(s.Linux)
	var oom *int
	if a := s.Process; a != nil {
		if a.ExecCPUAffinity != nil {
			affinity = a.ExecCPUAffinity.Initial
		}
		oom = a.OOMScoreAdj
	}
	payload = initproto.BootstrapPayload(flags, join, timeOffsets(s.Linux), oom)
	if cInitMaybe(s) {
		payload = initproto.AppendInitModeAttr(payload)
	}
	return payload, affinity
}

// bootstrappedFor says whether the Bootstrap sent (from the caller's early
// view of the config) is exactly what s asks for.
func (p *initProcess) bootstrappedFor(s *specs.Spec) bool {
	payload, affinity := bootstrapOf(s)
	return bytes.Equal(payload, p.sentPayload) && affinity == p.sentAffinity
}

// bringUp drives the conversation of initproto up to Ready.
func (p *initProcess) bringUp(h *state.Handle, rec *state.Record, o CreateOptions, cg cgroups.Manager, prep *cgroupPrep, start time.Time) (*Container, error) {
	flags, _ := initproto.NamespacePlan(o.Spec.Linux)
	warn := o.Warn
	if flags&unix.CLONE_NEWUSER != 0 {
		b, err := initproto.Expect(p.sock, initproto.UsernsReady, warn)
		if err != nil {
			return nil, err
		}
		p.awaitsMapping = true
		pid, err := initproto.U32(b)
		if err != nil {
			return nil, fmt.Errorf("userns-ready: %w", err)
		}
		if err := writeIDMaps(int(pid), o.Spec.Linux); err != nil {
			return nil, err
		}
		if err := initproto.Send(p.sock, initproto.UsernsMapped, nil); err != nil {
			return nil, err
		}
		p.awaitsMapping = false
	}
	b, err := initproto.Expect(p.sock, initproto.InitPid, warn)
	if err != nil {
		return nil, err
	}
	pid, err := initproto.U32(b)
	if err != nil {
		return nil, fmt.Errorf("init-pid: %w", err)
	}
	p.pid = int(pid)
	o.debugf(start, "init pid %d in its namespaces", p.pid)
	// Stage 0 has exited: reap it so it is not left a zombie.
	if err := p.reapStage0(); err != nil {
		return nil, err
	}
	st, err := readProcStat(p.pid)
	if err != nil {
		return nil, fmt.Errorf("read init start time: %w", err)
	}
	p.startTime = st.StartTime
	// The config goes now: the init's Go runtime starts and decodes it
	// while the cgroup is made ready; it waits for InitGo before it does
	// anything in the container.
	cfg := initproto.InitConfig{
		ID: o.ID, Spec: initSpec(o.Spec), Rootfs: o.Rootfs, Bundle: o.Bundle,
		Userns:         initproto.HasNamespace(o.Spec.Linux, specs.UserNamespace),
		NoPivot:        o.NoPivot,
		NoNewKeyring:   o.NoNewKeyring,
		Pid:            p.pid,
		ParentHooks:    len(hooks.Of(o.Spec.Hooks, hooks.Prestart))+len(hooks.Of(o.Spec.Hooks, hooks.CreateRuntime)) > 0,
		PreserveFds:    o.ListenFds + o.PreserveFds,
		ListenFds:      o.ListenFds,
		ConsoleRelayed: o.RelayConsole,
		Seccomp:        o.seccomp,
	}
	// Stage 0 was told exactly what bootstrapOf(o.Spec) says
	// (createToBarrier): an InitMode follows when cInitMaybe says so.
	announced := cInitMaybe(o.Spec)
	cInit := announced && cInitFits(o, p.handoff)
	if announced {
		if err := p.sendInitMode(cInit, warn); err != nil {
			return nil, err
		}
	}
	if cInit {
		o.debugf(start, "the init stays C: nook builds the root (nsenter/cinit.c)")
	}
	if !cInit {
		if err := p.sendConfig(&cfg, warn); err != nil {
			return nil, err
		}
		o.debugf(start, "config sent")
	}
	rec.Pid = p.pid
	rec.InitStartTime = p.startTime
	rec.Namespaces = namespacePaths(p.pid, o.Spec.Linux)
	if err := h.Save(rec); err != nil {
		return nil, err
	}
	o.debugf(start, "record with the pid saved")
	if err := prep.wait(); err != nil {
		return nil, err
	}
	o.debugf(start, "cgroup made and its resources set")
	if err := placeInCgroup(cg, prep, p.pid, o.Spec); err != nil {
		return nil, err
	}
	o.debugf(start, "init in its cgroup")
	// Host devices join the container's network namespace before the init
	// runs anything of the container's (linux.netDevices).
	if l := o.Spec.Linux; l != nil && len(l.NetDevices) > 0 {
		if err := netdev.Move(l.NetDevices, fmt.Sprintf("/proc/%d/ns/net", p.pid)); err != nil {
			return nil, err
		}
		o.debugf(start, "network devices moved in")
	}

	var initGo []byte
	if cInit {
		n, _ := procMounts(o.Spec)
		initGo = binary.NativeEndian.AppendUint32(nil, uint32(n))
	}
	if err := p.sent(initproto.Send(p.sock, initproto.InitGo, initGo), warn); err != nil {
		return nil, err
	}
	// The record that says "created" is written (and the exit keeper
	// started) while the init takes its last steps, and only renamed
	// into place once it is ready.
	created := *rec
	created.Status = state.Created
	if cInit {
		if err := p.buildForCInit(rec, o, &cfg, warn); err != nil {
			return nil, err
		}
		o.debugf(start, "root built")
	}
	prepared := prepareCreated(h, &created, !o.WaitsForInit, o.ExitsAfter)
	defer prepared.discard() // unless committed
	if !cInit && cfg.ParentHooks {
		if err := p.runParentHooks(rec, o, warn); err != nil {
			return nil, err
		}
	}
	c := &Container{ID: o.ID, Pid: p.pid, StartTime: p.startTime, Started: o.startsAtOnce()}
	var oomBefore oomCount
	if o.WaitsForInit {
		// Before start: the OOM counter as it was before the process ran.
		oomBefore = oomCountOf(rec.Cgroup)
	}
	if c.Started {
		// The init finds the barrier open when it gets there and runs
		// the program while the record is committed: no round trip
		// through a start.
		if err := p.handoff.releaseBarrier(); err != nil {
			return nil, err
		}
		o.debugf(start, "start barrier opened ahead of the init")
	}
	if _, err := initproto.Expect(p.sock, initproto.Ready, warn); err != nil {
		return nil, initFailure(err)
	}
	p.sock.Close()
	o.debugf(start, "init ready at the start barrier")
	if err := p.handoff.sendPidfd(p.pid, "standard"); err != nil {
		return nil, err
	}

	if err := prepared.commit(o.Debug); err != nil {
		return nil, err
	}
	rec.Status = state.Created
	if c.Started {
		// As start, once the record says created: the barrier's absence
		// is what says running (Status).
		if err := os.Remove(filepath.Join(h.Dir, state.FifoName)); err != nil {
			return nil, fmt.Errorf("remove start barrier: %w", err)
		}
		rec.Status = state.Running
	}
	if o.PidFile != "" {
		abs, err := filepath.Abs(o.PidFile)
		if err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
		if err := state.WriteFileAtomic(abs, []byte(strconv.Itoa(p.pid)), 0o644); err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
	}
	if o.WaitsForInit {
		if c.exit, err = newExitWatch(h, rec, oomBefore); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// send sends one frame to the init (JSON unless v is nil).
func (p *initProcess) send(t initproto.Type, v any, warn func(string)) error {
	if v == nil {
		return p.sent(initproto.Send(p.sock, t, nil), warn)
	}
	return p.sent(initproto.SendJSON(p.sock, t, v), warn)
}

// sent is what a send to the init returns: an init that failed first has
// closed its end, and its own error, already in the socket, says more than
// the broken pipe.
func (p *initProcess) sent(err error, warn func(string)) error {
	if err == nil {
		return nil
	}
	var remote *initproto.RemoteError
	if _, rerr := initproto.Expect(p.sock, initproto.Ready, warn); errors.As(rerr, &remote) {
		return fmt.Errorf("error during container init: %w", rerr)
	}
	return err
}

// runParentHooks runs prestart and createRuntime hooks in the runtime
// namespace when the init asks (its mounts are made, pivot_root is not).
// A failing hook fails create; the init is told so it stops waiting.
func (p *initProcess) runParentHooks(rec *state.Record, o CreateOptions, warn func(string)) error {
	if _, err := initproto.Expect(p.sock, initproto.RunHooks, warn); err != nil {
		return initFailure(err) // the init failed before the hooks' turn
	}
	if err := p.runHooksNow(rec, o); err != nil {
		initproto.Send(p.sock, initproto.Error, []byte(err.Error()))
		return err
	}
	return initproto.Send(p.sock, initproto.HooksDone, nil)
}

// runHooksNow runs the prestart and createRuntime hooks, in the runtime
// namespace, from the calling goroutine.
func (p *initProcess) runHooksNow(rec *state.Record, o CreateOptions) error {
	st := rec.State
	st.Pid = p.pid
	// runtime-tools' hooks_stdin expects "created" for prestart, the
	// status runc has always passed; createRuntime sees the truth.
	st.Status = state.Created
	err := hooks.RunContext(o.context(), hooks.Prestart, hooks.Of(o.Spec.Hooks, hooks.Prestart), st)
	if err == nil {
		st.Status = state.Creating
		err = hooks.RunContext(o.context(), hooks.CreateRuntime, hooks.Of(o.Spec.Hooks, hooks.CreateRuntime), st)
	}
	return err
}

// timeOffsets renders linux.timeOffsets the way /proc/<pid>/timens_offsets
// takes them, in a fixed order.
func timeOffsets(l *specs.Linux) string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if off, ok := l.TimeOffsets[clock]; ok {
			fmt.Fprintf(&b, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
		}
	}
	return b.String()
}

// namespacePaths records where each of the container's namespaces can be
// joined (by exec, or by another container's config).
func namespacePaths(pid int, l *specs.Linux) map[string]string {
	m := map[string]string{}
	for _, k := range initproto.NamespaceKinds() {
		if initproto.HasNamespace(l, k.Type) {
			m[string(k.Type)] = fmt.Sprintf("/proc/%d/ns/%s", pid, k.Proc)
		}
	}
	return m
}

// ownerName is the name of the user running nook, for `list`. It reads
// /etc/passwd directly: os/user goes through NSS, which dlopen()s modules and
// costs up to a millisecond of every create.
func ownerName() string {
	uid := strconv.Itoa(os.Geteuid())
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return uid
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.SplitN(scanner.Text(), ":", 4)
		if len(fields) == 4 && fields[2] == uid {
			return fields[0]
		}
	}
	return uid
}

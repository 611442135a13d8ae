package libcontainer

import (
	"context"
	"errors"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/stateout"
	"github.com/nookrt/nook/spec"
)

// Root is a directory of container state (--root) and the container API
// nook's commands call: one method per operation, each given a container
// id. A method takes the container's lock, loads its record, acts and
// releases the lock; it never holds the lock while it waits on the
// container (exec and start hand it back before they wait). The state
// store behind it is this package's business: commands see ids, specs and
// the errors below.
type Root struct {
	store state.Store
}

// The errors the API returns that callers branch on (errors.Is).
var (
	// ErrNotExist: no container has that id. Its text is what engines
	// match ("container does not exist").
	ErrNotExist = state.ErrNotExist
	// ErrExist: create was given an id in use.
	ErrExist = state.ErrExist
	// ErrBusy: another nook command holds the container.
	ErrBusy = state.ErrBusy
)

// OpenRoot returns the API over the state directory dir (made on the first
// create, as runc does).
func OpenRoot(dir string) Root { return Root{store: state.Store{Root: dir}} }

// Dir is the state directory.
func (rt Root) Dir() string { return rt.store.Root }

// Store is the state store, for the packages that extend the API
// (checkpoint); commands do not use it.
func (rt Root) Store() state.Store { return rt.store }

// ValidateID refuses an id no container may have, before anything is made.
func ValidateID(id string) error { return state.ValidateID(id) }

// Locked runs fn on container id's loaded record holding its lock
// (exclusive or shared) — the building block of the methods below and of
// the packages that extend the API.
func (rt Root) Locked(id string, exclusive bool, fn func(*state.Handle, *state.Record) error) error {
	h, err := rt.store.Lock(id, exclusive)
	if err != nil {
		return err
	}
	defer h.Close()
	r, err := h.Load()
	if err != nil {
		return err
	}
	return fn(h, r)
}

// Create sets up a container up to the start barrier; see CreateContext.
// With o.Spec nil it reads the bundle's config.json itself, after it has
// started the init's first stage (nsenter's stage 0), so that the stage's
// exec and C start-up overlap the reading, and the namespaces go to it
// before the whole config is decoded (the first decode of a process costs
// ~2 ms): the init is cloned and starts its runtime meanwhile.
func (rt Root) Create(ctx context.Context, o CreateOptions) (*Container, error) {
	if o.Spec == nil {
		stage0, err := startStage0(o.ListenFds+o.PreserveFds, o.Debug)
		if err != nil {
			return nil, err
		}
		defer stage0.Discard() // unless CreateContext took it
		if err := o.readBundle(stage0); err != nil {
			return nil, err
		}
		o.stage0 = stage0
	}
	return CreateContext(ctx, rt.store, o)
}

// readBundle fills o.Spec and o.Rootfs from o.Bundle, sending stage0 the
// namespaces as soon as they are read (a config refused after that kills
// the init: Discard), and lets o.ConsoleFor choose the console socket.
func (o *CreateOptions) readBundle(stage0 *Stage0) error {
	cfg, err := spec.Read(o.Bundle)
	if err != nil {
		return err
	}
	if view, ok := cfg.BootstrapView(); ok {
		stage0.Bootstrap(view)
	}
	if o.Spec, err = cfg.Parse(); err != nil {
		return err
	}
	if o.Rootfs, err = spec.ResolveRootfs(o.Spec, o.Bundle); err != nil {
		return err
	}
	if o.ConsoleFor != nil {
		o.ConsoleSocket, o.RelayConsole, err = o.ConsoleFor(o.Spec)
	}
	return err
}

// Start runs the user process of a created container. With a NOTIFY_SOCKET
// (notifySocket, and a container created with one) it returns the relay of
// the container's sd_notify messages, bound before the process could send
// any; the caller waits on it after Start has released the lock.
func (rt Root) Start(id, notifySocket string, warn func(string)) (*NotifyRelay, error) {
	var relay *NotifyRelay
	err := rt.Locked(id, true, func(h *state.Handle, r *state.Record) error {
		var err error
		if relay, err = listenNotify(h, r, notifySocket); err != nil {
			return err
		}
		if err := startLocked(h, r, warn); err != nil {
			relay.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return relay, nil
}

// Kill sends sig to the container's init (all: to every process of its
// cgroup).
func (rt Root) Kill(id string, sig unix.Signal, all bool) error {
	return rt.Locked(id, true, func(h *state.Handle, r *state.Record) error {
		return killLocked(h, r, sig, all)
	})
}

// Delete removes a stopped container (force: any, killing it first). As
// runc, forcing the removal of a container that is already gone succeeds:
// conmon's cleanup and podman's own delete race on it.
func (rt Root) Delete(id string, force bool, warn func(string)) error {
	h, err := rt.store.Lock(id, true)
	if force && errors.Is(err, state.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	r, err := h.Load()
	if force && errors.Is(err, state.ErrNotExist) {
		// A directory without a record: a create died before writing it.
		return h.Destroy()
	}
	if err != nil {
		return err
	}
	return Delete(h, r, force, warn)
}

// Pause freezes every process of a running container.
func (rt Root) Pause(id string) error { return rt.Locked(id, true, pauseLocked) }

// Resume thaws a paused container.
func (rt Root) Resume(id string) error { return rt.Locked(id, true, resumeLocked) }

// Processes lists the host pids of the container's processes.
func (rt Root) Processes(id string) (pids []int, err error) {
	err = rt.Locked(id, false, func(h *state.Handle, r *state.Record) error {
		pids, err = processesLocked(h, r)
		return err
	})
	return pids, err
}

// Stats reads the container's cgroup statistics.
func (rt Root) Stats(id string) (st *cgroups.Stats, err error) {
	err = rt.Locked(id, false, func(h *state.Handle, r *state.Record) error {
		st, err = statsLocked(h, r)
		return err
	})
	return st, err
}

// Update applies the resources resourcesFor derives from the container's
// recorded config (which it must not change) and records them.
func (rt Root) Update(id string, resourcesFor func(current *specs.Spec) (*specs.LinuxResources, error)) error {
	return rt.Locked(id, true, func(h *state.Handle, r *state.Record) error {
		cfg, err := r.Spec()
		if err != nil {
			return err
		}
		res, err := resourcesFor(cfg)
		if err != nil {
			return err
		}
		return updateLocked(h, r, res)
	})
}

// Exec starts a process in a running container and returns its pid once it
// is about to execve. prepare completes o from the container's recorded
// config (which it must not change): the process to run, and what depends
// on it, such as a terminal. The lock is shared, and released as soon as
// the process is in the container's cgroup: a process in a frozen cgroup
// (IgnorePaused) waits for a resume, which needs the lock.
func (rt Root) Exec(id string, o ExecOptions, prepare func(current *specs.Spec, o *ExecOptions) error) (int, error) {
	o.start = time.Now()
	if o.stage0 == nil {
		// Started first: its exec overlaps loading the record.
		stage0, err := startStage0(o.PreserveFds, o.Debug)
		if err != nil {
			return 0, err
		}
		o.stage0 = stage0
	}
	defer o.stage0.Discard() // unless Exec took it
	h, err := rt.store.Lock(id, false)
	if err != nil {
		return 0, err
	}
	unlock := sync.OnceFunc(func() { h.Close() })
	defer unlock()
	r, err := h.Load()
	if err != nil {
		return 0, err
	}
	o.debugf("record loaded")
	cfg, err := r.Spec()
	if err != nil {
		return 0, err
	}
	o.debugf("config decoded")
	if err := prepare(cfg, &o); err != nil {
		return 0, err
	}
	o.unlock = unlock
	o.stateRoot = rt.store.Root
	return execLocked(h, r, o)
}

// State is a container's state as `nook state` reports it: the OCI state,
// runc's extra fields, and how a stopped container ended when that is
// known.
type State struct {
	Version     string
	ID          string
	Pid         int
	Status      specs.ContainerState
	Bundle      string
	Rootfs      string
	Created     time.Time
	Annotations map[string]string
	Owner       string
	// Exit is how a stopped container's init ended; nil while it runs or
	// when that is not recorded.
	Exit *ExitInfo
}

// Output is st as `state` prints it; withExit adds how a stopped container
// ended (`list` leaves it out, as runc's list has nothing like it).
func (st *State) Output(withExit bool) *stateout.Output {
	out := &stateout.Output{
		OCIVersion:  st.Version,
		ID:          st.ID,
		Pid:         st.Pid,
		Status:      string(st.Status),
		Bundle:      st.Bundle,
		Rootfs:      st.Rootfs,
		Created:     st.Created,
		Annotations: st.Annotations,
		Owner:       st.Owner,
	}
	if withExit && st.Exit != nil {
		out.Exit = st.Exit.Output()
	}
	return out
}

func stateOf(r *state.Record) *State {
	return &State{
		Version: r.Version, ID: r.ID, Pid: r.Pid, Status: r.Status, Bundle: r.Bundle, Rootfs: r.Rootfs,
		Created: r.Created, Annotations: r.Annotations, Owner: r.Owner,
	}
}

// State reads one container's state, its status derived from the kernel.
// It does not wait behind a create in progress: that one is reported as
// "creating". Other commands hold the lock only briefly, so behind them it
// waits.
func (rt Root) State(id string) (*State, error) {
	h, err := rt.store.TryLockShared(id)
	if errors.Is(err, state.ErrBusy) {
		// Only a record that says "creating" is reported without the lock;
		// anything else (another command at work, a record not yet written
		// or being removed) is read once that command is done.
		if r, perr := rt.store.Peek(id); perr == nil && r.Status == state.Creating {
			return stateOf(r), nil
		}
		h, err = rt.store.Lock(id, false)
	}
	if err != nil {
		return nil, err
	}
	defer h.Close()
	r, err := h.Load()
	if err != nil {
		return nil, err
	}
	refresh(h, r)
	st := stateOf(r)
	if r.Status == state.Stopped {
		// A record that cannot be read leaves the exit out: state itself
		// must not fail for it.
		st.Exit, _ = readExit(h.Dir)
	}
	return st, nil
}

// List returns the state of every container under the root, skipping those
// deleted while it reads. Unlike State it takes no lock for a container
// past creating (as runc's list): the record is replaced only by rename,
// so it is read whole, and the status comes from the kernel. That halves
// its system calls per container.
func (rt Root) List() ([]*State, error) {
	ids, err := rt.store.List()
	if err != nil {
		return nil, err
	}
	var all []*State
	peeker := rt.store.Peeker()
	for _, id := range ids {
		st, err := rt.listed(peeker, id)
		if errors.Is(err, state.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, st)
	}
	return all, nil
}

// listed is List's State of one container.
func (rt Root) listed(peeker *state.Peeker, id string) (*State, error) {
	r, err := peeker.Peek(id)
	if err != nil || r.Status == state.Creating {
		// Only the lock tells a create in progress from one that died.
		return rt.State(id)
	}
	r.Status = liveStatus(rt.store.Path(id, state.FifoName), r)
	if r.Status == state.Stopped {
		r.Pid = 0
	}
	return stateOf(r), nil
}

// EventSink receives what Watch sees of a container.
type EventSink interface {
	Stats(*cgroups.Stats) error
	OOM() error
	// Exit is the last event: how the container ended (nil: not known).
	Exit(*ExitInfo) error
}

// exitWait bounds how long Watch waits, once the init has exited, for its
// exit keeper's record (written within milliseconds).
const exitWait = 2 * time.Second

// Watch reports the container's statistics every interval and each OOM
// kill until it stops, then how it ended. Each sample takes the lock
// briefly; none is held while it waits.
func (rt Root) Watch(parent context.Context, id string, interval time.Duration, sink EventSink) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		dir  string
		rec  *state.Record
		ooms <-chan struct{}
	)
	err := rt.Locked(id, false, func(h *state.Handle, r *state.Record) error {
		var err error
		dir, rec = h.Dir, r
		ooms, err = oomEvents(ctx, h, r)
		return err
	})
	if err != nil {
		return err
	}
	exited := initExited(ctx, rec)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		st, err := rt.Stats(id)
		if errors.Is(err, ErrNotRunning) {
			return sink.Exit(awaitExit(ctx, dir, rec, exitWait))
		}
		if err == nil {
			err = sink.Stats(st)
		}
		if err != nil {
			return err
		}
		select {
		case <-exited:
			exited = nil // the next sample sees it stopped
		case _, ok := <-ooms:
			if !ok {
				ooms = nil
				continue
			}
			if err := sink.OOM(); err != nil {
				return err
			}
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
}

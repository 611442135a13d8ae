package libcontainer

import (
	"context"
	"errors"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/state"
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
func (rt Root) Create(ctx context.Context, o CreateOptions) (*Container, error) {
	return CreateContext(ctx, rt.store, o)
}

// Start runs the user process of a created container. With a NOTIFY_SOCKET
// (notifySocket, and a container created with one) it returns the relay of
// the container's sd_notify messages, bound before the process could send
// any; the caller waits on it after Start has released the lock.
func (rt Root) Start(id, notifySocket string, warn func(string)) (*NotifyRelay, error) {
	var relay *NotifyRelay
	err := rt.Locked(id, true, func(h *state.Handle, r *state.Record) error {
		var err error
		if relay, err = ListenNotify(h, r, notifySocket); err != nil {
			return err
		}
		if err := Start(h, r, warn); err != nil {
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
		return Kill(h, r, sig, all)
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
func (rt Root) Pause(id string) error { return rt.Locked(id, true, Pause) }

// Resume thaws a paused container.
func (rt Root) Resume(id string) error { return rt.Locked(id, true, Resume) }

// Processes lists the host pids of the container's processes.
func (rt Root) Processes(id string) (pids []int, err error) {
	err = rt.Locked(id, false, func(h *state.Handle, r *state.Record) error {
		pids, err = Processes(h, r)
		return err
	})
	return pids, err
}

// Stats reads the container's cgroup statistics.
func (rt Root) Stats(id string) (st *cgroups.Stats, err error) {
	err = rt.Locked(id, false, func(h *state.Handle, r *state.Record) error {
		st, err = Stats(h, r)
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
		return Update(h, r, res)
	})
}

// Exec starts a process in a running container and returns its pid once it
// is about to execve. prepare completes o from the container's recorded
// config (which it must not change): the process to run, and what depends
// on it, such as a terminal. The lock is shared, and released as soon as
// the process is in the container's cgroup: a process in a frozen cgroup
// (IgnorePaused) waits for a resume, which needs the lock.
func (rt Root) Exec(id string, o ExecOptions, prepare func(current *specs.Spec, o *ExecOptions) error) (int, error) {
	defer o.Stage0.Discard() // unless Exec took it
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
	cfg, err := r.Spec()
	if err != nil {
		return 0, err
	}
	if err := prepare(cfg, &o); err != nil {
		return 0, err
	}
	o.Unlock = unlock
	o.StateRoot = rt.store.Root
	return Exec(h, r, o)
}

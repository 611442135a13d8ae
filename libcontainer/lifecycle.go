package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/state"
)

// Status derives a container's status from the kernel, never from the record
// alone: the init alive with the recorded start time, and the start barrier
// still present (created) or gone (running).
func Status(h *state.Handle, r *state.Record) specs.ContainerState {
	if r.Status == state.Creating {
		// We hold the id's lock, so the create that wrote this is gone: the
		// container can never become created.
		return state.Stopped
	}
	return liveStatus(filepath.Join(h.Dir, state.FifoName), r)
}

// liveStatus is Status of a record that is past creating, whose start
// barrier is (or was) at barrier.
func liveStatus(barrier string, r *state.Record) specs.ContainerState {
	if !processAlive(r.Pid, r.InitStartTime) {
		return state.Stopped
	}
	if barrierPresent(barrier) {
		return state.Created
	}
	if isPaused(r) {
		return state.Paused
	}
	return state.Running
}

// barrierPresent says whether the start barrier is still there. It asks
// fstatat(2) into a Stat_t on the stack: os.Lstat would allocate a FileInfo
// that list, asking once per container, throws away.
func barrierPresent(path string) bool {
	var st unix.Stat_t
	return unix.Fstatat(unix.AT_FDCWD, path, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// refresh fills in the live status (and pid 0 once stopped, as runc reports).
func refresh(h *state.Handle, r *state.Record) {
	r.Status = Status(h, r)
	if r.Status == state.Stopped {
		r.Pid = 0
	}
}

// startLocked opens the start barrier of a created container: its init goes on to
// execve the user process.
func startLocked(h *state.Handle, r *state.Record, warn func(string)) error {
	switch st := Status(h, r); st {
	case state.Created:
	case state.Stopped:
		return errors.New("cannot start a container that has stopped")
	case state.Running:
		return errors.New("cannot start an already running container")
	default:
		return fmt.Errorf("cannot start a container in the %s state", st)
	}
	var poststart []specs.Hook
	if r.Config != nil {
		v, err := r.Config.View()
		if err != nil {
			return err
		}
		if !v.HasProcess {
			return fmt.Errorf("cannot start container %s: its config has no process (start requires one)", r.ID)
		}
		poststart = hooks.Of(v.Hooks, hooks.Poststart)
	}
	fifo := filepath.Join(h.Dir, state.FifoName)
	// The init holds the fifo open for reading; with no reader left (the
	// init died) a non-blocking open for writing fails with ENXIO.
	fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) {
		return errors.New("cannot start a container that has stopped (its init exited)")
	}
	if err != nil {
		return fmt.Errorf("open start barrier: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte{'0'}); err != nil {
		return fmt.Errorf("release start barrier: %w", err)
	}
	if err := os.Remove(fifo); err != nil {
		return fmt.Errorf("remove start barrier: %w", err)
	}
	// Not saved: the live status is derived from the kernel and the
	// barrier's absence (Status), so state.json need not be rewritten.
	// The hooks' state says running.
	r.Status = state.Running
	// runtime.md (v1.3, lifecycle step 9): a failing poststart hook is an
	// error and the container is stopped; delete then destroys it and runs
	// the poststop hooks. (runtime-tools' poststart_fail follows an older
	// spec that made it a warning.)
	if len(poststart) > 0 {
		// Poststart hooks must see the user process executed.
		waitExec(fd)
		if err := hooks.Run(hooks.Poststart, poststart, r.State); err != nil {
			thawForKill(r)
			signalProcess(r.Pid, r.InitStartTime, unix.SIGKILL)
			return err
		}
	}
	return nil
}

// killLocked sends sig to the container's init (sig 0: only check that it runs).
// Every process of the container gets it instead with all, and with SIGKILL
// when the container has no pid namespace of its own: the death of that
// init takes nothing else with it (runc's rule). Both reach processes left
// behind by an init that has exited; --all then succeeds even when none is
// left, as runc (containerd's shim sends it on every stop).
func killLocked(h *state.Handle, r *state.Record, sig unix.Signal, all bool) error {
	st := Status(h, r)
	var err error
	switch {
	case all || sig == unix.SIGKILL && ownsNoPidNS(r):
		err = killAll(r, sig, st == state.Stopped)
		if all && errors.Is(err, ErrNotRunning) {
			err = nil
		}
	case st == state.Stopped:
		return ErrNotRunning
	default:
		err = signalProcess(r.Pid, r.InitStartTime, sig)
	}
	// A frozen process cannot act on SIGKILL: thaw a paused container so
	// it dies (runc does the same; containerd's shim waits for the exit).
	if err == nil && st == state.Paused && sig == unix.SIGKILL {
		if m, merr := CgroupManager(r); merr == nil && m != nil {
			err = m.Thaw()
		}
	}
	return err
}

// killAll signals every process of the container: those in its cgroup, or
// (for a record without one) those in its pid namespace. Killing the init of
// a pid namespace kills the rest with it, so SIGKILL needs no scan there.
// Once the init has exited (stopped), only processes still in the cgroup
// are the container's; with none left it is ErrNotRunning.
func killAll(r *state.Record, sig unix.Signal, stopped bool) error {
	// The cgroup knows every process, whatever namespaces they share.
	if m, err := CgroupManager(r); err == nil && m != nil {
		if stopped {
			if pids, err := m.Pids(); err != nil || len(pids) == 0 {
				return ErrNotRunning
			}
		}
		return cgroups.KillAll(m, sig)
	}
	if _, own := r.Namespaces["pid"]; !own || sig == unix.SIGKILL || ownsNoPidNS(r) {
		return signalProcess(r.Pid, r.InitStartTime, sig)
	}
	// The init names the namespace: it must be the recorded one both
	// before and after its link is read, or the pid may have been reused.
	if !processAlive(r.Pid, r.InitStartTime) {
		return ErrNotRunning
	}
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", r.Pid))
	if err != nil || !processAlive(r.Pid, r.InitStartTime) {
		return ErrNotRunning
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns == target {
			unix.Kill(pid, sig)
		}
	}
	return nil
}

// ownsNoPidNS: a pid namespace joined by path is not the container's to scan.
func ownsNoPidNS(r *state.Record) bool {
	if r.Config == nil {
		return true
	}
	v, err := r.Config.View()
	if err != nil {
		return true
	}
	for _, ns := range v.Namespaces {
		if ns.Type == "pid" {
			return ns.Path != ""
		}
	}
	return true
}

// Delete removes a container. A created or running one needs force, which
// kills it first; in every case nothing of it remains afterwards.
func Delete(h *state.Handle, r *state.Record, force bool, warn func(string)) error {
	st := Status(h, r)
	if st != state.Stopped && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", r.ID, st)
	}
	// Even a "stopped" record may have a live init (a create killed after
	// spawning it): kill whatever is still the recorded process.
	if processAlive(r.Pid, r.InitStartTime) {
		// A frozen process cannot die: thaw a paused container first
		// (its processes get SIGKILL before they can run again).
		thawForKill(r)
		if err := signalProcess(r.Pid, r.InitStartTime, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
		if err := waitGone(r.Pid, r.InitStartTime, 10*time.Second); err != nil {
			return err
		}
	}
	if err := destroyCgroup(r); err != nil {
		return err
	}
	if err := unmountUnder(r.Rootfs, r); err != nil {
		return err
	}
	// Poststop hooks run once the container is gone, and only for one that
	// got as far as created: a create that failed has no lifecycle to end.
	if r.Config != nil && r.Status != state.Creating {
		st := r.State
		st.Status = state.Stopped
		v, err := r.Config.View()
		if err == nil {
			err = hooks.RunAll(hooks.Poststop, hooks.Of(v.Hooks, hooks.Poststop), st)
		}
		if err != nil && warn != nil {
			warn(err.Error())
		}
	}
	return h.Destroy()
}

// unmountUnder removes mounts a container without its own mount namespace
// left in the host's (its rootfs and everything under it).
func unmountUnder(rootfs string, r *state.Record) error {
	if rootfs == "" || r.Config == nil {
		return nil
	}
	if v, err := r.Config.View(); err != nil || v.HasNamespace(specs.MountNamespace) {
		return nil
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(rootfs))
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	// Deepest first; a lazy unmount of each.
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i].Mountpoint
		if m != rootfs && !strings.HasPrefix(m, rootfs+"/") {
			continue
		}
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", m, err)
		}
	}
	return nil
}

// waitExec waits (up to 5 s) until the user process has been executed, or
// the init has died trying. The init keeps its end of the start barrier
// open, close-on-exec, until its execve; fifoFd is start's end, and the
// kernel reports POLLERR on a fifo's writing end once no reader is left.
// No polling loop: its sleeps could end up to nook's timer slack late.
func waitExec(fifoFd int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		// Events 0: only POLLERR (or POLLHUP) can end the wait.
		fds := []unix.PollFd{{Fd: int32(fifoFd)}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}

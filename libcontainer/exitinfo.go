package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/sealedexec"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/stateout"
	"github.com/nookrt/nook/nsenter"
)

// How a container's init ended is recorded in exitFile in its state
// directory, by the exit keeper create starts (nsenter/keeper.c) or by a
// `nook run` that waited for the init itself. The file is written once,
// under a shared lock of the directory, by temp file and rename; only
// `nook state` and `nook events` read it.
const exitFile = "exit.json"

// exitRecord is exitFile's content. A field the writer could not learn is
// left out.
type exitRecord struct {
	// ExitedAt: when the writer saw the init exit, ns since the epoch.
	ExitedAt int64 `json:"exitedAt"`
	// WaitStatus as wait(2) reports it.
	WaitStatus *int32 `json:"waitStatus,omitempty"`
	// OOMKills: how many processes the kernel's OOM killer killed in the
	// container's memory cgroup while the init ran.
	OOMKills *uint64 `json:"oomKills,omitempty"`
}

// ExitInfo is how a stopped container's init ended, as far as it is known.
type ExitInfo struct {
	// Code is the exit code of an init that exited; nil if it did not
	// (Signal) or the status is unknown.
	Code *int
	// Signal names the signal that killed the init ("SIGKILL").
	Signal     string
	CoreDumped bool
	// OOMKilled: the kernel's OOM killer killed a process of the
	// container (the init or another) while it ran; nil when unknown (no
	// memory cgroup to ask).
	OOMKilled *bool
	// ExitedAt is when the exit was seen (within milliseconds of it).
	ExitedAt time.Time
}

func (r *exitRecord) info() *ExitInfo {
	x := &ExitInfo{ExitedAt: time.Unix(0, r.ExitedAt).UTC()}
	if r.WaitStatus != nil {
		ws := unix.WaitStatus(*r.WaitStatus)
		switch {
		case ws.Signaled():
			x.Signal = unix.SignalName(ws.Signal())
			if x.Signal == "" {
				x.Signal = strconv.Itoa(int(ws.Signal()))
			}
			x.CoreDumped = ws.CoreDump()
		case ws.Exited():
			code := ws.ExitStatus()
			x.Code = &code
		}
	}
	if r.OOMKills != nil {
		killed := *r.OOMKills > 0
		x.OOMKilled = &killed
	}
	return x
}

// Output is x as `state` prints it (and `events` sends it).
func (x *ExitInfo) Output() *stateout.Exit {
	f := &stateout.Exit{OOMKilled: x.OOMKilled, ExitedAt: x.ExitedAt}
	if x.Code != nil || x.Signal != "" {
		f.Exit = &stateout.ExitStatus{Code: x.Code, Signal: x.Signal, CoreDumped: x.CoreDumped}
	}
	return f
}

// readExit returns how the container whose state directory is dir ended:
// nil, and no error, while that is not recorded (it runs, its keeper has
// not written yet, or it was created without one).
func readExit(dir string) (*ExitInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, exitFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read exit record: %w", err)
	}
	var r exitRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse exit record %s: %w", filepath.Join(dir, exitFile), err)
	}
	return r.info(), nil
}

// exitKeeper is a keeper startExitKeeper started.
type exitKeeper struct {
	pid int
	// settled, for a keeper that runs its program at create's exit,
	// returns once it holds none of create's files; nil for a forked one.
	settled func()
	// launchErr is why a keeper asked to run at create's exit was forked.
	launchErr error
}

// startExitKeeper starts the keeper of rec's init (its child: the pid is
// not reused). The keeper is a new session of its own
// with no stdio, outside the container's cgroup, so neither create's
// caller (an engine reading create's output to its end) nor the container
// waits for it; it outlives create and exits with the init. With atExit
// (this process exits as soon as create is done) the keeper takes this
// process's memory with it and executes its program once this process has
// exited (nsenter.StartKeeperAtExit): neither the keeper's exec nor the
// teardown of this process's memory is then on create's path. Where that
// cannot be done, it is forked and executed now.
func startExitKeeper(h *state.Handle, rec *state.Record, atExit bool) (exitKeeper, error) {
	var k exitKeeper
	pidfd, err := unix.PidfdOpen(rec.Pid, 0)
	if err != nil {
		return k, fmt.Errorf("pidfd_open %d: %w", rec.Pid, err)
	}
	defer unix.Close(pidfd)
	dir, err := unix.Open(h.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return k, fmt.Errorf("open state dir: %w", err)
	}
	defer unix.Close(dir)
	// What become the keeper's ExitKeeperPidfd, ExitKeeperDir and
	// ExitKeeperOOM (-1: none).
	handed := [3]int{pidfd, dir, -1}
	oom := 0
	if fd, ok := openOOMCounter(rec.Cgroup); ok {
		defer unix.Close(fd)
		handed[2] = fd
		oom = 1
	}
	prog, err := keeperProgram()
	if err != nil {
		return k, err
	}
	defer prog.Close()
	env := fmt.Sprintf("%s=%d %d %d", nsenter.ExitKeeperEnv, rec.Pid, rec.InitStartTime, oom)
	argv := []string{"nook", "exit-keeper", rec.ID}
	if atExit {
		if k.pid, k.settled, k.launchErr = nsenter.StartKeeperAtExit(handed, int(prog.Fd()), argv, []string{env}); k.launchErr == nil {
			return k, nil
		}
	}
	// Forked: fd i of the keeper is files[i]; ^0: closed.
	files := make([]uintptr, nsenter.ExitKeeperOOM+1)
	for i := range files {
		files[i] = ^uintptr(0)
	}
	for i, fd := range handed {
		if fd >= 0 {
			files[nsenter.ExitKeeperPidfd+i] = uintptr(fd)
		}
	}
	progFd := int(prog.Fd())
	if progFd < len(files) {
		// Above the fds the keeper is handed, which are put in place
		// before the exec opens this one.
		fd, err := unix.FcntlInt(prog.Fd(), unix.F_DUPFD_CLOEXEC, len(files))
		if err != nil {
			return k, fmt.Errorf("exit keeper: %w", err)
		}
		defer unix.Close(fd)
		progFd = fd
	}
	k.pid, err = syscall.ForkExec("/proc/self/fd/"+strconv.Itoa(progFd), argv, &syscall.ProcAttr{
		Dir:   "/",
		Env:   []string{env},
		Files: files,
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return k, fmt.Errorf("start exit keeper: %w", err)
	}
	return k, nil
}

// keeperProgram is what a keeper executes: the embedded keeper program in
// a sealed memfd (it then holds neither nook's binary busy nor anything
// writable), or, in a binary built without it, a read-only view of nook's
// binary, as stage 0's. Either way /proc/<keeper>/exe leads to no
// writable inode (once a keeper started at create's exit has executed it:
// until then it is create's own binary, as for create itself).
func keeperProgram() (*os.File, error) {
	elf := nsenter.KeeperProgram()
	if len(elf) == 0 {
		self, err := protectedSelf()
		if err != nil {
			return nil, fmt.Errorf("protect nook binary: %w", err)
		}
		return self, nil
	}
	f, err := sealedexec.Copy("nook-exit-keeper", bytes.NewReader(elf))
	if err != nil {
		return nil, fmt.Errorf("exit keeper: %w", err)
	}
	return f, nil
}

// preparedRecord is the "created" record written beside the record, with
// the exit keeper's pid in it, until commit puts it in place: both are made
// while the init takes its last steps (prepareCreated).
type preparedRecord struct {
	final      *state.PendingFile
	summary    *state.PendingFile // nil: none (renderSummary)
	err        error
	summaryErr error
	keeper     exitKeeper
	keeperErr  error
}

// prepareCreated starts the exit keeper of created's init (with keeper)
// and writes created beside the record (state.Handle.PrepareSave), with
// its summary (SummaryFile). Create calls it once the init has all it
// needs to reach the start barrier (its exec plan, or InitGo for the Go
// init), so that it overlaps the init's last steps; on a goroutine it
// waited for the one P until the root was built, and ran after it.
func prepareCreated(h *state.Handle, created *state.Record, keeper, keeperAtExit bool) *preparedRecord {
	p := &preparedRecord{}
	if keeper {
		p.keeper, p.keeperErr = startExitKeeper(h, created, keeperAtExit)
		created.ExitKeeper = p.keeper.pid
	}
	p.final, p.err = h.PrepareSave(created)
	if p.err == nil {
		// Only the C commands miss a summary that cannot be written.
		p.summary, p.summaryErr = prepareSummary(h, created)
	}
	return p
}

// commit puts the written record in place, then its summary (never before:
// the C commands take a summary's presence to mean the record says
// created). A keeper that could not be started goes to debug: only `state`
// and `events` miss it, no reason to fail create; so does a summary that
// could not be written, which only sends the commands to the Go side.
func (p *preparedRecord) commit(debug func(format string, args ...any)) error {
	if debug != nil {
		switch {
		case p.keeperErr != nil:
			debug("create: no exit keeper: %v", p.keeperErr)
		case p.keeper.settled != nil:
			debug("create: exit keeper %d runs its program once create has exited", p.keeper.pid)
		case p.keeper.launchErr != nil:
			debug("create: exit keeper %d forked, not run at create's exit: %v", p.keeper.pid, p.keeper.launchErr)
		}
	}
	if p.err != nil {
		return p.err
	}
	if err := p.final.Commit(); err != nil {
		return err
	}
	if p.summary != nil {
		p.summaryErr = p.summary.Commit()
	}
	if p.summaryErr != nil && debug != nil {
		debug("create: no summary: %v", p.summaryErr)
	}
	return nil
}

// discard removes what was written and not committed. Create defers it,
// so it also waits, before create returns, until a keeper started to run
// at create's exit holds none of create's files (it has a copy of the
// file table until it has closed it).
func (p *preparedRecord) discard() {
	p.final.Discard()
	p.summary.Discard()
	if p.keeper.settled != nil {
		p.keeper.settled()
	}
}

// openOOMCounter opens the file of the container's oom_kill counter, if it
// has a memory cgroup that can be read.
func openOOMCounter(cg *cgroups.State) (int, bool) {
	if cg == nil {
		return -1, false
	}
	path := cgroups.OOMKillFile(*cg)
	if path == "" {
		return -1, false
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	return fd, err == nil
}

// exitWatch records the end of an init its caller waits for itself (`nook
// run` in the foreground, the init's parent), where no keeper is started.
type exitWatch struct {
	dir    *os.File       // the state directory, as a keeper holds it
	cgroup *cgroups.State // nil: no cgroup
	before oomCount       // its oom_kill counter before the init ran
}

// oomCount is a cgroup's oom_kill counter as read (ok: it could be).
type oomCount struct {
	n  uint64
	ok bool
}

// oomCountOf reads cg's oom_kill counter (none without a cgroup).
func oomCountOf(cg *cgroups.State) oomCount {
	if cg == nil {
		return oomCount{}
	}
	n, ok := cgroups.OOMKillCount(*cg)
	return oomCount{n: n, ok: ok}
}

// newExitWatch holds what the record of the init's end needs; before is
// the counter read before the container's program could run.
func newExitWatch(h *state.Handle, rec *state.Record, before oomCount) (*exitWatch, error) {
	dir, err := os.Open(h.Dir)
	if err != nil {
		return nil, fmt.Errorf("open state dir: %w", err)
	}
	return &exitWatch{dir: dir, cgroup: rec.Cgroup, before: before}, nil
}

// RecordExit records how the init ended (ws, as the caller reaped it), for
// a container created with WaitsForInit; a no-op for any other.
func (c *Container) RecordExit(ws unix.WaitStatus) error {
	w := c.exit
	if w == nil {
		return nil
	}
	c.exit = nil
	defer w.dir.Close()
	status := int32(ws)
	rec := exitRecord{ExitedAt: time.Now().UnixNano(), WaitStatus: &status}
	if w.before.ok {
		if now := oomCountOf(w.cgroup); now.ok {
			kills := uint64(0)
			if now.n > w.before.n {
				kills = now.n - w.before.n
			}
			rec.OOMKills = &kills
		}
	}
	return writeExitRecord(w.dir, &rec)
}

// writeExitRecord writes exitFile into dir as the keeper does: under a
// shared lock, and only while the directory exists (a deleted container's
// record is not written, nor one into a new container of the same id).
func writeExitRecord(dir *os.File, rec *exitRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode exit record: %w", err)
	}
	fd := int(dir.Fd())
	for {
		err = unix.Flock(fd, unix.LOCK_SH)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock state dir: %w", err)
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Nlink == 0 {
		return nil // removed: nothing to record
	}
	return state.WriteFileAtomic(filepath.Join("/proc/self/fd", strconv.Itoa(fd), exitFile), b, 0o600)
}

// initExited is closed once the init of r exits (or at once if it has), or
// when ctx ends.
func initExited(ctx context.Context, r *state.Record) <-chan struct{} {
	done := make(chan struct{})
	fd, err := openVerifiedPidfd(r.Pid, r.InitStartTime)
	if err != nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		defer unix.Close(fd)
		for ctx.Err() == nil {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 200)
			if n > 0 || err != nil && err != unix.EINTR {
				return
			}
		}
	}()
	return done
}

// awaitExit waits, up to timeout and without any lock, for the record of
// how the stopped container r (state directory dir) ended, and returns it
// (nil if none came: no keeper, or the container was deleted).
func awaitExit(ctx context.Context, dir string, r *state.Record, timeout time.Duration) *ExitInfo {
	if x, err := readExit(dir); x != nil || err != nil || r.ExitKeeper == 0 {
		return x
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MOVED_TO|unix.IN_DELETE_SELF|unix.IN_ONLYDIR); err != nil {
		return nil
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		// Written (or the directory gone) between the first look and
		// the watch, or since the last event.
		if x, err := readExit(dir); x != nil || err != nil {
			return x
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(min(left, 200*time.Millisecond)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return nil
		}
		for {
			if _, err := unix.Read(fd, buf); err != nil {
				break
			}
		}
		if _, err := os.Stat(dir); err != nil {
			return nil
		}
	}
	return nil
}

package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/rawfile"
)

// procStat is what nook needs from /proc/<pid>/stat.
type procStat struct {
	State     byte
	StartTime uint64 // field 22, clock ticks after boot
}

// readProcStat parses /proc/<pid>/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readProcStat(pid int) (procStat, error) {
	// On the stack: list reads one per container (see state.Peeker). The
	// kernel makes the whole line for the first read, which returns it all.
	var buf [512]byte
	b, err := rawfile.ReadWholeInto("/proc/"+strconv.Itoa(pid)+"/stat", buf[:0])
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(pid, b)
}

// parseProcStat takes the state (field 3) and start time (field 22) from
// a /proc/<pid>/stat line; the command (field 2) may hold spaces and
// parentheses, so fields are counted from its last ')'.
func parseProcStat(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no command field", pid)
	}
	var st procStat
	field, rest := 2, b[i+1:]
	for field < 22 {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, field)
		}
		field++
		switch field {
		case 3:
			st.State = rest[0]
		case 22:
			start, err := strconv.ParseUint(string(bytes.TrimSpace(rest[:end])), 10, 64)
			if err != nil {
				return procStat{}, fmt.Errorf("parse /proc/%d/stat start time: %w", pid, err)
			}
			st.StartTime = start
		}
		rest = rest[end:]
	}
	return st, nil
}

// processAlive says whether pid is still the process that was recorded: it
// exists, is not a zombie, and started when the record says it did.
func processAlive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	if st.State == 'Z' || st.State == 'X' {
		return false
	}
	return startTime == 0 || st.StartTime == startTime
}

// openVerifiedPidfd opens a pidfd for pid and only then checks the start
// time, so the pidfd cannot refer to a process that reused the pid.
func openVerifiedPidfd(pid int, startTime uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, ErrNotRunning
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	if !processAlive(pid, startTime) {
		unix.Close(fd)
		return -1, ErrNotRunning
	}
	return fd, nil
}

// ErrNotRunning: the container has stopped (engines match this text).
var ErrNotRunning = errors.New("container not running")

// notRunning is ErrNotRunning (errors.Is) worded for the command that met it.
type notRunning string

func (e notRunning) Error() string        { return string(e) }
func (e notRunning) Is(target error) bool { return target == ErrNotRunning }

// signalProcess sends sig to the recorded init through a verified pidfd.
func signalProcess(pid int, startTime uint64, sig unix.Signal) error {
	fd, err := openVerifiedPidfd(pid, startTime)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("signal %d to pid %d: %w", sig, pid, err)
	}
	return nil
}

// waitGone waits until the process behind pidfd has exited or timeout passes.
func waitGone(pid int, startTime uint64, timeout time.Duration) error {
	fd, err := openVerifiedPidfd(pid, startTime)
	if err != nil {
		return nil // already gone
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return fmt.Errorf("pid %d still alive after %s", pid, timeout)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, min(ms, 100))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll pidfd %d: %w", pid, err)
		}
		// A pidfd polls readable once the process exits; a zombie nobody
		// reaps counts as gone too.
		if n > 0 || !processAlive(pid, startTime) {
			return nil
		}
	}
}

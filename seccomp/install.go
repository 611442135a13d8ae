package seccomp

/*
#include <stdlib.h>
#include "install.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Install loads the program on the calling thread, which the caller has
// locked (runtime.LockOSThread) and which goes on to execve the container's
// process. When the program needs a listener, send is called with the
// listener fd on another thread, and Install returns once send has, with
// send's error. On success the listener is closed in this process (the
// agent has its own). After a failed send the process must report the
// error and exit, not exec: see handOff. Without a listener send is not
// called.
//
// # Why the hand-off looks like this
//
// A filter with SCMP_ACT_NOTIFY rules makes the loading thread wait in any
// notified syscall until an agent answers, and no agent can answer before
// it holds the listener. The filter is per thread (never
// SECCOMP_FILTER_FLAG_TSYNC, see newPlan), so another thread can send the
// listener while the loading thread only waits; Install must make sure that
// the loading thread, while it waits, holds nothing the sending thread
// needs. With the Go runtime that rules out any Go code on the loading
// thread between the filter and the end of the hand-off:
//
//   - Allocating may take the heap lock and, under it, mmap/munmap/madvise
//     to grow the heap or return memory. Were one of those notified, the
//     loading thread would sleep in the kernel holding the heap lock, and
//     the sender, which allocates (the JSON state, the socket's buffers),
//     would wait for that lock forever.
//   - Blocking in Go (a channel, a mutex, even a plain syscall through
//     entersyscall/exitsyscall) enters the scheduler: entersyscall wakes
//     sysmon with a futex call made under sched.lock, exitsyscall may take
//     sched.lock to find a P, and parking a locked goroutine hands its P off
//     and may allocate a new M (allocm). A notified futex or mmap there
//     leaves sched.lock or the heap lock held, and the sender, which needs
//     the scheduler to run at all, never runs.
//   - Holding the P in a raw syscall instead would starve the sender: the
//     init runs with GOMAXPROCS=1.
//
// So the whole window is one cgo call (install.c): cgocall enters the
// syscall state, with whatever futex that takes, before the filter exists,
// and leaves the P for sysmon to hand to the sender's goroutine. In C the
// thread loads the filter, publishes the listener's number in memory
// shared with the sender, wakes the sender with a one-byte write(2) (NOTIFY
// on write is refused, as runc refuses it; were the write denied, the
// sender still finds the number within listenerPoll) and waits on a futex
// word that the sender sets when it is done. A notified futex is answered
// by the agent once it has the listener, which the sender delivers with no
// help from the waiting thread. Only then does the cgo call return and Go
// code run on this thread again: whatever it notifies from here on, an
// agent can answer.
func (p *Program) Install(send func(listenerFd int) error) error {
	if !p.NeedsListener() {
		_, err := p.Load()
		return err
	}
	insns, err := p.Instructions()
	if err != nil {
		return err
	}
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("seccomp: hand-off pipe: %w", err)
	}
	h := (*C.struct_nook_handoff)(C.calloc(1, C.sizeof_struct_nook_handoff))
	if h == nil {
		unix.Close(wake[0])
		unix.Close(wake[1])
		return errors.New("seccomp: hand-off: out of memory")
	}
	h.listener = -1
	sent := make(chan error, 1)
	go handOff(wake[0], h, send, sent)

	rc := C.nook_install_handoff(unsafe.Pointer(&insns[0]), C.ushort(len(insns)), C.uint(p.LoadFlags()), C.int(wake[1]), h)
	runtime.KeepAlive(insns)
	if rc != 0 {
		// No filter: the sender sees the pipe hang up and gives up.
		unix.Close(wake[1])
		<-sent
		err = loadError(unix.Errno(-rc))
	} else {
		err = <-sent
		unix.Close(wake[1])
	}
	unix.Close(wake[0])
	C.free(unsafe.Pointer(h)) // the loading thread is out of C, the sender done with h
	return err
}

// listenerPoll is how often the sender looks for the listener should the
// loading thread's wake-up write be denied by the profile.
const listenerPoll = 10 // ms

// handOff runs on its own goroutine, never on the loading thread (that one
// is locked to Install's caller). It waits for the listener, sends it,
// closes it, tells the loading thread it is done, and reports to sent.
//
// When sending fails no agent will ever answer, and the loading thread,
// back in Go, would wait forever in the runtime's notified syscalls, or,
// were the listener closed (the kernel then fails notified syscalls with
// ENOSYS), crash: the runtime treats a failed futex as fatal. So the
// listener is kept and every notification is answered "continue" until
// the process ends; the caller reports the error and exits, it does not
// exec.
func handOff(wake int, h *C.struct_nook_handoff, send func(int) error, sent chan<- error) {
	listener, err := awaitListener(wake, (*int32)(unsafe.Pointer(&h.listener)))
	if err != nil {
		sent <- err // the filter was not loaded: nobody waits for the status
		return
	}
	err = send(listener)
	if err == nil {
		unix.Close(listener) // the agent has its own
	}
	status := (*int32)(unsafe.Pointer(&h.status))
	atomic.StoreInt32(status, C.NOOK_HANDOFF_DONE)
	futexWake(status)
	sent <- err
	if err != nil {
		continueAll(listener)
	}
}

// awaitListener returns the listener once the loading thread has published
// it: woken by the byte it writes on the pipe or, should the profile deny
// that write, on a later look. The pipe hanging up without a listener means
// the filter could not be loaded.
func awaitListener(wake int, listener *int32) (int, error) {
	for {
		if fd := atomic.LoadInt32(listener); fd >= 0 {
			return int(fd), nil
		}
		pfd := []unix.PollFd{{Fd: int32(wake), Events: unix.POLLIN}}
		_, err := unix.Poll(pfd, listenerPoll)
		if fd := atomic.LoadInt32(listener); fd >= 0 {
			return int(fd), nil
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return -1, fmt.Errorf("seccomp: wait for the listener: %w", err)
		}
		if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			return -1, errors.New("seccomp: the filter was not loaded")
		}
	}
}

// continueAll answers every notification on listener with "continue", as if
// there were no filter, until the process ends (see handOff). It is C, one
// cgo call that does not return: the loading thread may sit in a notified
// syscall while it holds the init's only P (a signal handler's
// rt_sigreturn, say), and an answerer that needed a P would never run.
func continueAll(listener int) {
	C.nook_continue_all(C.int(listener), C.ulong(unix.SECCOMP_IOCTL_NOTIF_RECV), C.ulong(unix.SECCOMP_IOCTL_NOTIF_SEND))
}

// futexWake wakes the thread waiting on addr (FUTEX_WAKE_PRIVATE).
func futexWake(addr *int32) {
	const futexWakePrivate = 1 | 128
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakePrivate, 1, 0, 0, 0)
}

package seccomp

/*
#include <stdlib.h>
#include "install.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SpawnAttr is a program for Spawn to start: execve(Path, Args, Env) with
// Stdio (three files) as fds 0, 1 and 2; every other fd must be
// close-on-exec.
type SpawnAttr struct {
	Path  string
	Args  []string
	Env   []string
	Stdio []*os.File
	// Setpgid makes the program lead a new process group.
	Setpgid bool
	// NoNewPrivs sets no_new_privs in the child before the filter is
	// loaded; without it the calling thread must have CAP_SYS_ADMIN.
	NoNewPrivs bool
}

// Spawn starts a program under the filter, as if the calling thread had
// loaded it and then forked (the kernel copies a thread's filter to its
// children), but without loading anything on the calling thread: the
// thread forks, and the child loads the filter right before execve. The
// child is a copy of the calling thread, with its credentials,
// capabilities, namespaces and timer slack, so the caller runs on the
// (locked) thread whose state the program must inherit.
//
// The filter is loaded without a listener: this process can pass only one
// listener to the agent, the container process's. A SCMP_ACT_NOTIFY rule
// therefore answers ENOSYS in the spawned program, as the kernel does when
// no one listens.
func (p *Program) Spawn(a SpawnAttr) (*os.Process, error) {
	if len(a.Stdio) != 3 {
		return nil, fmt.Errorf("seccomp: spawn %s: %d stdio files, want 3", a.Path, len(a.Stdio))
	}
	insns, err := p.Instructions()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("seccomp: spawn %s: %w", a.Path, err)
	}
	defer r.Close()
	defer w.Close()

	var cs cStrings
	defer cs.free()
	s := C.struct_nook_spawn{
		path:         cs.str(a.Path),
		argv:         cs.array(a.Args),
		envp:         cs.array(a.Env),
		report:       C.int(w.Fd()),
		setpgid:      cBool(a.Setpgid),
		no_new_privs: cBool(a.NoNewPrivs),
		filter:       cs.bytes(p.Filter), // checked by Instructions
		len:          C.ushort(len(insns)),
		flags:        C.uint(p.LoadFlags() &^ (unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)),
	}
	for i, f := range a.Stdio {
		s.stdio[i] = C.int(f.Fd()) // Fd makes the file blocking, as os.StartProcess does
	}
	// The fork copies every fd that is not close-on-exec at that moment;
	// ForkLock keeps fds that are made in two steps out of it, as for
	// os.StartProcess.
	syscall.ForkLock.Lock()
	pid := C.nook_spawn(&s)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(a.Stdio)
	if pid < 0 {
		return nil, fmt.Errorf("fork: %w", unix.Errno(-pid))
	}
	w.Close()
	if err := childFailure(r); err != nil {
		var ws unix.WaitStatus
		unix.Wait4(int(pid), &ws, 0, nil)
		return nil, err
	}
	return os.FindProcess(int(pid))
}

// childFailure reads what the child reported: nothing when execve
// succeeded (the pipe closed with it).
func childFailure(r *os.File) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read the child's report: %w", err)
	}
	if len(b) == 0 {
		return nil
	}
	if len(b) != C.sizeof_struct_nook_spawn_report {
		return errors.New("the child sent a malformed report")
	}
	stage := int32(binary.NativeEndian.Uint32(b[0:4]))
	errno := unix.Errno(binary.NativeEndian.Uint32(b[4:8]))
	switch stage {
	case C.NOOK_STAGE_STDIO:
		return fmt.Errorf("set up stdio: %w", errno)
	case C.NOOK_STAGE_SETPGID:
		return fmt.Errorf("setpgid: %w", errno)
	case C.NOOK_STAGE_NNP:
		return fmt.Errorf("set no_new_privs: %w", errno)
	case C.NOOK_STAGE_LOAD:
		return loadError(errno)
	}
	return errno // execve: the caller names the program
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// cStrings allocates C memory (strings, NULL-terminated arrays of them,
// bytes), freed together: nothing handed to C points into Go memory.
type cStrings []unsafe.Pointer

func (c *cStrings) str(s string) *C.char {
	p := C.CString(s)
	*c = append(*c, unsafe.Pointer(p))
	return p
}

func (c *cStrings) array(ss []string) **C.char {
	size := C.size_t(len(ss)+1) * C.size_t(unsafe.Sizeof((*C.char)(nil)))
	mem := C.malloc(size)
	*c = append(*c, mem)
	arr := unsafe.Slice((**C.char)(mem), len(ss)+1)
	for i, s := range ss {
		arr[i] = c.str(s)
	}
	arr[len(ss)] = nil
	return &arr[0]
}

func (c *cStrings) bytes(b []byte) unsafe.Pointer {
	p := C.CBytes(b)
	*c = append(*c, p)
	return p
}

func (c *cStrings) free() {
	for _, p := range *c {
		C.free(p)
	}
}

package hooks

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/startup"
)

// keepOutput bounds what is kept of each of a hook's stdout and stderr: the
// hook can write without limit (it is drained, never blocked), only the tail
// is kept for the error message.
const keepOutput = 4096

// ioGrace is how long the hook's pipes may stay open after the hook itself
// exited: a child it left running in the background may still hold them.
// Waiting for EOF without a bound would hang the runtime on such a hook.
const ioGrace = 250 * time.Millisecond

// child is a started hook with the runtime's ends of its stdio pipes.
type child struct {
	proc      *os.Process
	stdin     *os.File // write end; the state is written by a goroutine
	stdinDone chan struct{}
	stdout    *os.File // read ends, drained by goroutines
	stderr    *os.File
	outTail   tail
	errTail   tail
	readers   sync.WaitGroup
}

// start executes the hook as execve(path, argv, env) through spawn: argv is
// args (argv[0] included) or just path when args is empty, and env is
// exactly env, empty when unset (never the runtime's own environment). The
// hook leads a new process group so that a timeout can kill whatever it
// forked. Goroutines feed it the state on stdin and drain its stdout and
// stderr.
func start(h specs.Hook, input []byte, spawn Spawner) (*child, error) {
	argv := h.Args
	if len(argv) == 0 {
		argv = []string{h.Path}
	}
	env := h.Env
	if env == nil {
		env = []string{} // nil would make os.StartProcess pass our environment
	}

	// Pipes are O_CLOEXEC: only the copies dup'd onto 0, 1 and 2 reach the
	// hook. ends[2k] is the read end and ends[2k+1] the write end of the
	// pipe for fd k.
	var ends [6]*os.File
	for k := 0; k < 3; k++ {
		r, w, err := os.Pipe()
		if err != nil {
			closeFiles(ends[:2*k])
			return nil, fmt.Errorf("create stdio pipes: %w", err)
		}
		ends[2*k], ends[2*k+1] = r, w
	}
	stdio := []*os.File{ends[0], ends[3], ends[5]}

	restore := sealInheritedFds()
	var proc *os.Process
	// The hook gets the timer slack of nook's caller, not nook's own
	// (nsenter/timerslack.c).
	err := startup.WithCallerTimerSlack(func() (err error) {
		proc, err = spawn(h.Path, argv, env, stdio)
		return err
	})
	restore()
	closeFiles(stdio) // the hook has its copies now (or never will)
	if err != nil {
		closeFiles([]*os.File{ends[1], ends[2], ends[4]})
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the caller's message
		}
		return nil, fmt.Errorf("cannot execute: %w", err)
	}

	c := &child{proc: proc, stdin: ends[1], stdinDone: make(chan struct{}),
		stdout: ends[2], stderr: ends[4],
		outTail: tail{max: keepOutput}, errTail: tail{max: keepOutput}}
	go func() {
		defer close(c.stdinDone)
		// EPIPE (the hook does not read its stdin) is not the hook failing.
		_, _ = c.stdin.Write(input)
		c.stdin.Close()
	}()
	c.readers.Add(2)
	go c.drain(c.stdout, &c.outTail)
	go c.drain(c.stderr, &c.errTail)
	return c, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func (c *child) drain(r *os.File, t *tail) {
	defer c.readers.Done()
	_, _ = io.Copy(t, r)
}

// finishIO is called once the hook has been reaped. It stops feeding stdin,
// gives the output pipes ioGrace to reach EOF and then cuts them off.
func (c *child) finishIO() {
	c.stdin.Close() // unblocks a write to a hook that never read its stdin
	<-c.stdinDone

	drained := make(chan struct{})
	go func() { c.readers.Wait(); close(drained) }()
	t := time.NewTimer(ioGrace)
	select {
	case <-drained:
		t.Stop()
	case <-t.C:
		now := time.Now()
		_ = c.stdout.SetReadDeadline(now)
		_ = c.stderr.SetReadDeadline(now)
		<-drained
	}
	c.stdout.Close()
	c.stderr.Close()
}

// output renders what the hook printed for an error message: ": <stderr>",
// with " (stdout: …)" added when it also wrote to stdout, or "" when it was
// silent. Call it only after finishIO.
func (c *child) output() string {
	s := c.errTail.String()
	o := c.outTail.String()
	switch {
	case s != "" && o != "":
		return ": " + s + " (stdout: " + o + ")"
	case s != "":
		return ": " + s
	case o != "":
		return ": (stdout: " + o + ")"
	}
	return ""
}

package hooks

import (
	"context"
	"os"
	"syscall"
)

// Spawner starts one hook's process in place of os.StartProcess: path
// executed with argv and exactly env, stdio as its fds 0, 1 and 2 (every
// other fd is close-on-exec by then), leading a new process group. It is
// called on the goroutine, and the locked thread if any, that runs the
// hooks.
type Spawner func(path string, argv, env []string, stdio []*os.File) (*os.Process, error)

type spawnerKey struct{}

// WithSpawner returns a context under which RunContext starts every hook
// with spawn (as net/http/httptrace carries its hooks). The init starts its
// startContainer hooks under the container's seccomp filter this way.
func WithSpawner(ctx context.Context, spawn Spawner) context.Context {
	return context.WithValue(ctx, spawnerKey{}, spawn)
}

// spawnerOf returns the Spawner ctx carries, or the default.
func spawnerOf(ctx context.Context) Spawner {
	if s, ok := ctx.Value(spawnerKey{}).(Spawner); ok && s != nil {
		return s
	}
	return startProcess
}

// startProcess is the default Spawner.
func startProcess(path string, argv, env []string, stdio []*os.File) (*os.Process, error) {
	return os.StartProcess(path, argv, &os.ProcAttr{
		Env:   env,
		Files: stdio,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
}

package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/checkpoint"
	"github.com/nookrt/nook/libcontainer/console"
	"github.com/nookrt/nook/sigcatch"
	"github.com/nookrt/nook/spec"
)

func restoreCommand() *ucli.Command {
	flags := append(criuFlags(),
		&ucli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the bundle directory (holding config.json)"},
		&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs; do not wait for it"},
		&ucli.StringFlag{Name: "pid-file", Usage: "write the restored init's pid to this file"},
		&ucli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master of a terminal container"},
		// As with run: nook is never a subreaper. CRIU restores the root
		// of the mount namespace itself, so there is nothing to pivot.
		&ucli.BoolFlag{Name: "no-subreaper", Usage: "accepted for runc compatibility (nook's restore never is a subreaper)"},
		&ucli.BoolFlag{Name: "no-pivot", Usage: "accepted for runc compatibility (CRIU sets up the root itself)"},
		&ucli.StringFlag{Name: "lsm-profile", Usage: "LSM profile (TYPE:NAME) for the restored processes instead of the checkpoint's"},
		&ucli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context for the restored mounts instead of the checkpoint's"},
	)
	return &ucli.Command{
		Name:      "restore",
		Usage:     "restore a container from a checkpoint (exit status is the container's unless --detach)",
		ArgsUsage: "<container-id>",
		Flags:     flags,
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return restoreContainer(ctx)
		},
	}
}

func restoreContainer(ctx *ucli.Context) error {
	id := ctx.Args().First()
	if err := libcontainer.ValidateID(id); err != nil {
		return err
	}
	detach := ctx.Bool("detach")
	bundle, err := filepath.Abs(ctx.String("bundle"))
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	s, rootfs, err := readBundle(bundle)
	if err != nil {
		return err
	}
	term := &restoreTerminal{socket: ctx.String("console-socket")}
	if s.Process != nil && s.Process.Terminal && term.socket == "" && detach {
		return fmt.Errorf("process.terminal is true: restore --detach needs a --console-socket to hand the terminal to")
	}
	// As with run: in the foreground every signal is kept for the
	// container from the start, and forwarded once it runs.
	sigs := make(chan os.Signal, 32)
	if !detach {
		c, err := sigcatch.Start(sigs)
		if err != nil {
			return err
		}
		defer c.Stop()
	}
	defer term.close()
	o := checkpoint.RestoreOptions{
		Options:       criuOptions(ctx),
		ID:            id,
		Bundle:        bundle,
		Spec:          s,
		Rootfs:        rootfs,
		PidFile:       ctx.String("pid-file"),
		SystemdCgroup: ctx.Bool("systemd-cgroup"),
		Stdio:         [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		Warn:          warnFunc(ctx),
		Debug:         logger(ctx).Debugf,
	}
	if s.Process != nil && s.Process.Terminal {
		o.Console = term.take
	}
	c, err := checkpoint.Restore(root(ctx), criuOf(ctx), o)
	if err != nil {
		return err
	}
	if detach {
		return nil
	}
	term.relay()
	code, err := waitForward(c.Pid, sigs, term.resize)
	if err != nil {
		return err
	}
	term.drain()
	if err := deleteContainer(ctx, id, true); err != nil {
		return err
	}
	if code != 0 {
		return &ExitStatus{Code: code}
	}
	return nil
}

// readBundle reads and checks a bundle's config as create does.
func readBundle(bundle string) (*specs.Spec, string, error) {
	cfg, err := spec.Read(bundle)
	if err != nil {
		return nil, "", err
	}
	s, err := cfg.Parse()
	if err != nil {
		return nil, "", err
	}
	rootfs, err := spec.ResolveRootfs(s, bundle)
	if err != nil {
		return nil, "", err
	}
	return s, rootfs, nil
}

// restoreTerminal is where a restored terminal goes: to the
// --console-socket, or (in the foreground without one) to nook's own
// stdio, as with run.
type restoreTerminal struct {
	socket string
	master *os.File
	done   chan struct{}
}

// take receives the pty master CRIU restored.
func (t *restoreTerminal) take(master *os.File) error {
	if t.socket == "" {
		m, err := dupFile(master)
		if err != nil {
			return err
		}
		t.master = m
		return nil
	}
	conn, err := console.DialSocket(t.socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	return console.SendMaster(conn, master, ptyName(master))
}

func (t *restoreTerminal) relay() {
	if t.master == nil {
		return
	}
	t.done = make(chan struct{})
	go func() {
		console.Relay(t.master, os.Stdin, os.Stdout)
		close(t.done)
	}()
}

// resize copies the user's window size to a relayed terminal.
func (t *restoreTerminal) resize() {
	if t.master != nil {
		console.CopyWindowSize(os.Stdin, t.master)
	}
}

// drain waits for the container's last output to be copied out.
func (t *restoreTerminal) drain() {
	if t.done == nil {
		return
	}
	select {
	case <-t.done:
	case <-time.After(2 * time.Second):
	}
}

func (t *restoreTerminal) close() {
	if t.master != nil {
		t.master.Close()
	}
}

// dupFile keeps a file its caller will close.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("keep the terminal: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// ptyName is the slave's path of a pty master (/dev/pts/N), the payload
// engines expect with it.
func ptyName(master *os.File) string {
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return "/dev/ptmx"
	}
	return fmt.Sprintf("/dev/pts/%d", n)
}

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
)

func createFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the bundle directory (holding config.json)"},
		&ucli.StringFlag{Name: "pid-file", Usage: "write the container init's pid to this file"},
		&ucli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master of a terminal container"},
		&ucli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the container's init"},
		&ucli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for ramfs roots); MS_MOVE and chroot instead"},
		&ucli.BoolFlag{Name: "no-new-keyring", Usage: "do not give the container a session keyring of its own"},
		&ucli.UintFlag{Name: "preserve-fds", Usage: "pass this many extra fds (from 3 up) to the container"},
	}
}

func createCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "create",
		Usage:     "create a container, stopped at the start barrier",
		ArgsUsage: "<container-id>",
		Flags:     createFlags(),
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			_, err := createContainer(ctx, context.Background(), nil)
			return err
		},
	}
}

// createContainer is shared by create and run. consoleFor, if set, chooses
// the console socket once the config is loaded, and says whether it is
// run's own (which relays the terminal to nook's stdio). Once stop is
// done, the create gives up and removes what it made (run's SIGTERM and
// SIGINT before start); its error is then context.Cause(stop).
func createContainer(ctx *ucli.Context, stop context.Context, consoleFor func(*specs.Spec) (string, bool, error)) (*libcontainer.Container, error) {
	id := ctx.Args().First()
	if err := libcontainer.ValidateID(id); err != nil {
		return nil, err // before anything is started for it
	}
	rootless, err := rootlessCgroups(ctx)
	if err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(ctx.String("bundle"))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	// Create reads the bundle itself (Spec nil), overlapping the init's
	// start with it.
	return root(ctx).Create(stop, libcontainer.CreateOptions{
		ID:              id,
		Bundle:          bundle,
		PidFile:         ctx.String("pid-file"),
		ConsoleSocket:   ctx.String("console-socket"),
		ConsoleFor:      consoleFor,
		PidfdSocket:     ctx.String("pidfd-socket"),
		NotifySocket:    os.Getenv("NOTIFY_SOCKET"),
		NoPivot:         ctx.Bool("no-pivot"),
		NoNewKeyring:    ctx.Bool("no-new-keyring"),
		PreserveFds:     int(ctx.Uint("preserve-fds")),
		ListenFds:       socketActivationFds(),
		SystemdCgroup:   ctx.Bool("systemd-cgroup"),
		RootlessCgroups: rootless,
		Warn:            warnFunc(ctx),
		Debug:           logger(ctx).Debugf,
		// A run in the foreground is the init's parent and waits for it.
		WaitsForInit: ctx.Command.Name == "run" && !ctx.Bool("detach"),
		// create exits as soon as the container is created; run -d goes
		// on to start it, and its keeper must already watch by then (an
		// OOM kill is counted from the keeper's start).
		ExitsAfter: ctx.Command.Name == "create",
		// run starts the container right away: create opens the start
		// barrier itself where a start would do nothing more.
		StartAtOnce: ctx.Command.Name == "run",
	})
}

// socketActivationFds is the number of systemd socket-activation fds (from
// 3 up) handed to nook: LISTEN_FDS, when LISTEN_PID names this process. They
// are passed on to the container as runc does.
func socketActivationFds() int {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/state"
)

func pauseCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "pause",
		Usage:     "freeze every process of a running container (state shows paused)",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			return withContainer(ctx, libcontainer.Pause)
		},
	}
}

func resumeCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "resume",
		Usage:     "thaw a paused container",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			return withContainer(ctx, libcontainer.Resume)
		},
	}
}

// withContainer runs fn on the one container named by the only argument,
// holding its lock.
func withContainer(ctx *ucli.Context, fn func(*state.Handle, *state.Record) error) error {
	if err := requireArgs(ctx, 1, 1); err != nil {
		return err
	}
	h, err := store(ctx).Lock(ctx.Args().First(), true)
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

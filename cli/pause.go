package cli

import (
	ucli "github.com/urfave/cli/v2"
)

func pauseCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "pause",
		Usage:     "freeze every process of a running container (state shows paused)",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return root(ctx).Pause(ctx.Args().First())
		},
	}
}

func resumeCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "resume",
		Usage:     "thaw a paused container",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return root(ctx).Resume(ctx.Args().First())
		},
	}
}

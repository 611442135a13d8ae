package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
)

func startCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "start",
		Usage:     "run the user process of a created container",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return startContainer(ctx, ctx.Args().First())
		},
	}
}

func startContainer(ctx *ucli.Context, id string) error {
	h, err := store(ctx).Lock(id, true)
	if err != nil {
		return err
	}
	defer h.Close()
	r, err := h.Load()
	if err != nil {
		return err
	}
	return libcontainer.Start(h, r, warnFunc(ctx))
}

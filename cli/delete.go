package cli

import (
	ucli "github.com/urfave/cli/v2"
)

func deleteCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "delete",
		Usage:     "remove a stopped container (or any, with --force)",
		ArgsUsage: "<container-id>",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is not stopped"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return deleteContainer(ctx, ctx.Args().First(), ctx.Bool("force"))
		},
	}
}

func deleteContainer(ctx *ucli.Context, id string, force bool) error {
	return root(ctx).Delete(id, force, warnFunc(ctx))
}

package cli

import (
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/stateout"
)

func stateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "state",
		Usage:     "print the state of a container as JSON",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			st, err := root(ctx).State(ctx.Args().First())
			if err != nil {
				return err
			}
			b, err := stateout.Marshal(st.Output(true))
			if err != nil {
				return err
			}
			printJSONTo(os.Stdout, b)
			return nil
		},
	}
}

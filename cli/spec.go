package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/spec"
)

func specCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "spec",
		Usage: "write a default config.json into a bundle",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "bundle directory to write config.json into"},
			&ucli.BoolFlag{Name: "rootless", Usage: "a config for a container run by an unprivileged user"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 0, 0); err != nil {
				return err
			}
			return spec.WriteDefault(ctx.String("bundle"), ctx.Bool("rootless"))
		},
	}
}

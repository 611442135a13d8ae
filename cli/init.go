package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/containerinit"
)

// initCommand is how a container init is entered; users never call it.
func initCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "init",
		Hidden: true,
		Usage:  "container init (internal)",
		Action: func(ctx *ucli.Context) error {
			if !containerinit.IsInit() {
				return errors.New("init is internal to nook and only runs inside a container being created")
			}
			containerinit.RunInit()
			return nil
		},
	}
}

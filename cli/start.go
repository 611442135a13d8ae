package cli

import (
	"os"

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
			relay, err := startContainer(ctx, ctx.Args().First())
			if err != nil {
				return err
			}
			// As runc: with a NOTIFY_SOCKET, start returns once the
			// container has said READY= (or its init has exited).
			return relay.Wait()
		},
	}
}

// startContainer starts a created container. With a NOTIFY_SOCKET (and a
// container created with one) it returns the relay of the container's
// sd_notify messages, bound before the process could send any; the caller
// waits on it, without the container's lock, which is released here.
func startContainer(ctx *ucli.Context, id string) (*libcontainer.NotifyRelay, error) {
	return root(ctx).Start(id, os.Getenv("NOTIFY_SOCKET"), warnFunc(ctx))
}

package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/state"
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
	h, err := store(ctx).Lock(id, true)
	if force && errors.Is(err, state.ErrNotExist) {
		// As runc: forcing the removal of what is already gone succeeds
		// (conmon's cleanup and podman's own delete race on it).
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	r, err := h.Load()
	if force && errors.Is(err, state.ErrNotExist) {
		// A directory without a record: a create died before writing it.
		return h.Destroy()
	}
	if err != nil {
		return err
	}
	return libcontainer.Delete(h, r, force, warnFunc(ctx))
}

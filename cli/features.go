package cli

import (
	"encoding/json"
	"os"

	"github.com/opencontainers/runtime-spec/specs-go/features"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/libcontainer/sched"
	"github.com/nookrt/nook/seccomp"
	"github.com/nookrt/nook/spec"
)

func featuresCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "features",
		Usage: "print the runtime-spec features document of this build",
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 0, 0); err != nil {
				return err
			}
			f := spec.Features(ctx.App.Version)
			f.Linux.Seccomp = seccomp.Features()
			f.Linux.MemoryPolicy = &features.MemoryPolicy{Modes: sched.MemoryPolicyModes(), Flags: sched.MemoryPolicyFlags()}
			idmap := rootfs.IDMapSupported()
			f.Linux.MountExtensions.IDMap.Enabled = &idmap
			b, err := json.MarshalIndent(f, "", "    ")
			if err != nil {
				return err
			}
			printJSONTo(os.Stdout, b)
			return nil
		},
	}
}

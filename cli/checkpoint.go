package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/checkpoint"
)

// criuFlags are the CRIU options checkpoint and restore share (runc's).
func criuFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "image-path", Usage: "directory of the checkpoint's images (default: ./checkpoint)"},
		&ucli.StringFlag{Name: "work-path", Usage: "directory for CRIU's log and work files (default: the image path)"},
		&ucli.BoolFlag{Name: "tcp-established", Usage: "allow open TCP connections"},
		&ucli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&ucli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs (a process whose session or terminal is outside the container)"},
		&ucli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
		&ucli.StringFlag{Name: "manage-cgroups-mode", Usage: "how CRIU handles cgroups: soft, full, strict or ignore (default: soft)"},
		&ucli.StringSliceFlag{Name: "empty-ns", Usage: "create this namespace but do not restore its contents (network only)"},
		&ucli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate memory images automatically"},
		&ucli.BoolFlag{Name: "lazy-pages", Usage: "lazy migration: the memory is fetched on demand (userfaultfd) from a page server"},
	}
}

// criuOptions reads the flags of criuFlags (and checkpoint's own).
func criuOptions(ctx *ucli.Context) checkpoint.Options {
	return checkpoint.Options{
		ImagePath:         ctx.String("image-path"),
		WorkPath:          ctx.String("work-path"),
		ParentPath:        ctx.String("parent-path"),
		LeaveRunning:      ctx.Bool("leave-running"),
		TCPEstablished:    ctx.Bool("tcp-established"),
		TCPSkipInFlight:   ctx.Bool("tcp-skip-in-flight"),
		LinkRemap:         ctx.Bool("link-remap"),
		ExtUnixSk:         ctx.Bool("ext-unix-sk"),
		ShellJob:          ctx.Bool("shell-job"),
		FileLocks:         ctx.Bool("file-locks"),
		PreDump:           ctx.Bool("pre-dump"),
		AutoDedup:         ctx.Bool("auto-dedup"),
		LazyPages:         ctx.Bool("lazy-pages"),
		StatusFd:          statusFd(ctx),
		PageServer:        ctx.String("page-server"),
		ManageCgroupsMode: ctx.String("manage-cgroups-mode"),
		EmptyNs:           ctx.StringSlice("empty-ns"),
		LsmProfile:        ctx.String("lsm-profile"),
		LsmMountContext:   ctx.String("lsm-mount-context"),
	}
}

// statusFd is --status-fd, -1 when not given (restore has no such flag).
func statusFd(ctx *ucli.Context) int {
	if !ctx.IsSet("status-fd") {
		return -1
	}
	return ctx.Int("status-fd")
}

// criuOf is the CRIU chosen by the global --criu.
func criuOf(ctx *ucli.Context) checkpoint.Criu {
	return checkpoint.Criu{Path: ctx.String("criu"), Debug: logger(ctx).Debugf}
}

func checkpointCommand() *ucli.Command {
	flags := append(criuFlags(),
		&ucli.StringFlag{Name: "parent-path", Usage: "a previous pre-dump's images, relative to --image-path"},
		&ucli.BoolFlag{Name: "leave-running", Usage: "leave the container running after the checkpoint"},
		&ucli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip in-flight TCP connections"},
		&ucli.BoolFlag{Name: "link-remap", Usage: "link unlinked files back when possible"},
		&ucli.BoolFlag{Name: "pre-dump", Usage: "dump only the memory, and leave the container running"},
		&ucli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of a CRIU page server to send the memory to"},
		&ucli.IntFlag{Name: "status-fd", Value: -1, Usage: "with --lazy-pages: fd CRIU writes \\0 to once its page server is ready"},
	)
	return &ucli.Command{
		Name:      "checkpoint",
		Usage:     "checkpoint a running container with CRIU (it stops, unless --leave-running or --pre-dump)",
		ArgsUsage: "<container-id>",
		Flags:     flags,
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return checkpoint.Checkpoint(root(ctx), ctx.Args().First(), criuOf(ctx), criuOptions(ctx), warnFunc(ctx))
		},
	}
}

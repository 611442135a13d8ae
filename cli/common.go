// Package cli holds nook's commands, one file each. A command parses its
// flags, calls libcontainer and prints; the work is done elsewhere.
package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
)

// DefaultRoot is where root's container state lives unless --root says
// otherwise (an unprivileged user's: DefaultRootDir).
const DefaultRoot = "/run/nook"

// Commands returns every command nook has.
func Commands() []*ucli.Command {
	cmds := []*ucli.Command{
		createCommand(), startCommand(), runCommand(), stateCommand(), killCommand(),
		deleteCommand(), listCommand(), specCommand(), featuresCommand(), psCommand(), pauseCommand(),
		resumeCommand(), updateCommand(), eventsCommand(), execCommand(), initCommand(),
		checkpointCommand(), restoreCommand(), checkCommand(),
	}
	for _, c := range cmds {
		// urfave/cli would give each command a "help"/"h" subcommand, and
		// `nook delete h` would print help instead of deleting container
		// h. Help is `nook help CMD` or `CMD --help`, as runc.
		c.HideHelpCommand = true
	}
	return cmds
}

// CodedError is an error that ends nook with Code rather than 1, printed
// like any other. exec exits 255 when the runtime (not the process) fails,
// as runc does, so that callers can tell it from the process's own status.
type CodedError struct {
	Code int
	Err  error
}

func (e *CodedError) Error() string { return e.Err.Error() }
func (e *CodedError) Unwrap() error { return e.Err }

// root is the container API over the state root chosen by --root, or the
// caller's default one.
func root(ctx *ucli.Context) libcontainer.Root {
	root := ctx.String("root")
	if !ctx.IsSet("root") || root == "" {
		if xdg, ok := xdgRoot(); ok {
			root = xdg
			ensureXDGRoot(root)
		}
	}
	if root == "" {
		root = DefaultRoot
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return libcontainer.OpenRoot(root)
}

// requireArgs checks the positional argument count the way runc words it.
func requireArgs(ctx *ucli.Context, min, max int) error {
	n := ctx.NArg()
	switch {
	case min == max && n != min:
		return fmt.Errorf("%q requires exactly %d argument(s)", ctx.Command.Name, min)
	case n < min:
		return fmt.Errorf("%q requires a minimum of %d argument(s)", ctx.Command.Name, min)
	case max >= 0 && n > max:
		return fmt.Errorf("%q requires a maximum of %d argument(s)", ctx.Command.Name, max)
	}
	return nil
}

// logger is the one configured in main's Before hook.
func logger(ctx *ucli.Context) *logrus.Logger {
	if l, ok := ctx.App.Metadata["logger"].(*logrus.Logger); ok {
		return l
	}
	return logrus.StandardLogger()
}

func warnFunc(ctx *ucli.Context) func(string) {
	l := logger(ctx)
	return func(msg string) { l.Warn(msg) }
}

func printJSONTo(f *os.File, b []byte) {
	f.Write(b)
	f.Write([]byte("\n"))
}

// Package cli holds nook's commands, one file each. A command parses its
// flags, calls libcontainer and prints; the work is done elsewhere.
package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/state"
)

// DefaultRoot is where container state lives unless --root says otherwise.
const DefaultRoot = "/run/nook"

// Commands returns every command nook has.
func Commands() []*ucli.Command {
	return []*ucli.Command{
		createCommand(), startCommand(), runCommand(), stateCommand(), killCommand(),
		deleteCommand(), listCommand(), specCommand(), featuresCommand(), psCommand(), pauseCommand(),
		resumeCommand(), updateCommand(), eventsCommand(), execCommand(), initCommand(),
	}
}

// store is the state root chosen by --root.
func store(ctx *ucli.Context) state.Store {
	root := ctx.String("root")
	if root == "" {
		root = DefaultRoot
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return state.Store{Root: root}
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

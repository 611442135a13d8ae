package cli

import (
	"fmt"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func killCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "kill",
		Usage:     "send a signal (default SIGTERM; 0: only check that it runs) to a container's init",
		ArgsUsage: "<container-id> [signal]",
		Description: "SIGKILL to a container without a pid namespace of its own goes to every process of its cgroup,\n" +
			"as its init's death takes no other process with it.",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to every process of the container's cgroup (succeeds once the container is gone)"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 2); err != nil {
				return err
			}
			sigName := "SIGTERM"
			if ctx.NArg() == 2 {
				sigName = ctx.Args().Get(1)
			}
			sig, err := ParseSignal(sigName)
			if err != nil {
				return err
			}
			return root(ctx).Kill(ctx.Args().First(), sig, ctx.Bool("all"))
		},
	}
}

// ParseSignal accepts a number, a name with or without SIG, in any case.
// 0 is no signal: `kill ID 0` only checks that the container is running.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

package cli

import (
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// ReorderArgs lets a command's flags follow its positional arguments, as
// runc's command line (urfave/cli v1) allows: `update ID --memory 1g`,
// `delete ID --force`, `kill ID KILL --all`. urfave/cli v2 stops parsing
// flags at the first positional argument, so the flags found after it are
// moved in front of the positional arguments, which follow a "--" (so one
// starting with "-", such as exec's `ls -l`, is never read as a flag).
//
// args is the whole command line, program name first. Global flags must
// come before the command, as in runc; what comes after a command's rest
// (see restOf) is left as it is.
func ReorderArgs(global []ucli.Flag, commands []*ucli.Command, args []string) []string {
	i := commandIndex(global, args)
	if i < 0 {
		return args
	}
	var cmd *ucli.Command
	for _, c := range commands {
		if c.HasName(args[i]) {
			cmd = c
		}
	}
	if cmd == nil || cmd.SkipFlagParsing {
		return args
	}
	out := append([]string{}, args[:i+1]...)
	return append(out, reorderCommandArgs(cmd.Flags, restOf(cmd.Name), args[i+1:])...)
}

// commandIndex is the index in args of the command's name: the first
// argument after the program name that is neither a global flag nor the
// value of one. -1 when there is none.
func commandIndex(global []ucli.Flag, args []string) int {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return i + 1
			}
			return -1
		}
		if !isFlagArg(a) {
			return i
		}
		if takesValue(global, a) {
			i++ // its value
		}
	}
	return -1
}

// rest says where a command's own arguments end and those it passes on
// (the command line of the process it runs) begin.
type rest struct {
	// after is the number of positional arguments the command takes itself;
	// -1 when every argument is its own.
	after int
	// raw: the rest begins right after those, even with an argument that
	// looks like a flag (ps's options for ps(1)). Otherwise it begins at the
	// next positional argument, and flags before it are the command's (exec
	// ID --env X=1 CMD…).
	raw bool
}

// restOf is the layout of each command that passes arguments on.
func restOf(command string) rest {
	switch command {
	case "exec":
		// exec ID [flags] CMD ARGS…: from the command on, every argument
		// is the process's (`exec ID ls -l` keeps -l).
		return rest{after: 1}
	case "ps":
		// ps ID [ps(1) options…]: runc passes everything after the id to
		// ps(1), whose options (-f, -e…) clash with ps's own -f.
		return rest{after: 1, raw: true}
	}
	return rest{after: -1}
}

// reorderCommandArgs returns a command's arguments (those after its name)
// as flags, then "--" and the positional arguments and the rest, if any.
func reorderCommandArgs(flags []ucli.Flag, r rest, args []string) []string {
	var own, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		restBegins := r.after >= 0 && len(positional) >= r.after
		switch {
		case restBegins && (r.raw || !isFlagArg(a)):
			positional = append(positional, args[i:]...)
			i = len(args)
		case a == "--":
			// Everything after it is positional, as getopt has it.
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case isFlagArg(a):
			own = append(own, a)
			if !takesValue(flags, a) {
				continue
			}
			if i+1 == len(args) {
				// Its value is missing: left last, for the parser to
				// refuse ("--" would be taken for the value).
				return own
			}
			i++
			own = append(own, args[i])
		default:
			positional = append(positional, a)
		}
	}
	if len(positional) == 0 || asksHelp(own) {
		// urfave/cli would take the first positional argument of
		// `kill ID --help` for a help topic: help is for the command.
		return own
	}
	return append(append(own, "--"), positional...)
}

// asksHelp: one of the command's own flags is --help or -h.
func asksHelp(own []string) bool {
	for _, a := range own {
		for _, n := range ucli.HelpFlag.Names() {
			if a == "-"+n || a == "--"+n {
				return true
			}
		}
	}
	return false
}

// isFlagArg: a flag, or an unknown one (left for the parser to refuse).
// "-" (stdin) and negative numbers (kill's -9) are values.
func isFlagArg(a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	return a[1] < '0' || a[1] > '9'
}

// takesValue: a defined flag that is not boolean, written without
// "=value", so that the next argument is its value.
func takesValue(flags []ucli.Flag, a string) bool {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			v, ok := f.(ucli.DocGenerationFlag)
			return ok && v.TakesValue()
		}
	}
	return false
}

package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/stateout"
)

func listCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "list",
		Usage: "list containers under the state root",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print ids only"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 0, 0); err != nil {
				return err
			}
			format := ctx.String("format")
			if format != "table" && format != "json" {
				return fmt.Errorf("invalid --format %q: must be table or json", format)
			}
			rt := root(ctx)
			if err := checkRootGiven(ctx, rt.Dir()); err != nil {
				return err
			}
			states, err := rt.List()
			if err != nil {
				return err
			}
			var all []*stateout.Output
			for _, st := range states {
				all = append(all, st.Output(false))
			}
			if ctx.Bool("quiet") {
				// Buffered: a line per write is a system call per container.
				out := bufio.NewWriter(os.Stdout)
				for _, o := range all {
					fmt.Fprintln(out, o.ID)
				}
				return out.Flush()
			}
			if format == "json" {
				if all == nil {
					all = []*stateout.Output{}
				}
				b, err := json.Marshal(all)
				if err != nil {
					return err
				}
				printJSONTo(os.Stdout, b)
				return nil
			}
			// Buffered: tabwriter writes each cell on its own.
			out := bufio.NewWriter(os.Stdout)
			w := tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, o := range all {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", o.ID, o.Pid, o.Status, o.Bundle,
					o.Created.Format(time.RFC3339Nano), o.Owner)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return out.Flush()
		},
	}
}

// checkRootGiven refuses a --root given on the command line that does not
// exist, as runc does: only the default root may be missing (no container
// was ever created there), and a mistyped --root must not read as empty.
func checkRootGiven(ctx *ucli.Context, root string) error {
	if !ctx.IsSet("root") {
		return nil
	}
	f, err := os.Open(root)
	if err != nil {
		return err // "open /x: no such file or directory", runc's words
	}
	return f.Close()
}

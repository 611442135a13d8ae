package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/startup"
)

func psCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "ps",
		Usage:     "list the processes of a container (ps(1) arguments after the id; default -ef)",
		ArgsUsage: "<container-id> [ps options]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json (a JSON array of host pids)"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, -1); err != nil {
				return err
			}
			format := ctx.String("format")
			if format != "table" && format != "json" {
				return fmt.Errorf("invalid --format %q (want table or json)", format)
			}
			pids, err := root(ctx).Processes(ctx.Args().First())
			if err != nil {
				return err
			}
			if format == "json" {
				// A stopped container's empty list prints null, as runc's.
				b, err := json.Marshal(pids)
				if err != nil {
					return err
				}
				printJSONTo(os.Stdout, b)
				return nil
			}
			psArgs := ctx.Args().Tail()
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			var out []byte
			// ps gets the timer slack of nook's caller (nsenter/timerslack.c).
			err = startup.WithCallerTimerSlack(func() (err error) {
				out, err = exec.Command("ps", psArgs...).Output()
				return err
			})
			if err != nil {
				return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
			}
			filtered, err := filterPs(out, pids)
			if err != nil {
				return err
			}
			os.Stdout.Write(filtered)
			return nil
		},
	}
}

// filterPs keeps ps(1)'s header and the lines whose PID column names one of
// the container's processes.
func filterPs(out []byte, pids []int) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 {
		return nil, fmt.Errorf("ps printed nothing")
	}
	col := -1
	for i, f := range strings.Fields(lines[0]) {
		if f == "PID" {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("ps output has no PID column (header %q)", lines[0])
	}
	want := make(map[int]bool, len(pids))
	for _, p := range pids {
		want[p] = true
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		if pid, err := strconv.Atoi(f[col]); err == nil && want[pid] {
			b.WriteString(l + "\n")
		}
	}
	return b.Bytes(), nil
}

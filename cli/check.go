package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/check"
)

func checkCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "check",
		Usage: "report every problem a bundle would run into, without creating anything",
		Description: `check reads config.json and the rootfs of a bundle and reports each problem
it finds, with the config.json field (line and column) it is about and what to
do: unknown or misspelled keys, invalid values and contradictions in the
config; what this host's kernel, cgroups, seccomp and devices cannot do for it;
what executing process.args[0] in the rootfs would run into. It exits 1 when
create, start or the process would fail, else 0.`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the bundle directory (holding config.json)"},
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output format: text, or json (a list of findings with a stable kind)"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 0, 0); err != nil {
				return err
			}
			format := ctx.String("format")
			if format != "text" && format != "json" {
				return fmt.Errorf("invalid --format %q: must be text or json", format)
			}
			rep := check.Bundle(ctx.String("bundle"), check.Options{SystemdCgroup: ctx.Bool("systemd-cgroup")})
			if format == "json" {
				b, err := json.MarshalIndent(rep.Findings, "", "  ")
				if err != nil {
					return err
				}
				printJSONTo(os.Stdout, b)
			} else {
				printFindings(os.Stdout, filepath.Join(ctx.String("bundle"), "config.json"), rep.Findings)
			}
			if rep.Failed() {
				return &ExitStatus{Code: 1} // the report says why
			}
			return nil
		},
	}
}

// printFindings writes one finding per paragraph, compiler style
// (FILE:LINE:COLUMN: severity: field: message [kind]), then a count.
func printFindings(w io.Writer, config string, fs []check.Finding) {
	errs, warns := 0, 0
	for _, f := range fs {
		loc := config
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d:%d", config, f.Line, f.Column)
		}
		field := ""
		if f.Field != "" {
			field = f.Field + ": "
		}
		fmt.Fprintf(w, "%s: %s: %s%s [%s]\n", loc, f.Severity, field, f.Message, f.Kind)
		if f.Hint != "" {
			fmt.Fprintf(w, "    %s\n", f.Hint)
		}
		if f.Severity == check.Error {
			errs++
		} else {
			warns++
		}
	}
	switch {
	case errs+warns == 0:
		fmt.Fprintln(w, "no problems found")
	default:
		fmt.Fprintf(w, "%s, %s\n", plural(errs, "error"), plural(warns, "warning"))
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

package cli

import (
	"io"
	"reflect"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

// testGlobalFlags are main's global flags, as far as reordering cares:
// which take a value and which do not.
func testGlobalFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "root"},
		&ucli.StringFlag{Name: "log"},
		&ucli.StringFlag{Name: "log-format"},
		&ucli.BoolFlag{Name: "debug"},
		&ucli.BoolFlag{Name: "systemd-cgroup"},
		&ucli.StringFlag{Name: "rootless"},
	}
}

func reorder(line string) []string {
	return ReorderArgs(testGlobalFlags(), Commands(), append([]string{"nook"}, strings.Fields(line)...))
}

func TestReorderArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		// Flags after the id move in front of it; "--" ends the flags.
		{"update ID --memory 1g", "update --memory 1g -- ID"},
		{"update ID --memory=1g", "update --memory=1g -- ID"},
		{"delete ID --force", "delete --force -- ID"},
		{"delete ID -f", "delete -f -- ID"},
		{"run ID -d --bundle b", "run -d --bundle b -- ID"},
		{"events ID --stats --interval 1s", "events --stats --interval 1s -- ID"},
		// A boolean flag takes no value: KILL stays the signal (runc's
		// urfave/cli v1 reordering takes it as --all's value).
		{"kill ID KILL --all", "kill --all -- ID KILL"},
		{"kill ID --all KILL", "kill --all -- ID KILL"},
		{"kill -a ID 9", "kill -a -- ID 9"},
		// A value that looks like a flag or a number stays with its flag.
		{"update ID --cpu-quota -1", "update --cpu-quota -1 -- ID"},
		{"update ID -r -", "update -r - -- ID"},
		{"update ID --cpuset-cpus --memory", "update --cpuset-cpus --memory -- ID"},
		// Negative numbers and "-" are positional.
		{"kill ID -9", "kill -- ID -9"},
		// Already in order: unchanged but for the "--".
		{"delete --force ID", "delete --force -- ID"},
		{"list -q", "list -q"},
		{"list", "list"},
		// Unknown flags move too, for the parser to refuse by name.
		{"delete ID --nope", "delete --nope -- ID"},
		// A flag missing its value at the end is left for the parser.
		{"update ID --memory", "update --memory"},
		// --help anywhere.
		{"kill ID --help", "kill --help"},
		{"update ID -h --memory 1", "update -h --memory 1"},
		{"exec ID sh --help", "exec -- ID sh --help"}, // sh's
		{"help kill", "help kill"},                    // help is urfave/cli's, with no flags
		// exec: flags up to the command; from it on, all is the process's.
		{"exec ID ls -l", "exec -- ID ls -l"},
		{"exec ID --env X=1 sh -c echo", "exec --env X=1 -- ID sh -c echo"},
		{"exec -t ID --cwd /tmp -e A=1 ls -la --env B", "exec -t --cwd /tmp -e A=1 -- ID ls -la --env B"},
		{"exec ID -- ls -l", "exec -- ID ls -l"},
		{"exec ID sh -- -x", "exec -- ID sh -- -x"},
		{"exec ID --process=p.json", "exec --process=p.json -- ID"},
		{"exec ID -p p.json", "exec -p p.json -- ID"},
		{"exec ID", "exec -- ID"},
		// ps: everything after the id is ps(1)'s, -f included (as runc).
		{"ps ID -ef", "ps -- ID -ef"},
		{"ps ID -f json", "ps -- ID -f json"},
		{"ps -f json ID", "ps -f json -- ID"},
		{"ps ID -- -x", "ps -- ID -- -x"},
		// Global flags before the command, with and without values.
		{"--root /r --debug --log-format json update ID --memory 1", "--root /r --debug --log-format json update --memory 1 -- ID"},
		{"--root update list", "--root update list"},
		{"--root=/r delete ID -f", "--root=/r delete -f -- ID"},
		// No command, or one nook does not have: left alone.
		{"--version", "--version"},
		{"", ""},
		{"nosuch ID --x", "nosuch ID --x"},
		{"--root /r", "--root /r"},
	}
	for _, tt := range tests {
		got := reorder(tt.in)
		want := append([]string{"nook"}, strings.Fields(tt.want)...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ReorderArgs(%q) = %q, want %q", tt.in, got[1:], want[1:])
		}
	}
}

func TestReorderArgsKeepsInput(t *testing.T) {
	in := []string{"nook", "delete", "ID", "--force"}
	ReorderArgs(testGlobalFlags(), Commands(), in)
	if want := []string{"nook", "delete", "ID", "--force"}; !reflect.DeepEqual(in, want) {
		t.Errorf("ReorderArgs changed its input to %q", in)
	}
}

// parsed is what a command's action saw.
type parsed struct {
	args  []string
	flags map[string]any
}

// parseWith runs the reordered line through urfave/cli with nook's real
// command definitions, the actions replaced by one recording what they got.
func parseWith(t *testing.T, line []string, names ...string) (parsed, error) {
	t.Helper()
	var got parsed
	cmds := Commands()
	for _, c := range cmds {
		c.Action = func(ctx *ucli.Context) error {
			got.args = ctx.Args().Slice()
			got.flags = map[string]any{}
			for _, n := range names {
				if !ctx.IsSet(n) {
					continue
				}
				got.flags[n] = ctx.Value(n)
				if s, ok := got.flags[n].(ucli.StringSlice); ok {
					got.flags[n] = s.Value()
				}
			}
			return nil
		}
	}
	app := &ucli.App{Name: "nook", Writer: io.Discard, ErrWriter: io.Discard, Flags: testGlobalFlags(), Commands: cmds}
	full := append([]string{"nook"}, line...)
	err := app.Run(ReorderArgs(app.Flags, app.Commands, full))
	return got, err
}

func TestReorderedArgsParse(t *testing.T) {
	tests := []struct {
		line  []string
		args  []string
		flags map[string]any
	}{
		{[]string{"update", "ID", "--memory", "1g"}, []string{"ID"}, map[string]any{"memory": "1g"}},
		{[]string{"delete", "ID", "--force"}, []string{"ID"}, map[string]any{"force": true}},
		{[]string{"kill", "ID", "KILL", "--all"}, []string{"ID", "KILL"}, map[string]any{"all": true}},
		{[]string{"kill", "ID", "-9"}, []string{"ID", "-9"}, map[string]any{}},
		{[]string{"run", "ID", "-d", "--no-subreaper"}, []string{"ID"}, map[string]any{"detach": true, "no-subreaper": true}},
		{[]string{"exec", "ID", "--env", "X=1", "sh", "-c", "echo $X"}, []string{"ID", "sh", "-c", "echo $X"},
			map[string]any{"env": []string{"X=1"}}},
		{[]string{"exec", "ID", "ls", "-l"}, []string{"ID", "ls", "-l"}, map[string]any{}},
		{[]string{"exec", "ID", "-t", "ls", "--tty"}, []string{"ID", "ls", "--tty"}, map[string]any{"tty": true}},
		{[]string{"ps", "ID", "-f", "json"}, []string{"ID", "-f", "json"}, map[string]any{}},
		{[]string{"ps", "--format", "json", "ID"}, []string{"ID"}, map[string]any{"format": "json"}},
	}
	for _, tt := range tests {
		got, err := parseWith(t, tt.line, "memory", "force", "all", "detach", "no-subreaper", "env", "tty", "format")
		if err != nil {
			t.Errorf("nook %q: %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got.args, tt.args) {
			t.Errorf("nook %q: args %q, want %q", tt.line, got.args, tt.args)
		}
		if !reflect.DeepEqual(got.flags, tt.flags) {
			t.Errorf("nook %q: flags %v, want %v", tt.line, got.flags, tt.flags)
		}
	}
}

func TestReorderedArgsErrors(t *testing.T) {
	for line, want := range map[string]string{
		"delete ID --nope":   "flag provided but not defined: -nope",
		"update ID --memory": "flag needs an argument: -memory",
	} {
		_, err := parseWith(t, strings.Fields(line))
		if err == nil || err.Error() != want {
			t.Errorf("nook %s = %v, want %q", line, err, want)
		}
	}
}

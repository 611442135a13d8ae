package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
	}{
		{"KILL", unix.SIGKILL},
		{"SIGKILL", unix.SIGKILL},
		{"kill", unix.SIGKILL},
		{"sigkill", unix.SIGKILL},
		{"SigKill", unix.SIGKILL},
		{"TERM", unix.SIGTERM},
		{"sigterm", unix.SIGTERM},
		{"HUP", unix.SIGHUP},
		{"usr1", unix.SIGUSR1},
		{"SIGWINCH", unix.SIGWINCH},
		{"chld", unix.SIGCHLD},
		{"1", unix.SIGHUP},
		{"9", unix.SIGKILL},
		{"15", unix.SIGTERM},
		{"31", unix.SIGSYS},
		{"34", unix.Signal(34)}, // real-time signals by number
		{"64", unix.Signal(64)},
		{"0", 0}, // no signal: a liveness check, as runc
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		if err != nil {
			t.Errorf("ParseSignal(%q) = %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSignal(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSignalEveryName(t *testing.T) {
	// Every signal x/sys/unix names, in each spelling the function accepts.
	for sig := unix.Signal(1); sig <= 64; sig++ {
		name := unix.SignalName(sig)
		if name == "" {
			continue
		}
		short := strings.TrimPrefix(name, "SIG")
		for _, s := range []string{name, short, strings.ToLower(name), strings.ToLower(short)} {
			got, err := ParseSignal(s)
			if err != nil || got != sig {
				t.Errorf("ParseSignal(%q) = (%d, %v), want %d", s, got, err, sig)
			}
		}
	}
	for n := 1; n <= 64; n++ {
		got, err := ParseSignal(strconv.Itoa(n))
		if err != nil || got != unix.Signal(n) {
			t.Errorf("ParseSignal(%d) = (%d, %v), want %d", n, got, err, n)
		}
	}
}

func TestParseSignalErrors(t *testing.T) {
	for _, in := range []string{"65", "-1", "-9", "100", "99999999999999999999", "FOO", "SIGFOO", "", "SIG", "sig",
		" 9", "9 ", "KILL ", " KILL", "SIG KILL", "9x", "0x9", "KILL9"} {
		got, err := ParseSignal(in)
		if err == nil {
			t.Errorf("ParseSignal(%q) = %d, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), "unknown signal") {
			t.Errorf("ParseSignal(%q) error = %q, want it to say unknown signal", in, err)
		}
		if got != 0 {
			t.Errorf("ParseSignal(%q) returned signal %d with its error", in, got)
		}
	}
}

// runArgs runs a one-command app whose action is requireArgs(min, max).
func runArgs(t *testing.T, min, max int, args ...string) error {
	t.Helper()
	app := &ucli.App{
		Name:      "nook",
		Writer:    io.Discard,
		ErrWriter: io.Discard,
		Commands: []*ucli.Command{{
			Name:  "cmd",
			Flags: []ucli.Flag{&ucli.BoolFlag{Name: "force", Aliases: []string{"f"}}},
			Action: func(ctx *ucli.Context) error {
				return requireArgs(ctx, min, max)
			},
		}},
	}
	return app.Run(append([]string{"nook", "cmd"}, args...))
}

func TestRequireArgs(t *testing.T) {
	tests := []struct {
		min, max int
		args     []string
		want     string // "" for no error
	}{
		{1, 1, []string{"id"}, ""},
		{1, 1, nil, `"cmd" requires exactly 1 argument(s)`},
		{1, 1, []string{"a", "b"}, `"cmd" requires exactly 1 argument(s)`},
		{0, 0, nil, ""},
		{0, 0, []string{"x"}, `"cmd" requires exactly 0 argument(s)`},
		{1, 2, nil, `"cmd" requires a minimum of 1 argument(s)`},
		{1, 2, []string{"a"}, ""},
		{1, 2, []string{"a", "b"}, ""},
		{1, 2, []string{"a", "b", "c"}, `"cmd" requires a maximum of 2 argument(s)`},
		{1, -1, nil, `"cmd" requires a minimum of 1 argument(s)`},
		{1, -1, []string{"a", "b", "c", "d", "e"}, ""},
		{2, -1, []string{"a"}, `"cmd" requires a minimum of 2 argument(s)`},
		// Flags are not positional arguments.
		{1, 1, []string{"--force", "id"}, ""},
		{1, 1, []string{"-f"}, `"cmd" requires exactly 1 argument(s)`},
		{0, 0, []string{"--force"}, ""},
	}
	for _, tt := range tests {
		err := runArgs(t, tt.min, tt.max, tt.args...)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("requireArgs(%d, %d) with %q = %v, want nil", tt.min, tt.max, tt.args, err)
		case tt.want != "" && err == nil:
			t.Errorf("requireArgs(%d, %d) with %q = nil, want %q", tt.min, tt.max, tt.args, tt.want)
		case tt.want != "" && err.Error() != tt.want:
			t.Errorf("requireArgs(%d, %d) with %q = %q, want %q", tt.min, tt.max, tt.args, err, tt.want)
		}
	}
}

// runNook runs nook's real commands with the state root in a temp dir. Only
// paths that fail before doing anything to a container are used here.
func runNook(t *testing.T, root string, args ...string) error {
	t.Helper()
	app := &ucli.App{
		Name:      "nook",
		Writer:    io.Discard,
		ErrWriter: io.Discard,
		Metadata:  map[string]any{},
		Flags:     []ucli.Flag{&ucli.StringFlag{Name: "root", Value: DefaultRoot}},
		Commands:  Commands(),
	}
	return app.Run(ReorderArgs(app.Flags, app.Commands, append([]string{"nook", "--root", root}, args...)))
}

func TestCommandsCheckArgs(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"start"}, `"start" requires exactly 1 argument(s)`},
		{[]string{"delete", "a", "b"}, `"delete" requires exactly 1 argument(s)`},
		{[]string{"state"}, `"state" requires exactly 1 argument(s)`},
		{[]string{"create"}, `"create" requires exactly 1 argument(s)`},
		{[]string{"run"}, `"run" requires exactly 1 argument(s)`},
		{[]string{"kill"}, `"kill" requires a minimum of 1 argument(s)`},
		{[]string{"kill", "a", "KILL", "extra"}, `"kill" requires a maximum of 2 argument(s)`},
		{[]string{"list", "extra"}, `"list" requires exactly 0 argument(s)`},
		{[]string{"kill", "someid", "FOO"}, `unknown signal "FOO"`},
		{[]string{"kill", "someid", "65"}, `unknown signal "65"`},
		{[]string{"kill", "someid", "-1"}, `unknown signal "-1"`},
		{[]string{"delete", "a", "--force", "b"}, `"delete" requires exactly 1 argument(s)`},
		{[]string{"kill", "someid", "KILL", "--all", "x"}, `"kill" requires a maximum of 2 argument(s)`},
	}
	for _, tt := range tests {
		err := runNook(t, root, tt.args...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("nook %s = %v, want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	// None of that created anything under the state root.
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("state root has %d entries after argument errors", len(entries))
	}
}

func TestCommandsMissingContainer(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{"state", "nope"}, {"kill", "nope"}, {"kill", "nope", "9"}, {"start", "nope"}, {"delete", "nope"},
		// Flags after the id, as runc takes them.
		{"kill", "nope", "KILL", "--all"}, {"kill", "nope", "0"}, {"update", "nope", "--memory", "1000000"},
		{"pause", "nope"}, {"ps", "nope", "-ef"}, {"events", "nope", "--stats"},
		// A container may be named h or help: no help subcommand hides it.
		{"delete", "h"}, {"state", "help"}, {"kill", "h", "KILL"},
	} {
		err := runNook(t, root, args...)
		if !errors.Is(err, libcontainer.ErrNotExist) {
			t.Errorf("nook %s = %v, want ErrNotExist", strings.Join(args, " "), err)
		}
	}
	if err := runNook(t, root, "delete", "nope", "--force"); err != nil {
		t.Errorf("nook delete nope --force = %v, want nil (as delete --force nope)", err)
	}
	for _, args := range [][]string{{"state", "../x"}, {"kill", "a/b"}, {"delete", ".."}} {
		err := runNook(t, root, args...)
		if err == nil || !strings.Contains(err.Error(), "invalid container id") {
			t.Errorf("nook %s = %v, want an invalid id error", strings.Join(args, " "), err)
		}
	}
}

func TestListMissingRoot(t *testing.T) {
	// As runc: a --root given that does not exist is an error, not an
	// empty list (a typo must not look like "no containers").
	missing := filepath.Join(t.TempDir(), "missing")
	err := runNook(t, missing, "list")
	if err == nil || err.Error() != "open "+missing+": no such file or directory" {
		t.Errorf("list --root %s = %v, want runc's open error", missing, err)
	}
	if err := runNook(t, t.TempDir(), "list", "-q"); err != nil {
		t.Errorf("list of an empty root = %v", err)
	}
}

func TestRootDir(t *testing.T) {
	var got libcontainer.Root
	app := &ucli.App{
		Name:      "nook",
		Writer:    io.Discard,
		ErrWriter: io.Discard,
		Flags:     []ucli.Flag{&ucli.StringFlag{Name: "root"}},
		Action: func(ctx *ucli.Context) error {
			got = root(ctx)
			return nil
		},
	}
	if err := app.Run([]string{"nook"}); err != nil {
		t.Fatal(err)
	}
	if got.Dir() != DefaultRoot {
		t.Errorf("root without --root = %q, want %q", got.Dir(), DefaultRoot)
	}
	if err := app.Run([]string{"nook", "--root", "/some/abs"}); err != nil {
		t.Fatal(err)
	}
	if got.Dir() != "/some/abs" {
		t.Errorf("root = %q, want /some/abs", got.Dir())
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Run([]string{"nook", "--root", "rel/dir"}); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "rel/dir"); got.Dir() != want {
		t.Errorf("relative root = %q, want %q (made absolute)", got.Dir(), want)
	}
}

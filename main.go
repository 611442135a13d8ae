// nook is an OCI runtime-spec low-level container runtime with runc's
// command line. main builds the CLI app and sets up logging; the commands are
// in cli/, the container in libcontainer/.
//
// The go:debug lines below keep start-up short: every command is a new
// process, and the Go runtime would otherwise size GOMAXPROCS from the
// host's cgroup limits, start a goroutine to follow them, and name each of
// its memory mappings with a prctl.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/sirupsen/logrus"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/cli"
	_ "github.com/nookrt/nook/fastcmd" // state, start, kill, delete and list served before the Go runtime (fastcmd.c)
	"github.com/nookrt/nook/libcontainer/containerinit"
	_ "github.com/nookrt/nook/nsenter" // the namespace constructor must be linked in
	"github.com/nookrt/nook/seccomp"
	"github.com/nookrt/nook/spec"
	_ "github.com/nookrt/nook/startup" // the start-up constructors (one P, a lazy sysmon)
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func main() {
	// A container init never parses the command line: nsenter has already
	// joined its namespaces and it goes straight to the Go half.
	if containerinit.IsInit() {
		containerinit.RunInit()
	}
	os.Exit(run(os.Args))
}

func run(args []string) int {
	app := newApp()
	err := app.Run(cli.ReorderArgs(app.Flags, app.Commands, args))
	if err == nil {
		return 0
	}
	var exit *cli.ExitStatus
	if errors.As(err, &exit) {
		return exit.Code
	}
	log := loggerOf(app)
	if _, isJSON := log.Formatter.(*logrus.JSONFormatter); isJSON {
		// A stable kind (and the config field) for engines and scripts to
		// branch on; the text format stays as it was, for people.
		kind, field := cli.ErrorKind(err)
		entry := log.WithField("kind", kind)
		if field != "" {
			entry = entry.WithField("field", field)
		}
		entry.Error(err)
	} else {
		log.Error(err)
	}
	// With --log FILE the error line goes there (engines read it) and the
	// plain message to stderr (conmon forwards stderr).
	if log.Out != os.Stderr {
		fmt.Fprintln(os.Stderr, err)
	}
	var coded *cli.CodedError
	if errors.As(err, &coded) {
		return coded.Code
	}
	return 1
}

func loggerOf(app *ucli.App) *logrus.Logger {
	if l, ok := app.Metadata["logger"].(*logrus.Logger); ok {
		return l
	}
	l := logrus.New()
	l.Out = os.Stderr
	return l
}

func newApp() *ucli.App {
	app := &ucli.App{
		Name:     "nook",
		Usage:    "an OCI container runtime",
		Version:  version,
		Metadata: map[string]any{},
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "root", Value: cli.DefaultRootDir(), Usage: "directory for container state"},
			&ucli.StringFlag{Name: "log", Usage: "log file (default: stderr)"},
			&ucli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&ucli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&ucli.BoolFlag{Name: "systemd-cgroup", Usage: "manage cgroups through systemd's D-Bus API (linux.cgroupsPath is slice:prefix:name)"},
			&ucli.StringFlag{Name: "rootless", Value: "auto", Usage: "tolerate cgroup permission errors of a config without limits: true, false or auto (unprivileged, or root in a user namespace)"},
			&ucli.StringFlag{Name: "criu", Value: "criu", Usage: "CRIU binary for checkpoint and restore (a bare name is looked up in PATH)"},
		},
		Commands: cli.Commands(),
		// Errors are printed once, by run(), in the format engines parse.
		ExitErrHandler: func(*ucli.Context, error) {},
		Before:         setupLogging,
	}
	// --version and -v, as runc (which has no version command).
	ucli.VersionPrinter = func(ctx *ucli.Context) {
		fmt.Fprintf(ctx.App.Writer, "nook version %s\ncommit: %s\nspec: %s\ngo: %s\nlibseccomp: %s\n",
			version, commit, spec.RuntimeSpecVersion, runtime.Version(), seccomp.LibseccompVersion())
	}
	return app
}

func setupLogging(ctx *ucli.Context) error {
	l := logrus.New()
	l.Out = os.Stderr
	ctx.App.Metadata["logger"] = l
	switch ctx.String("log-format") {
	case "text":
		l.Formatter = &logrus.TextFormatter{DisableColors: true, FullTimestamp: true}
	case "json":
		l.Formatter = &logrus.JSONFormatter{}
	default:
		return fmt.Errorf("invalid --log-format %q: must be text or json", ctx.String("log-format"))
	}
	if ctx.Bool("debug") {
		l.Level = logrus.DebugLevel
	}
	if path := ctx.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file %s: %w", path, err)
		}
		l.Out = io.Writer(f)
	}
	return nil
}

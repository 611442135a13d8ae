package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/sigcatch"
	"github.com/nookrt/nook/spec"
)

func execCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "exec",
		Usage:     "run a new process in a running container (exit status is the process's)",
		ArgsUsage: "<container-id> <command> [args...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "path to an OCI process JSON file (replaces the command line's process)"},
			&ucli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
			&ucli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master (with --tty)"},
			&ucli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the process"},
			&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs; do not wait for it"},
			&ucli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
			&ucli.StringFlag{Name: "cwd", Usage: "working directory inside the container"},
			&ucli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE; repeatable)"},
			&ucli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid] to run as"},
			&ucli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gid (repeatable)"},
			&ucli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability (repeatable)"},
			&ucli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
			&ucli.StringFlag{Name: "apparmor", Usage: "AppArmor profile for the process"},
			&ucli.StringFlag{Name: "process-label", Usage: "SELinux label for the process"},
			&ucli.UintFlag{Name: "preserve-fds", Usage: "pass this many extra fds (from 3 up) to the process"},
			&ucli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
			&ucli.StringSliceFlag{Name: "cgroup", Usage: "run in this sub-cgroup of the container (path, or controller[,controller]:path)"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, -1); err != nil {
				return err
			}
			if ctx.String("process") == "" && ctx.NArg() < 2 {
				return errors.New(`"exec" requires a command to run (or --process)`)
			}
			err := execProcess(ctx)
			var exit *ExitStatus
			if err == nil || errors.As(err, &exit) {
				return err // the process's own status
			}
			// The runtime failed, not the process: 255, as runc.
			return &CodedError{Code: 255, Err: err}
		},
	}
}

func execProcess(ctx *ucli.Context) error {
	id := ctx.Args().First()
	if err := libcontainer.ValidateID(id); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 32)
	if !ctx.Bool("detach") {
		// Caught before the process exists; never stopped: the command
		// exits once the process has.
		if _, err := sigcatch.Start(sigs); err != nil {
			return err
		}
	}
	var term *runTerminal
	// A closure: term is set by prepare, after the defer statement.
	defer func() { term.close() }()
	// The container's lock is held while prepare runs and Exec brings the
	// process in, and released before the process is waited for.
	prepare := func(current *specs.Spec, o *libcontainer.ExecOptions) error {
		proc, err := execSpec(ctx, current)
		if err != nil {
			return err
		}
		o.Process = proc
		if proc.Terminal && o.ConsoleSocket == "" {
			if ctx.Bool("detach") {
				return errors.New("exec --tty --detach needs a --console-socket to hand the terminal to")
			}
			if term, err = listenTerminal(); err != nil {
				return err
			}
			o.ConsoleSocket, o.RelayConsole = term.path, true
		}
		return nil
	}
	pid, err := root(ctx).Exec(id, libcontainer.ExecOptions{
		ConsoleSocket: ctx.String("console-socket"),
		PidFile:       ctx.String("pid-file"),
		PreserveFds:   int(ctx.Uint("preserve-fds")),
		Cgroup:        ctx.StringSlice("cgroup"),
		IgnorePaused:  ctx.Bool("ignore-paused"),
		Warn:          warnFunc(ctx),
		Debug:         logger(ctx).Debugf,
		PidfdSocket:   ctx.String("pidfd-socket"),
	}, prepare)
	if err != nil {
		return err
	}
	if err := term.accept(); err != nil {
		return err
	}
	if ctx.Bool("detach") {
		return nil
	}
	term.relay()
	code, err := waitForward(pid, sigs, term.resize)
	if err != nil {
		return err
	}
	term.drain()
	if code != 0 {
		return &ExitStatus{Code: code}
	}
	return nil
}

// execSpec is the process to exec: --process's JSON, or the container's
// process with the command line's command and overrides.
func execSpec(ctx *ucli.Context, cfg *specs.Spec) (*specs.Process, error) {
	if path := ctx.String("process"); path != "" {
		b, err := spec.ReadRegularFile(path)
		if err != nil {
			return nil, fmt.Errorf("--process %s: %w", path, err)
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("--process %s: not an OCI process JSON: %w", path, err)
		}
		return &p, nil
	}
	var p specs.Process
	if cfg != nil && cfg.Process != nil {
		// A deep copy: the record's process must not change.
		b, _ := json.Marshal(cfg.Process)
		json.Unmarshal(b, &p)
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	p.Args = ctx.Args().Tail()
	p.Terminal = ctx.Bool("tty")
	p.ConsoleSize = nil
	// The container's capabilities, inheritable and ambient sets included
	// (runc 1.5). --cap adds to the sets that take effect and, when the
	// config has an inheritable set, to the ambient one, as runc does; a
	// capability that is not inheritable cannot be ambient, and is left
	// out of it with a warning (caps.FromSpec). --cap never makes one
	// inheritable (CVE-2022-29162).
	if p.Capabilities != nil {
		for _, c := range ctx.StringSlice("cap") {
			c = strings.ToUpper(c)
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			p.Capabilities.Bounding = append(p.Capabilities.Bounding, c)
			p.Capabilities.Effective = append(p.Capabilities.Effective, c)
			p.Capabilities.Permitted = append(p.Capabilities.Permitted, c)
			if p.Capabilities.Inheritable != nil {
				p.Capabilities.Ambient = append(p.Capabilities.Ambient, c)
			}
		}
	}
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	p.Env = append(p.Env, ctx.StringSlice("env")...)
	if u := ctx.String("user"); u != "" {
		uidStr, gidStr, hasGid := strings.Cut(u, ":")
		uid, err := strconv.ParseUint(uidStr, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: want uid[:gid] as numbers", u)
		}
		p.User = specs.User{UID: uint32(uid)}
		if hasGid {
			gid, err := strconv.ParseUint(gidStr, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: want uid[:gid] as numbers", u)
			}
			p.User.GID = uint32(gid)
		}
	}
	for _, g := range ctx.StringSlice("additional-gids") {
		gid, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids %q: not a number", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
	}
	if ctx.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if a := ctx.String("apparmor"); a != "" {
		p.ApparmorProfile = a
	}
	if l := ctx.String("process-label"); l != "" {
		p.SelinuxLabel = l
	}
	return &p, nil
}

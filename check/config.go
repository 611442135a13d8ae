package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/spec"
)

// checkConfig reads, decodes and validates config.json; it returns false
// when there is no decoded config to check further.
func (c *checker) checkConfig() bool {
	cfg, err := spec.Read(c.bundle)
	if err != nil {
		c.add(Finding{Kind: "config.unreadable", Severity: Error, Message: err.Error(),
			Hint: "give the bundle directory (holding config.json) with --bundle"})
		return false
	}
	c.data, err = spec.ReadRegularFile(filepath.Join(c.bundle, "config.json"))
	if err != nil {
		c.add(Finding{Kind: "config.unreadable", Severity: Error, Message: err.Error()})
		return false
	}
	c.walkKeys()
	_, perr := cfg.Parse()
	var s specs.Spec
	if err := json.Unmarshal(c.data, &s); err != nil {
		c.add(syntaxFinding(configMessage(perr, err)))
		return false
	}
	c.spec = &s
	if perr != nil {
		// Validate reports the first problem it meets only.
		c.addErr("config.invalid", Error, errors.New(configMessage(perr, perr)), "fix this field; create refuses the config")
	}
	if rootfs, err := spec.ResolveRootfs(&s, c.bundle); err == nil {
		c.rootfs = rootfs
	}
	c.checkCreate()
	c.checkUserns()
	c.checkTerminal()
	return true
}

// syntaxFinding is a config that does not decode: Parse's message carries
// the line and column of the mistake (and the field of a type error).
func syntaxFinding(msg string) Finding {
	f := Finding{Kind: "config.syntax", Severity: Error,
		Hint: "fix config.json there; nothing else can be checked until it decodes"}
	// "line N, column M: " (spec's decode errors).
	if pos, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(pos, "line ") {
		var line, col int
		if n, _ := fmt.Sscanf(pos, "line %d, column %d", &line, &col); n == 2 {
			f.Line, f.Column, msg = line, col, rest
		}
	}
	if field := fieldOf(msg); field != "" {
		f.Field = field
		msg = strings.TrimLeft(strings.TrimPrefix(msg, field), ": ")
	}
	f.Message = msg
	return f
}

// configMessage is err without the "config PATH: " prefix (the report
// names config.json once); fallback when err is nil.
func configMessage(err, fallback error) string {
	if err == nil {
		err = fallback
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "config "); ok {
		if _, after, ok := strings.Cut(rest, "config.json: "); ok {
			return after
		}
	}
	return msg
}

// checkCreate runs create's own checks (libcontainer.Validate): the first
// problem, and create's warnings. Sysctls are reported one by one by the
// host checks, so their error is not repeated here.
func (c *checker) checkCreate() {
	rootfs := c.rootfs
	if rootfs == "" {
		rootfs = filepath.Join(c.bundle, "rootfs")
	}
	// Validate normalises mount destinations: on a copy, so that the
	// other checks see the config as written.
	cp := *c.spec
	cp.Mounts = append([]specs.Mount(nil), c.spec.Mounts...)
	warnings, err := libcontainer.Validate(&cp, rootfs)
	for _, w := range warnings {
		c.addErr("config.deprecated", Warning, errors.New(w), "")
	}
	switch {
	case err == nil, strings.HasPrefix(err.Error(), "linux.sysctl"):
	case strings.HasPrefix(err.Error(), "process.apparmorProfile"):
		c.addErr("host.apparmor-unavailable", Error, err, "load the profile on this host, or remove process.apparmorProfile")
	default:
		c.addErr("config.invalid", Error, err, "fix this field; create refuses the config")
	}
	if err := libcontainer.ValidateRootless(&cp); err != nil {
		c.addErr("host.rootless", Error, err, "change the config as it says, or run nook as root")
	}
}

// checkUserns: a user namespace nook creates needs both mappings, and the
// process's ids must be mapped in it.
func (c *checker) checkUserns() {
	l := c.spec.Linux
	if l == nil {
		return
	}
	created := false
	for _, ns := range l.Namespaces {
		if ns.Type == specs.UserNamespace && ns.Path == "" {
			created = true
		}
	}
	if !created {
		return
	}
	switch {
	case len(l.UIDMappings) == 0 && len(l.GIDMappings) == 0:
		c.add(Finding{Kind: "config.userns-without-mappings", Severity: Error, Field: "linux.namespaces",
			Message: "a new user namespace is created but linux.uidMappings and linux.gidMappings are empty, so every id in it is unmapped (nobody)",
			Hint:    "add linux.uidMappings and linux.gidMappings, or give the user namespace a path to join"})
		return
	case len(l.UIDMappings) == 0:
		c.add(Finding{Kind: "config.userns-without-mappings", Severity: Error, Field: "linux.gidMappings",
			Message: "linux.gidMappings is set but linux.uidMappings is empty", Hint: "add linux.uidMappings"})
		return
	case len(l.GIDMappings) == 0:
		c.add(Finding{Kind: "config.userns-without-mappings", Severity: Error, Field: "linux.uidMappings",
			Message: "linux.uidMappings is set but linux.gidMappings is empty", Hint: "add linux.gidMappings"})
		return
	}
	p := c.spec.Process
	if p == nil || p.User.Username != "" {
		return // resolved in the rootfs: see checkUser
	}
	if !mapped(l.UIDMappings, p.User.UID) {
		c.add(Finding{Kind: "config.user-not-mapped", Severity: Error, Field: "process.user.uid",
			Message: fmt.Sprintf("uid %d is not mapped by linux.uidMappings", p.User.UID),
			Hint:    "map it in linux.uidMappings, or run as a mapped uid"})
	}
	if !mapped(l.GIDMappings, p.User.GID) {
		c.add(Finding{Kind: "config.user-not-mapped", Severity: Error, Field: "process.user.gid",
			Message: fmt.Sprintf("gid %d is not mapped by linux.gidMappings", p.User.GID),
			Hint:    "map it in linux.gidMappings, or run as a mapped gid"})
	}
}

func mapped(ms []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range ms {
		if uint64(id) >= uint64(m.ContainerID) && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// checkTerminal: a terminal needs someone to hold its other end.
func (c *checker) checkTerminal() {
	p := c.spec.Process
	switch {
	case p == nil:
	case p.Terminal:
		c.add(Finding{Kind: "config.terminal-needs-console", Severity: Warning, Field: "process.terminal",
			Message: "is true: `nook create` and `nook run --detach` need --console-socket to hand the terminal to; only a foreground `nook run` holds it itself",
			Hint:    "pass --console-socket (engines do), or set process.terminal to false"})
	case p.ConsoleSize != nil:
		c.add(Finding{Kind: "config.console-size-ignored", Severity: Warning, Field: "process.consoleSize",
			Message: "process.consoleSize is ignored without process.terminal",
			Hint:    "remove it, or set process.terminal to true"})
	}
}

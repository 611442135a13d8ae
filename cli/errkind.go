package cli

import (
	"errors"
	"regexp"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/spec"
)

// The kinds an error line carries with --log-format json, so that engines
// and scripts can branch on them instead of matching text. They are part of
// nook's interface: add kinds, never rename one.
const (
	KindNotFound          = "not-found"
	KindNotRunning        = "not-running"
	KindAlreadyExists     = "already-exists"
	KindInvalidConfig     = "invalid-config"
	KindUnsupportedByHost = "unsupported-by-host"
	KindPermission        = "permission"
	KindBusy              = "busy"
	KindInternal          = "internal"
)

// ErrorKind classifies a command's error, and names the config field it is
// about where its message starts with one (nook's config errors all do).
// Only the failure path calls it: nothing here costs a successful command.
func ErrorKind(err error) (kind, field string) {
	field = configField(err.Error())
	var cfg *spec.ConfigError
	switch {
	case errors.Is(err, libcontainer.ErrNotExist):
		return KindNotFound, ""
	case errors.Is(err, libcontainer.ErrNotRunning):
		return KindNotRunning, ""
	case errors.Is(err, libcontainer.ErrExist):
		return KindAlreadyExists, ""
	case errors.Is(err, libcontainer.ErrBusy):
		return KindBusy, ""
	case errors.As(err, &cfg):
		return KindInvalidConfig, field
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
		return KindPermission, field
	case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODEV):
		return KindUnsupportedByHost, field
	case field != "":
		return KindInvalidConfig, field
	}
	return KindInternal, ""
}

// fieldAtStart matches a config.json field path at the start of a message
// (after nook's "config <path>: " and the init's wrapping), e.g.
// "linux.resources.memory.limit", "mounts[3]", "process.args[0]". It is
// compiled on the failure path only: a package-level regexp would cost
// every nook command its compilation at start-up.
const fieldAtStart = `^(?:config \S+: )?(?:[a-z ]+: )*((?:ociVersion|process|root|mounts|hooks|annotations|hostname|domainname|linux)(?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)(?:[ :]|$)`

func configField(msg string) string {
	m := regexp.MustCompile(fieldAtStart).FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return m[1]
}

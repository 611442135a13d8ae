package cli

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/spec"
)

func TestErrorKind(t *testing.T) {
	for _, tc := range []struct {
		err         error
		kind, field string
	}{
		{libcontainer.ErrNotExist, KindNotFound, ""},
		{fmt.Errorf("kill: %w", libcontainer.ErrNotRunning), KindNotRunning, ""},
		{libcontainer.ErrExist, KindAlreadyExists, ""},
		{fmt.Errorf("lock: %w", libcontainer.ErrBusy), KindBusy, ""},
		{&spec.ConfigError{Path: "/b/config.json", Err: errors.New("process.oomScoreAdj 5000: must be between -1000 and 1000")}, KindInvalidConfig, "process.oomScoreAdj"},
		{&spec.ConfigError{Path: "/b/config.json", Err: errors.New("linux.resources.memory.limit: too small")}, KindInvalidConfig, "linux.resources.memory.limit"},
		{&spec.ConfigError{Path: "/b/config.json", Err: unix.ENOENT}, KindInvalidConfig, ""},
		{errors.New("mounts[3]: bind source: stat /x: no such file or directory"), KindInvalidConfig, "mounts[3]"},
		{fmt.Errorf("unable to start container process: error during container init: %w", errors.New("process.args[0] is missing")), KindInvalidConfig, "process.args[0]"},
		{fmt.Errorf("open state: %w", unix.EACCES), KindPermission, ""},
		{fmt.Errorf("linux.intelRdt: %w", unix.EOPNOTSUPP), KindUnsupportedByHost, "linux.intelRdt"},
		{errors.New("something broke"), KindInternal, ""},
		{errors.New("become root of the user namespace: invalid argument"), KindInternal, ""},
	} {
		kind, field := ErrorKind(tc.err)
		if kind != tc.kind || field != tc.field {
			t.Errorf("ErrorKind(%q) = %s, %q; want %s, %q", tc.err, kind, field, tc.kind, tc.field)
		}
	}
}

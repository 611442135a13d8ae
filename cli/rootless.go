package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/userns"
)

// DefaultRootDir is the --root default for the caller, by runc's rule: an
// unprivileged user's state lives in $XDG_RUNTIME_DIR/nook (a per-user
// tmpfs), root's in /run/nook. Root inside a user namespace (rootless
// podman's "unshare" mode) uses $XDG_RUNTIME_DIR too, unless $USER says it
// is the real root.
func DefaultRootDir() string {
	if dir, ok := xdgRoot(); ok {
		return dir
	}
	return DefaultRoot
}

// xdgRoot is $XDG_RUNTIME_DIR/nook when the caller's state belongs there.
func xdgRoot() (string, bool) {
	xdg := os.Getenv("XDG_RUNTIME_DIR")
	if xdg == "" || !honorsXDG() {
		return "", false
	}
	return filepath.Join(xdg, "nook"), true
}

func honorsXDG() bool {
	if os.Geteuid() != 0 {
		return true
	}
	if !userns.RunningInUserNS() {
		return false
	}
	u, ok := os.LookupEnv("USER")
	return !ok || u != "root"
}

// ensureXDGRoot makes the default state root in $XDG_RUNTIME_DIR: the XDG
// spec prunes what lacks the sticky bit there. Errors are left to the first
// use of the root, which names the path.
func ensureXDGRoot(root string) {
	if os.MkdirAll(root, 0o700) == nil {
		_ = os.Chmod(root, 0o700|os.ModeSticky)
	}
}

// rootlessCgroups resolves --rootless (true, false or auto) as runc does:
// it says whether cgroup permission errors are tolerated. auto is true for
// an unprivileged user and for root inside a user namespace, which may not
// own the cgroups it sees.
func rootlessCgroups(ctx *ucli.Context) (bool, error) {
	v := ctx.String("rootless")
	if v == "" || strings.EqualFold(v, "auto") {
		return os.Geteuid() != 0 || userns.RunningInUserNS(), nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid --rootless %q: must be true, false or auto", v)
	}
	return b, nil
}

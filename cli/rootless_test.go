package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer/userns"
)

// rootlessOf runs an app with nook's --rootless flag and returns what
// rootlessCgroups made of it.
func rootlessOf(t *testing.T, args ...string) (bool, error) {
	t.Helper()
	var got bool
	var gotErr error
	app := &ucli.App{
		Name: "nook", Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "rootless", Value: "auto"}},
		Action: func(ctx *ucli.Context) error {
			got, gotErr = rootlessCgroups(ctx)
			return nil
		},
	}
	if err := app.Run(append([]string{"nook"}, args...)); err != nil {
		t.Fatal(err)
	}
	return got, gotErr
}

func TestRootlessFlag(t *testing.T) {
	auto := os.Geteuid() != 0 || userns.RunningInUserNS()
	for _, c := range []struct {
		args []string
		want bool
	}{
		{nil, auto},
		{[]string{"--rootless", "auto"}, auto},
		{[]string{"--rootless", "AUTO"}, auto},
		{[]string{"--rootless", "true"}, true},
		{[]string{"--rootless=1"}, true},
		{[]string{"--rootless", "false"}, false},
	} {
		got, err := rootlessOf(t, c.args...)
		if err != nil || got != c.want {
			t.Errorf("%q: rootless = %v, %v; want %v", c.args, got, err, c.want)
		}
	}
	if _, err := rootlessOf(t, "--rootless", "maybe"); err == nil || err.Error() != `invalid --rootless "maybe": must be true, false or auto` {
		t.Errorf("--rootless maybe: error = %v", err)
	}
}

// Root outside a user namespace keeps /run/nook whatever XDG_RUNTIME_DIR
// says (runc's rule); the unprivileged cases run in the integration tests.
func TestDefaultRootDirForRoot(t *testing.T) {
	if os.Geteuid() != 0 || userns.RunningInUserNS() {
		t.Skip("needs real root (uid 0 in the initial user namespace)")
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if got := DefaultRootDir(); got != DefaultRoot {
		t.Errorf("DefaultRootDir() = %q, want %q", got, DefaultRoot)
	}
}

func TestEnsureXDGRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "nook")
	ensureXDGRoot(root)
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("mode = %v, want drwx-----T", fi.Mode())
	}
}

func TestRunningInUserNSParses(t *testing.T) {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		t.Skip(err)
	}
	identity := strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
	if userns.RunningInUserNS() == identity {
		t.Errorf("userns.RunningInUserNS() = %v for uid_map %q", userns.RunningInUserNS(), b)
	}
}

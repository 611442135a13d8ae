// Package fault injects failures into nook's lifecycle: SIGKILL of a nook
// command or of the container's init at random points, many containers at
// once, and racing commands on one id. Whatever happens, `delete --force`
// must clean up and nothing may be left: no state dir, mount, cgroup or
// process. It needs root and /bin/busybox; without them the tests skip.
//
//	go test ./tests/fault/ -count=1
//	NOOK_FAULT_N=1000 NOOK_FAULT_SEED=42 go test ./tests/fault/ -run KillAtRandomPoints -count=1
//
// fuzz.sh here runs nook's fuzz targets for a set time (see its header).
package fault

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nookrt/nook/tests/harness"
)

var (
	suite *harness.Suite
	// skip is set when the machine cannot run these tests.
	skip string
)

func TestMain(m *testing.M) {
	os.Exit(harness.Run(m, harness.Config{Prefix: "nook-fault-"}, &suite, &skip))
}

func newEnv(t *testing.T) *harness.Env {
	t.Helper()
	if skip != "" {
		t.Skip(skip)
	}
	t.Parallel()
	return suite.NewEnv(t)
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// checkClean: a command may lose a race (exit 1 with one error line) but
// never crash, hang or exit otherwise.
func checkClean(t testing.TB, r harness.Result) {
	t.Helper()
	switch {
	case r.Crashed():
		t.Errorf("crash: %s", r)
	case r.Code == 0:
	case r.Code == 1:
		if n := len(harness.NonEmptyLines(r.Stderr)); n != 1 {
			t.Errorf("want one error line, got %d: %s", n, r)
		}
	default:
		t.Errorf("exit %d: %s", r.Code, r)
	}
}

// gone checks that nook no longer knows id.
func gone(e *harness.Env, id string) {
	e.T.Helper()
	r := e.Nook("state", id)
	if r.Code != 1 || !strings.Contains(r.Stderr, "does not exist") {
		e.T.Errorf("state after delete --force: %s", r)
	}
}

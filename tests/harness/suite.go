// Package harness is the one test harness of tests/integration,
// tests/security and tests/fault: it builds nook from this checkout (or
// copies $NOOK_BINARY) into a private directory, makes a busybox rootfs, runs
// nook with a test's own --root and checks that a test left nothing behind
// (state dirs, processes, mounts, cgroups).
//
// It is an ordinary package (test files of one package cannot be imported by
// another) used only by tests; nothing in nook imports it.
package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// BusyboxHost is the static busybox every rootfs is made from.
const BusyboxHost = "/bin/busybox"

// Suite is one test binary's world: the nook it tests, the master rootfs and
// the base config every bundle starts from.
type Suite struct {
	// Dir is private to this test binary and removed by Close.
	Dir string
	// Nook is the nook binary built from this checkout.
	Nook string
	// Rootfs is the master busybox rootfs; bundles get copies.
	Rootfs string
	// LinkRootfs makes bundles hard-link the master rootfs's files instead
	// of copying them: much faster, for suites whose containers never write
	// a rootfs file in place (security's attacks do, so it copies).
	LinkRootfs bool
	// base is `nook spec` with terminal false, as JSON.
	base []byte

	mu sync.Mutex
	// envDirs are the dirs of every env, for the final sweep.
	envDirs []string
}

// Config says how Run sets up a suite.
type Config struct {
	// Prefix names the suite's temporary directory.
	Prefix string
	// LinkRootfs: see Suite.
	LinkRootfs bool
}

// Run is a TestMain body: it sets up the suite (or a skip reason when the
// machine cannot run real containers), runs the tests and then fails the run
// if anything of the suite is left on the machine.
func Run(m *testing.M, c Config, suite **Suite, skip *string) int {
	s, reason, err := Setup(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness setup:", err)
		return 1
	}
	*suite, *skip = s, reason
	if s == nil {
		return m.Run()
	}
	defer s.Close()
	code := m.Run()
	if left := s.leftovers(); len(left) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: left behind after all tests:")
		for _, l := range left {
			fmt.Fprintln(os.Stderr, "  ", l)
		}
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Setup prepares a suite. It returns a non-empty skip reason when the machine
// lacks what real containers need (root, busybox); err is a real failure.
func Setup(c Config) (s *Suite, skip string, err error) {
	if os.Geteuid() != 0 {
		return nil, "these tests run real containers and need root (run as uid 0)", nil
	}
	if _, err := os.Stat(BusyboxHost); err != nil {
		return nil, BusyboxHost + " is missing (install busybox-static)", nil
	}
	// Engines are subreapers: a container's init is re-parented to the
	// caller when `create` exits, and so is anything a killed nook orphans.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, "", fmt.Errorf("set child subreaper: %w", err)
	}
	go reapForever()
	dir, err := os.MkdirTemp("", c.Prefix)
	if err != nil {
		return nil, "", err
	}
	s = &Suite{Dir: dir, LinkRootfs: c.LinkRootfs}
	if err := s.build(); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return s, "", nil
}

func (s *Suite) build() error {
	repo, err := RepoRoot()
	if err != nil {
		return err
	}
	s.Nook = filepath.Join(s.Dir, "nook")
	if err := BuildNook(repo, s.Nook); err != nil {
		return err
	}
	s.Rootfs = filepath.Join(s.Dir, "rootfs")
	if err := MakeBusyboxRootfs(s.Rootfs); err != nil {
		return fmt.Errorf("busybox rootfs: %w", err)
	}
	return s.loadBase()
}

// reapForever reaps orphaned zombie children as they appear, as a shim does.
// It matters beyond tidiness: when pid 1 of a pid namespace is killed, the
// kernel waits until every other process of that namespace has been reaped,
// and a member whose parent is this process (a container that joined another
// one's pid namespace) is reaped only here.
func reapForever() {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD)
	tick := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case <-sigs:
		case <-tick.C:
		}
		ReapOrphans()
	}
}

// Close removes the suite's directory.
func (s *Suite) Close() { os.RemoveAll(s.Dir) }

// RepoRoot is the module root: two levels above this file.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the harness source")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("no go.mod in %s (expected the repository root): %w", root, err)
	}
	return root, nil
}

const passwd = `root:x:0:0:root:/root:/bin/sh
nobody:x:1000:1000:nobody:/tmp:/bin/sh
`

// group gives nobody supplementary groups (wheel) for the user tests.
const group = `root:x:0:
wheel:x:10:nobody
users:x:20:
nobody:x:1000:
`

// MakeBusyboxRootfs copies /bin/busybox into dir/bin and links every applet
// to it.
func MakeBusyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "etc", "proc", "dev", "sys", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	data, err := os.ReadFile(BusyboxHost)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(BusyboxHost, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		// The list names busybox itself: a symlink there would replace
		// the binary with a link to itself.
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "etc", "group"), []byte(group), 0o644)
}

// loadBase keeps what `nook spec` writes, made usable without a terminal.
func (s *Suite) loadBase() error {
	dir := filepath.Join(s.Dir, "spec")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command(s.Nook, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("nook spec: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return err
	}
	var sp specs.Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return fmt.Errorf("parse nook spec output: %w", err)
	}
	sp.Version = "1.3.0"
	sp.Process.Terminal = false
	sp.Root.Path = "rootfs"
	s.base, err = json.Marshal(&sp)
	return err
}

// NewSpec returns a fresh copy of the base config.
func (s *Suite) NewSpec() *specs.Spec {
	var sp specs.Spec
	if err := json.Unmarshal(s.base, &sp); err != nil {
		// The base was marshalled from a specs.Spec by loadBase.
		panic("harness: base spec does not round-trip: " + err.Error())
	}
	return &sp
}

// BuildNook puts a nook binary at dst: a copy of $NOOK_BINARY when it is set
// (`make test` sets it, so the suites test the binary `make build` ships,
// linked as it is), else a `go build` of the repository at repo with the
// same build tags. A copy, not the file itself: some tests try to overwrite
// the runtime binary (CVE-2019-5736).
func BuildNook(repo, dst string) error {
	if src := os.Getenv("NOOK_BINARY"); src != "" {
		if err := copyFile(src, dst, 0o755); err != nil {
			return fmt.Errorf("NOOK_BINARY: copy %s: %w", src, err)
		}
		return nil
	}
	cmd := exec.Command("go", "build", "-tags", "urfave_cli_no_docs,netgo,osusergo", "-o", dst, ".")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

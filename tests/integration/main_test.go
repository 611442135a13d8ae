// Package integration runs real containers with a freshly built nook on a
// busybox rootfs. It needs root and /bin/busybox (busybox-static); without
// them every test is skipped with a message naming what is missing.
//
//	go test ./tests/integration/ -count=1
package integration

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nookrt/nook/tests/security/harness"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const busyboxHost = "/bin/busybox"

var (
	// skipReason is set when the machine cannot run these tests.
	skipReason string
	// workDir holds the nook binary and the master rootfs.
	workDir string
	// nookBin is the nook built from this checkout.
	nookBin string
	// masterRootfs is the busybox rootfs every bundle's rootfs is cloned from.
	masterRootfs string
	// baseSpec is `nook spec` with terminal false; bundles start from a copy.
	baseSpec specs.Spec
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Most of the time is spent waiting on processes, not on the CPU: run
	// more parallel tests than there are cores unless told otherwise.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			parallelSet = true
		}
	})
	if !parallelSet {
		flag.Set("test.parallel", "6")
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch {
	case os.Geteuid() != 0:
		skipReason = "integration tests need root (run as uid 0)"
	default:
		if _, err := os.Stat(busyboxHost); err != nil {
			skipReason = busyboxHost + " is missing (install busybox-static)"
		}
	}
	if skipReason != "" {
		return m.Run()
	}
	// Engines are subreapers: a container's init must be re-parented to
	// the caller when `create` exits. Behave the same way.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "set child subreaper:", err)
		return 1
	}
	// And reap what we inherit as they do, at once: a container's init
	// that is PID 1 of its namespace finishes dying only once every
	// process of that namespace is reaped, and a detached `exec` process
	// is re-parented to us, not to the init. Without this, delete --force
	// of such a container waits for a test's cleanup.
	stopReaper := make(chan struct{})
	defer close(stopReaper)
	go func() {
		for {
			select {
			case <-stopReaper:
				return
			case <-time.After(20 * time.Millisecond):
				reapOrphans()
			}
		}
	}()
	var err error
	workDir, err = os.MkdirTemp("", "nook-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", err)
		return 1
	}
	code := m.Run()
	if left := globalLeftovers(); len(left) > 0 {
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

func setup() error {
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	nookBin = filepath.Join(workDir, "nook")
	if err := harness.BuildNook(repo, nookBin); err != nil {
		return err
	}
	masterRootfs = filepath.Join(workDir, "rootfs")
	if err := makeBusyboxRootfs(masterRootfs); err != nil {
		return fmt.Errorf("busybox rootfs: %w", err)
	}
	return loadBaseSpec()
}

// repoRoot is the module root, two levels above this package.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("no go.mod in %s (expected the repository root): %w", root, err)
	}
	return root, nil
}

const passwd = `root:x:0:0:root:/root:/bin/sh
nobody:x:1000:1000:nobody:/tmp:/bin/sh
`

const group = `root:x:0:
wheel:x:10:nobody
users:x:20:
nobody:x:1000:
`

// makeBusyboxRootfs copies /bin/busybox and links every applet to it.
func makeBusyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "etc", "proc", "dev", "sys", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	data, err := os.ReadFile(busyboxHost)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busyboxHost, "--list").Output()
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

// loadBaseSpec starts from what `nook spec` writes and makes it usable
// without a terminal.
func loadBaseSpec() error {
	dir := filepath.Join(workDir, "spec")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(nookBin, "spec", "--bundle", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nook spec: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &baseSpec); err != nil {
		return fmt.Errorf("parse nook spec output: %w", err)
	}
	baseSpec.Version = "1.3.0"
	baseSpec.Process.Terminal = false
	baseSpec.Root.Path = "rootfs"
	return nil
}

package sysctl

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Tests that write real sysctls re-exec this test binary as a child in new net, ipc, uts and
// mount namespaces, so that nothing they do can reach the host's values or mounts.
const (
	childEnv    = "NOOK_SYSCTL_TEST_CHILD"
	parentNSEnv = "NOOK_SYSCTL_TEST_PARENT_NS"
	tmpDirEnv   = "NOOK_SYSCTL_TEST_TMP"
)

// childNamespaces are the namespaces a child must not share with the test process.
var childNamespaces = []string{"net", "ipc", "uts", "mnt"}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

func runChild(name string) int {
	fn := childFuncs[name]
	if fn == nil {
		fmt.Fprintf(os.Stderr, "unknown child %q\n", name)
		return 2
	}
	// Refuse to touch anything unless every namespace really is a new one.
	if got, want := namespaceIDs(), os.Getenv(parentNSEnv); got == "" || want == "" || sharesAny(got, want) {
		fmt.Fprintf(os.Stderr, "child shares a namespace with the test process (%s vs %s); not running\n", got, want)
		return 3
	}
	if err := fn(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// namespaceIDs returns "net:[…] ipc:[…] …" for this process, or "" on error.
func namespaceIDs() string {
	var ids []string
	for _, ns := range childNamespaces {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			return ""
		}
		ids = append(ids, link)
	}
	return strings.Join(ids, " ")
}

func sharesAny(a, b string) bool {
	for _, id := range strings.Fields(a) {
		if strings.Contains(b, id) {
			return true
		}
	}
	return false
}

// runInNewNamespaces runs the named child and returns its combined output.
func runInNewNamespaces(t *testing.T, child, tmp string) (string, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create net, ipc, uts and mount namespaces")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+child, parentNSEnv+"="+namespaceIDs(), tmpDirEnv+"="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS,
	}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
		t.Skipf("cannot create namespaces here: %v", err)
	}
	return string(out), err
}

var childFuncs = map[string]func() error{
	"write":            childWrite,
	"bind-mount-decoy": childBindMountDecoy,
	"proc-decoy":       childProcDecoy,
}

// makeMountsPrivate keeps the child's mounts from propagating to the host.
func makeMountsPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	return nil
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
